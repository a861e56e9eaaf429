package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportMarksEachFigureAgainstItsTarget(t *testing.T) {
	rs := []namedResult{
		{"short-sqlite", map[string]any{
			"commit": "abc1234", "temporal_store": "sqlite", "machine": map[string]any{"cores": 2.0, "memory_gb": 23.5},
			"ingest_ratio": 0.65, "ack_p50_ms": 12.5, "ack_p99_ms": 40.0, "ack_max_ms": 61.0,
			"warning_lateness_p50_ms": 300.0, "warning_lateness_p99_ms": 1200.0, "warning_lateness_max_ms": 1500.0,
			"timer_sessions": 2000.0, "timer_due_window_seconds": 60.0, "sessions_loaded": 100000.0, "messages_loaded": 1003763.0,
			"list_p50_ms": map[string]any{"q": 5.0, "tag": 2.0}, "list_p99_ms": map[string]any{"q": 30.0, "tag": 9.0},
		}},
		{"full-sqlite-timers", map[string]any{"commit": "def5678", "temporal_store": "sqlite", "machine": map[string]any{"cores": 2.0, "memory_gb": 23.5}}},
	}
	md := renderReport(rs)
	for _, want := range []string{
		"| Ingest / ceiling (signals) — target ≥ 0.80 | 0.65 **missed** | — |",
		"| Webhook ack p50 / p99 / max at 50 % — target p99 ≤ 50 ms | 12.5 / 40 / 61 ms ok | — |",
		"1200 / 1500 ms (2000 sessions due within 60 s) **missed**",
		"| Sessions / messages seeded for the queries | 100,000 / 1,003,763 | — |",
		"| `q` | 5 / 30 ms **missed** | — |",
		"| `tag` | 2 / 9 ms ok | — |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}

	// Written between the markers, leaving the rest of the document alone.
	path := filepath.Join(t.TempDir(), "doc.md")
	doc := "# Title\n\nbefore\n\n" + reportStart + "\nold figures\n" + reportEnd + "\n\nafter\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceBetweenMarkers(path, reportStart, reportEnd, md); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	got := string(b)
	if strings.Contains(got, "old figures") || !strings.HasPrefix(got, "# Title\n\nbefore\n\n"+reportStart) || !strings.HasSuffix(got, reportEnd+"\n\nafter\n") {
		t.Errorf("document not rewritten in place:\n%s", got)
	}
	if err := replaceBetweenMarkers(filepath.Join(t.TempDir(), "none.md"), reportStart, reportEnd, md); err == nil {
		t.Error("a missing document is an error")
	}
}
