// Command bench measures omnichat the way its users load it: it starts the
// product on its embedded default, drives it with signed webhook deliveries
// from many simulated customers across several channels, agents replying
// through the API and listening on event streams, and prints (and writes to
// bench/results/<name>.json) throughput, latencies, timer lateness, query
// times on a seeded inbox and memory.
//
//	go run ./bench            # short: under 5 minutes, 100,000 seeded sessions
//	go run ./bench -full      # 1,000,000 sessions, 10,000 timed sessions
//	go run ./bench faults     # the fault harness (see faults.go)
//	go run ./bench report     # the results as tables in docs/performance.md and README.md
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "faults" {
		os.Exit(runFaults(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "report" {
		os.Exit(runReport(os.Args[2:]))
	}
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "run" {
		args = args[1:]
	}
	var o options
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.BoolVar(&o.full, "full", false, "the full run: 1,000,000 sessions and 10,000 timed sessions")
	fs.StringVar(&o.name, "name", "", "result name: bench/results/<name>.json (default short-<store> or full-<store>)")
	fs.StringVar(&o.store, "temporal-store", "sqlite", "the embedded Temporal's store: sqlite or postgres")
	fs.StringVar(&o.dbServer, "db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server (a fresh database is created on it)")
	fs.IntVar(&o.sessions, "sessions", 0, "sessions to seed for the query figures (default 100,000; 1,000,000 with -full)")
	fs.IntVar(&o.timers, "timers", 0, "open sessions whose warnings come due together (default 2,000; 10,000 with -full)")
	fs.IntVar(&o.customers, "customers", 1000, "simulated customers of the ingest load")
	fs.IntVar(&o.conc, "concurrency", 64, "concurrent senders when finding the ingest and ceiling rates")
	fs.DurationVar(&o.phase, "phase", 0, "length of each load phase (default 10 s; 15 s with -full)")
	fs.DurationVar(&o.timerWindow, "timer-window", time.Minute, "the timed sessions' warnings all come due within this window")
	fs.StringVar(&o.only, "only", "", "run only these phases, comma-separated: ceiling, ingest, timers, queries (default all; the result is named <name>-<phases>)")
	fs.IntVar(&o.cache, "workflow-cache", 1500, "the worker's workflow cache (OMNICHAT_WORKFLOW_CACHE_SIZE): room for the ingest load's 1,000 sessions, fewer than the sessions open when memory is measured idle")
	fs.StringVar(&o.results, "results", "", "folder for the JSON (default bench/results next to this program's source)")
	fs.BoolVar(&o.keep, "keep", false, "keep the product's data folder and log after the run")
	_ = fs.Parse(args)
	if o.phase == 0 {
		o.phase = map[bool]time.Duration{false: 10 * time.Second, true: 15 * time.Second}[o.full]
	}
	if o.sessions == 0 {
		o.sessions = map[bool]int{false: 100_000, true: 1_000_000}[o.full]
	}
	if o.timers == 0 {
		o.timers = map[bool]int{false: 2_000, true: 10_000}[o.full]
	}
	if o.name == "" {
		o.name = map[bool]string{false: "short", true: "full"}[o.full] + "-" + o.store
		if o.only != "" {
			o.name += "-" + strings.ReplaceAll(o.only, ",", "-")
		}
	}
	for _, p := range strings.Split(o.only, ",") {
		if p != "" && !slices.Contains(phaseNames, p) {
			fail(fmt.Errorf("-only: unknown phase %q (want %s)", p, strings.Join(phaseNames, ", ")))
		}
	}
	root, err := repoRoot()
	if err != nil {
		fail(err)
	}
	if o.results == "" {
		o.results = filepath.Join(root, "bench", "results")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := run(ctx, root, o)
	if err != nil {
		fail(err)
	}
	path, err := r.write(o.results, o.name)
	if err != nil {
		fail(err)
	}
	r.print(os.Stdout)
	fmt.Printf("\nwrote %s\n", path)
}

// phaseNames are the phases -only may name, in the order they run.
var phaseNames = []string{"ceiling", "ingest", "timers", "queries"}

// runs reports whether the phase is to run.
func (o options) runs(phase string) bool {
	return o.only == "" || slices.Contains(strings.Split(o.only, ","), phase)
}

type options struct {
	full, keep                        bool
	name, store, dbServer, results    string
	sessions, timers, customers, conc int
	phase, timerWindow                time.Duration
	only                              string
	cache                             int
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// repoRoot is the module root (where go.mod is), from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/omnichat/omnichat") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("run bench inside the omnichat checkout")
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
