package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The report: `go run ./bench report` renders the figures of every
// bench/results/*.json as Markdown tables and writes them between the
// markers below in docs/performance.md and README.md, so that the figures
// the documents show are the ones the runs wrote, never typed by hand.

const (
	reportStart = "<!-- bench report: start (go run ./bench report) -->"
	reportEnd   = "<!-- bench report: end -->"
	// The last `make faults` (bench/results/faults.txt), in docs/performance.md.
	faultsStart = "<!-- faults report: start (go run ./bench report) -->"
	faultsEnd   = "<!-- faults report: end -->"
)

// reportOrder puts the usual runs first; any other result follows by name.
var reportOrder = []string{"short-sqlite", "full-sqlite", "short-postgres", "full-postgres"}

func runReport(args []string) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	results, err := loadResults(filepath.Join(root, "bench", "results"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench report:", err)
		return 1
	}
	if len(results) == 0 {
		fmt.Fprintln(os.Stderr, "bench report: no results in bench/results")
		return 1
	}
	md := renderReport(results)
	if len(args) > 0 && args[0] == "-print" {
		fmt.Print(md)
		return 0
	}
	for _, doc := range []string{"docs/performance.md", "README.md"} {
		if err := replaceBetweenMarkers(filepath.Join(root, doc), reportStart, reportEnd, md); err != nil {
			fmt.Fprintln(os.Stderr, "bench report:", err)
			return 1
		}
		fmt.Println("updated", doc)
	}
	if b, err := os.ReadFile(filepath.Join(root, "bench", "results", "faults.txt")); err == nil {
		md := faultsStart + "\n\n```\n" + strings.TrimSpace(string(b)) + "\n```\n\n" + faultsEnd + "\n"
		if err := replaceBetweenMarkers(filepath.Join(root, "docs/performance.md"), faultsStart, faultsEnd, md); err != nil {
			fmt.Fprintln(os.Stderr, "bench report:", err)
			return 1
		}
	}
	return 0
}

// namedResult is one results file as written by a run.
type namedResult struct {
	name string
	v    map[string]any
}

func loadResults(dir string) ([]namedResult, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []namedResult
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, namedResult{strings.TrimSuffix(filepath.Base(p), ".json"), v})
	}
	rank := func(n string) int {
		if i := slices.Index(reportOrder, n); i >= 0 {
			return i
		}
		return len(reportOrder)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i].name), rank(out[j].name)
		if ri != rj {
			return ri < rj
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

func (n namedResult) num(key string) float64 {
	if f, ok := n.v[key].(float64); ok {
		return f
	}
	return math.NaN()
}

func (n namedResult) mapNum(key, sub string) float64 {
	if m, ok := n.v[key].(map[string]any); ok {
		if f, ok := m[sub].(float64); ok {
			return f
		}
	}
	return math.NaN()
}

// reportRow is one figure of the report: how to show it for a result, and
// whether it met its target (nil when it has none).
type reportRow struct {
	label string
	show  func(namedResult) string
	met   func(namedResult) (ok, measured bool)
}

func below(key string, limit float64) func(namedResult) (bool, bool) {
	return func(n namedResult) (bool, bool) {
		v := n.num(key)
		return v <= limit, !math.IsNaN(v)
	}
}

func joinMS(n namedResult, keys ...string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmtNum(n.num(k)))
	}
	if strings.Trim(strings.Join(parts, ""), "—") == "" {
		return "—"
	}
	return strings.Join(parts, " / ") + " ms"
}

var reportRows = []reportRow{
	{"Ceiling: SignalWithStart to new workflows, processed", func(n namedResult) string { return rateOrDash(n.num("ceiling_signal_with_start_rate")) }, nil},
	{"Ceiling: signals to running workflows, processed", func(n namedResult) string { return rateOrDash(n.num("ceiling_signal_rate")) }, nil},
	{"Ingest: new sessions", func(n namedResult) string { return rateOrDash(n.num("ingest_new_session_rate")) }, nil},
	{"Ingest: messages, sustained, zero loss", func(n namedResult) string { return rateOrDash(n.num("ingest_rate")) }, nil},
	{"Ingest / ceiling (signals) — target ≥ 0.80", func(n namedResult) string { return fmtNum(n.num("ingest_ratio")) },
		func(n namedResult) (bool, bool) { v := n.num("ingest_ratio"); return v >= 0.8, !math.IsNaN(v) }},
	{"Webhook ack p50 / p99 / max at 50 % — target p99 ≤ 50 ms", func(n namedResult) string { return joinMS(n, "ack_p50_ms", "ack_p99_ms", "ack_max_ms") }, below("ack_p99_ms", 50)},
	{"Webhook ack p50 / p99 / max at 90 %", func(n namedResult) string {
		return joinMS(n, "ack_p50_ms_at_90", "ack_p99_ms_at_90", "ack_max_ms_at_90")
	}, nil},
	{"Customer → agent event p50 / p99 — target p99 ≤ 250 ms", func(n namedResult) string { return joinMS(n, "e2e_agent_p50_ms", "e2e_agent_p99_ms") }, below("e2e_agent_p99_ms", 250)},
	{"Agent reply → platform p50 / p99 — target p99 ≤ 250 ms", func(n namedResult) string { return joinMS(n, "e2e_platform_p50_ms", "e2e_platform_p99_ms") }, below("e2e_platform_p99_ms", 250)},
	{"Warning lateness p50 / p99 / max — target p99 ≤ 1 s", func(n namedResult) string {
		s := joinMS(n, "warning_lateness_p50_ms", "warning_lateness_p99_ms", "warning_lateness_max_ms")
		if s == "—" {
			return s
		}
		s = fmt.Sprintf("%s (%s sessions due within %s s", s, fmtInt(n.num("timer_sessions")), fmtNum(n.num("timer_due_window_seconds")))
		if m := n.num("warnings_missing"); m > 0 {
			s += fmt.Sprintf("; %s never arrived, counted as late by the time waited", fmtInt(m))
		}
		return s + ")"
	}, below("warning_lateness_p99_ms", 1000)},
	{"Warnings delivered per second once due", func(n namedResult) string { return rateOrDash(n.num("warnings_per_second")) }, nil},
	{"Resident memory under ingest", func(n namedResult) string { return mbOrDash(n.num("rss_mb_ingest")) }, nil},
	{"Resident memory idle, cache full: half / all timed sessions open", func(n namedResult) string {
		if math.IsNaN(n.num("rss_mb_idle_10k")) {
			return "—"
		}
		return fmt.Sprintf("%s / %s MB (%s open, cache %s)", fmtNum(n.num("rss_mb_idle_half")), fmtNum(n.num("rss_mb_idle_10k")), fmtInt(n.num("open_sessions_idle")), fmtInt(n.num("workflow_cache")))
	}, nil},
	{"Sessions / messages seeded for the queries", func(n namedResult) string {
		if math.IsNaN(n.num("sessions_loaded")) {
			return "—"
		}
		return fmtThousands(n.num("sessions_loaded")) + " / " + fmtThousands(n.num("messages_loaded"))
	}, nil},
	{"Message page p50 / p99 — target ≤ 25 ms", func(n namedResult) string { return joinMS(n, "messages_page_p50_ms", "messages_page_p99_ms") }, below("messages_page_p99_ms", 25)},
}

func rateOrDash(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmtNum(v) + " /s"
}

func mbOrDash(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmtNum(v) + " MB"
}

// fmtThousands writes an integer with thousands separators.
func fmtThousands(v float64) string {
	s := fmtInt(v)
	if len(s) <= 3 || s == "—" {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func mark(ok, measured bool) string {
	switch {
	case !measured:
		return ""
	case ok:
		return " ok"
	default:
		return " **missed**"
	}
}

func renderReport(rs []namedResult) string {
	var b bytes.Buffer
	b.WriteString(reportStart + "\n\n")
	b.WriteString("| run | commit | Temporal store | machine | finished |\n|---|---|---|---|---|\n")
	for _, r := range rs {
		m, _ := r.v["machine"].(map[string]any)
		fmt.Fprintf(&b, "| `%s` | %v | %v | %v cores, %v GB | %v |\n", r.name, r.v["commit"], r.v["temporal_store"], m["cores"], m["memory_gb"], r.v["finished_at"])
	}
	b.WriteString("\n| figure |")
	for _, r := range rs {
		fmt.Fprintf(&b, " `%s` |", r.name)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(rs)) + "\n")
	for _, row := range reportRows {
		b.WriteString("| " + row.label + " |")
		for _, r := range rs {
			cell := row.show(r)
			if row.met != nil && cell != "—" {
				cell += mark(row.met(r))
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}

	var filters []string
	for _, r := range rs {
		if m, ok := r.v["list_p99_ms"].(map[string]any); ok {
			for k := range m {
				if !slices.Contains(filters, k) {
					filters = append(filters, k)
				}
			}
		}
	}
	if len(filters) > 0 {
		sort.Strings(filters)
		b.WriteString("\n| list filter, p50 / p99 (target p99 ≤ 25 ms) |")
		for _, r := range rs {
			fmt.Fprintf(&b, " `%s` |", r.name)
		}
		b.WriteString("\n|---|" + strings.Repeat("---|", len(rs)) + "\n")
		for _, f := range filters {
			b.WriteString("| `" + f + "` |")
			for _, r := range rs {
				p50, p99 := r.mapNum("list_p50_ms", f), r.mapNum("list_p99_ms", f)
				if math.IsNaN(p99) {
					b.WriteString(" — |")
					continue
				}
				fmt.Fprintf(&b, " %s / %s ms%s |", fmtNum(p50), fmtNum(p99), mark(p99 <= 25, true))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n" + reportEnd + "\n")
	return b.String()
}

// replaceBetweenMarkers puts md (which carries the markers) in place of the
// section of the file from start to end.
func replaceBetweenMarkers(path, start, end, md string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, start), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q … %q section", path, start, end)
	}
	out := s[:i] + strings.TrimSuffix(md, "\n") + s[j+len(end):]
	return os.WriteFile(path, []byte(out), 0o644)
}
