package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is what a run measured, as it is written to JSON.
type result struct {
	values map[string]any
}

func newResult(o options, root string) *result {
	r := &result{values: map[string]any{}}
	r.values["name"] = o.name
	r.values["temporal_store"] = o.store
	r.values["commit"] = gitCommit(root)
	r.values["started_at"] = time.Now().UTC().Format(time.RFC3339)
	r.values["machine"] = map[string]any{"cores": runtime.NumCPU(), "memory_gb": memoryGB(), "os": runtime.GOOS + "/" + runtime.GOARCH}
	r.values["workflow_cache"] = o.cache
	return r
}

func (r *result) set(key string, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		r.values[key] = nil
		return
	}
	r.values[key] = v
}

func (r *result) setMap(key string, m map[string]float64) { r.values[key] = m }

func (r *result) num(key string) float64 {
	if v, ok := r.values[key].(float64); ok {
		return v
	}
	return math.NaN()
}

func (r *result) write(dir, name string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	r.values["finished_at"] = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(r.values, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// target is a figure with what it must reach.
type target struct {
	label, key string
	unit       string
	ok         func(v float64, r *result) bool
	goal       string
}

var targets = []target{
	{"ingest / ceiling (signals)", "ingest_ratio", "", func(v float64, _ *result) bool { return v >= 0.8 }, ">= 0.80"},
	{"webhook ack p99 at 50 %", "ack_p99_ms", "ms", func(v float64, _ *result) bool { return v <= 50 }, "<= 50 ms"},
	{"customer -> agent p99", "e2e_agent_p99_ms", "ms", func(v float64, _ *result) bool { return v <= 250 }, "<= 250 ms"},
	{"reply -> platform p99", "e2e_platform_p99_ms", "ms", func(v float64, _ *result) bool { return v <= 250 }, "<= 250 ms"},
	{"warning lateness p99", "warning_lateness_p99_ms", "ms", func(v float64, _ *result) bool { return v <= 1000 }, "<= 1000 ms"},
	{"messages page p99", "messages_page_p99_ms", "ms", func(v float64, _ *result) bool { return v <= 25 }, "<= 25 ms"},
}

func (r *result) print(w io.Writer) {
	m, _ := r.values["machine"].(map[string]any)
	fmt.Fprintf(w, "\nomnichat bench %v — commit %v, temporal store %v, %v cores, %v GB\n\n", r.values["name"], r.values["commit"], r.values["temporal_store"], m["cores"], m["memory_gb"])
	rows := [][2]string{
		{"ceiling: SignalWithStart (new workflows)", fmtRate(r.num("ceiling_signal_with_start_rate"))},
		{"ceiling: signals (running workflows)", fmtRate(r.num("ceiling_signal_rate"))},
		{"ingest: new sessions", fmtRate(r.num("ingest_new_session_rate"))},
		{"ingest: messages, sustained", fmtRate(r.num("ingest_rate"))},
		{"ack p50 / p99 / max at 50 %", fmt.Sprintf("%s / %s / %s", fmtMS(r.num("ack_p50_ms")), fmtMS(r.num("ack_p99_ms")), fmtMS(r.num("ack_max_ms")))},
		{"ack p50 / p99 / max at 90 %", fmt.Sprintf("%s / %s / %s", fmtMS(r.num("ack_p50_ms_at_90")), fmtMS(r.num("ack_p99_ms_at_90")), fmtMS(r.num("ack_max_ms_at_90")))},
		{"customer -> agent event p50 / p99", fmt.Sprintf("%s / %s", fmtMS(r.num("e2e_agent_p50_ms")), fmtMS(r.num("e2e_agent_p99_ms")))},
		{"agent reply -> platform p50 / p99", fmt.Sprintf("%s / %s", fmtMS(r.num("e2e_platform_p50_ms")), fmtMS(r.num("e2e_platform_p99_ms")))},
		{"warning lateness p50 / p99 / max", fmt.Sprintf("%s / %s / %s (%s sessions)", fmtMS(r.num("warning_lateness_p50_ms")), fmtMS(r.num("warning_lateness_p99_ms")), fmtMS(r.num("warning_lateness_max_ms")), fmtInt(r.num("timer_sessions")))},
		{"resident memory under ingest", fmtMB(r.num("rss_mb_ingest"))},
		{"resident memory, timed sessions idle (half / all)", fmt.Sprintf("%s / %s", fmtMB(r.num("rss_mb_idle_half")), fmtMB(r.num("rss_mb_idle_10k")))},
		{"seeded sessions / messages", fmt.Sprintf("%s / %s in %ss", fmtInt(r.num("sessions_loaded")), fmtInt(r.num("messages_loaded")), fmtNum(r.num("seed_seconds")))},
		{"messages page p50 / p99", fmt.Sprintf("%s / %s", fmtMS(r.num("messages_page_p50_ms")), fmtMS(r.num("messages_page_p99_ms")))},
	}
	for _, row := range rows {
		fmt.Fprintf(w, "  %-52s %s\n", row[0], row[1])
	}
	if p99, ok := r.values["list_p99_ms"].(map[string]float64); ok {
		p50, _ := r.values["list_p50_ms"].(map[string]float64)
		keys := make([]string, 0, len(p99))
		for k := range p99 {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "\n  session list, p50 / p99 (target p99 <= 25 ms)\n")
		for _, k := range keys {
			mark := "ok"
			if p99[k] > 25 {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "    %-26s %s / %s  %s\n", k, fmtMS(p50[k]), fmtMS(p99[k]), mark)
		}
	}
	fmt.Fprintf(w, "\n  targets\n")
	for _, t := range targets {
		v := r.num(t.key)
		mark := "ok"
		if math.IsNaN(v) {
			mark = "not measured"
		} else if !t.ok(v, r) {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "    %-32s %-10s %-12s %s\n", t.label, fmtNum(v), t.goal, mark)
	}
}

func fmtRate(v float64) string { return fmtNum(v) + "/s" }
func fmtMS(v float64) string   { return fmtNum(v) + " ms" }
func fmtMB(v float64) string   { return fmtNum(v) + " MB" }
func fmtInt(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatInt(int64(v), 10)
}
func fmtNum(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func gitCommit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	// Dirty means the code differs from the commit; the results and
	// documents the runs themselves rewrite do not count.
	if st, _ := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no", "--",
		".", ":!bench/results", ":!docs", ":!README.md").Output(); len(st) > 0 {
		c += "-dirty"
	}
	return c
}

func memoryGB() float64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			kb, _ := strconv.ParseFloat(f[0], 64)
			return round1(kb / 1024 / 1024)
		}
	}
	return 0
}
