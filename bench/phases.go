package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// ingestPhases finds the sustained ingest rate (closed loop), checks that
// nothing accepted was lost, then loads omnichat at 50 % and 90 % of that
// rate (open loop) for acknowledgement latency, with an agent replying and
// listening for the end-to-end figures at 50 %.
func (b *bench) ingestPhases(ctx context.Context, r *result) error {
	chans, err := b.channels(ctx, 4, "Bench WhatsApp", map[string]any{"auto_close_after_seconds": 0})
	if err != nil {
		return err
	}
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ID
	}
	b.ingest = newLoad(chans, b.o.customers, "b"+strconv.FormatInt(time.Now().Unix()%100000, 10))
	l := b.ingest

	logf("ingest: %d customers write once across %d WhatsApp channels (new sessions)…", b.o.customers, len(chans))
	start := time.Now()
	l.warm(ctx, b.o.conc)
	if err := b.waitAdopted(ctx, ids, l.accepted.Load(), 2*time.Minute); err != nil {
		return err
	}
	newRate := float64(b.o.customers) / time.Since(start).Seconds()
	r.set("ingest_new_session_rate", round1(newRate))
	logf("  %.0f new sessions/s", newRate)

	// The sustained rate counts messages taken in and adopted by their
	// sessions: the clock stops when the workflows have caught up, so a
	// backlog the webhooks accept faster than the sessions take it does not
	// count.
	logf("ingest: finding the sustained rate, %d concurrent senders, %s…", b.o.conc, b.o.phase)
	b.rssMax.Store(0)
	before := l.accepted.Load()
	start = time.Now()
	acceptRate := l.closedLoop(ctx, b.o.conc, b.o.phase)
	r.set("rss_mb_ingest", round1(float64(b.rssMax.Load())/1024))
	if err := b.waitAdopted(ctx, ids, l.accepted.Load(), 2*time.Minute); err != nil {
		return err
	}
	rate := float64(l.accepted.Load()-before) / time.Since(start).Seconds()
	r.set("ingest_rate", round1(rate))
	r.set("ingest_accept_rate", round1(acceptRate))
	if c := r.num("ceiling_signal_rate"); c > 0 {
		r.set("ingest_ratio", round2(rate/c))
	}
	if c := r.num("ceiling_signal_with_start_rate"); c > 0 {
		r.set("ingest_new_session_ratio", round2(newRate/c))
	}
	logf("  %.0f messages/s stored once and adopted by their sessions (webhooks answered %.0f/s)", rate, acceptRate)

	sessions, err := b.openSessions(ctx, ids)
	if err != nil {
		return err
	}
	logf("ingest at 50%% (%.0f/s) with an agent replying and listening, %s…", rate/2, b.o.phase)
	l.ack = &samples{}
	b.measureE2E.Store(true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); b.reply(ctx, sessions, 10, stop) }()
	l.openLoop(ctx, rate/2, b.o.phase, "half-rate message")
	close(stop)
	wg.Wait()
	time.Sleep(time.Second) // the last events and sends in flight
	b.measureE2E.Store(false)
	r.set("ack_p50_ms", l.ack.quantile(0.5))
	r.set("ack_p99_ms", l.ack.quantile(0.99))
	r.set("ack_max_ms", l.ack.max())
	r.set("e2e_agent_p50_ms", b.agentLat.quantile(0.5))
	r.set("e2e_agent_p99_ms", b.agentLat.quantile(0.99))
	r.set("e2e_platform_p50_ms", b.platformLat.quantile(0.5))
	r.set("e2e_platform_p99_ms", b.platformLat.quantile(0.99))
	r.set("reply_api_p50_ms", b.replyAPI.quantile(0.5))
	r.set("reply_api_p99_ms", b.replyAPI.quantile(0.99))
	r.set("e2e_agent_samples", float64(b.agentLat.n()))
	r.set("e2e_platform_samples", float64(b.platformLat.n()))
	logf("  ack p50 %.1f ms p99 %.1f ms; to agent p99 %.1f ms (%d); reply to platform p50 %.1f ms p99 %.1f ms (%d; the reply request p99 %.1f ms)",
		r.num("ack_p50_ms"), r.num("ack_p99_ms"), r.num("e2e_agent_p99_ms"), b.agentLat.n(),
		r.num("e2e_platform_p50_ms"), r.num("e2e_platform_p99_ms"), b.platformLat.n(), r.num("reply_api_p99_ms"))

	logf("ingest at 90%% (%.0f/s), %s…", rate*0.9, b.o.phase)
	l.ack = &samples{}
	l.openLoop(ctx, rate*0.9, b.o.phase, "ninety-percent message")
	r.set("ack_p50_ms_at_90", l.ack.quantile(0.5))
	r.set("ack_p99_ms_at_90", l.ack.quantile(0.99))
	r.set("ack_max_ms_at_90", l.ack.max())
	logf("  ack p50 %.1f ms p99 %.1f ms", r.num("ack_p50_ms_at_90"), r.num("ack_p99_ms_at_90"))
	if err := b.waitAdopted(ctx, ids, l.accepted.Load(), 2*time.Minute); err != nil {
		return err
	}
	r.set("ingest_accepted", float64(l.accepted.Load()))
	r.set("ingest_failed", float64(l.failed.Load()))
	return nil
}

// waitAdopted waits until the channels hold exactly want customer messages,
// each adopted by a session: nothing accepted is lost or stored twice.
func (b *bench) waitAdopted(ctx context.Context, channelIDs []string, want int64, within time.Duration) error {
	deadline := time.Now().Add(within)
	var stored, adopted int64
	for time.Now().Before(deadline) {
		err := b.pool.QueryRow(ctx, `SELECT count(*), count(session_id) FROM messages WHERE direction = 'in' AND channel_id = ANY($1::uuid[])`, channelIDs).Scan(&stored, &adopted)
		if err != nil {
			return err
		}
		if stored > want {
			return fmt.Errorf("%d messages stored for %d accepted: duplicates", stored, want)
		}
		if stored == want && adopted == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("after %s: %d accepted, %d stored, %d adopted by a session", within, want, stored, adopted)
}

// openSessions lists the sessions of the channels through the API.
func (b *bench) openSessions(ctx context.Context, channelIDs []string) ([]string, error) {
	var ids []string
	for _, ch := range channelIDs {
		cursor := ""
		for {
			var page struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			if _, err := b.admin.do(ctx, "GET", "/api/v1/sessions?limit=200&channel_id="+ch+"&cursor="+cursor, nil, &page); err != nil {
				return nil, err
			}
			for _, s := range page.Items {
				ids = append(ids, s.ID)
			}
			if page.NextCursor == "" {
				break
			}
			cursor = page.NextCursor
		}
	}
	return ids, nil
}

// reply has the agent answer random sessions at perSecond until stop.
func (b *bench) reply(ctx context.Context, sessions []string, perSecond int, stop <-chan struct{}) {
	t := time.NewTicker(time.Second / time.Duration(perSecond))
	defer t.Stop()
	r := rand.New(rand.NewPCG(9, 9))
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sid := sessions[r.IntN(len(sessions))]
		text := "bench reply " + strconv.Itoa(n)
		b.replies.Store(text, time.Now())
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if code, err := b.admin.do(ctx, "POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": text, "client_id": text}, nil); err == nil && code < 300 {
				b.replyAPI.add(time.Since(start))
			}
		}()
	}
}

// timerPhase opens many sessions whose "soon" warnings come due within the
// same window (-timer-window, a minute by default), and measures how late
// each warning reaches the agent; with them open and idle, it measures
// memory.
//
// Opening them takes longer than the window when there are many (the server
// starts about a hundred sessions a second here), so they are spread over
// channels whose thresholds shorten by timerSlot from one to the next: a
// session opened in the k-th slot of timerSlot waits base - k*timerSlot, and
// all come due between base and base+timerSlot after the phase began.
func (b *bench) timerPhase(ctx context.Context, r *result) error {
	timerSlot := b.o.timerWindow
	n := b.o.timers
	rate := r.num("ingest_new_session_rate")
	if !(rate > 0) {
		rate = 50
	}
	slots := max(1, int(math.Ceil(float64(n)/rate*1.2/timerSlot.Seconds())))
	base := time.Duration(slots)*timerSlot + 10*time.Second
	prefix := "t" + strconv.FormatInt(time.Now().Unix()%100000, 10)
	loads := make([]*load, slots)
	thresholds := make([]time.Duration, slots)
	for k := range slots {
		thresholds[k] = base - time.Duration(k)*timerSlot
		chans, err := b.channels(ctx, 1, fmt.Sprintf("Bench timers %02d", k+1), map[string]any{
			"warn_after_seconds": int(thresholds[k] / time.Second), "overdue_after_seconds": 3600, "auto_close_after_seconds": 0,
		})
		if err != nil {
			return err
		}
		loads[k] = newLoad(chans, n, prefix+"s"+strconv.Itoa(k))
	}
	logf("timers: %d sessions over %d channels (thresholds %s down to %s), due %s–%s after now…",
		n, slots, thresholds[0], thresholds[slots-1], base, base+timerSlot)
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	var rssHalf float64
	for range b.o.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				k := min(int(time.Since(start)/timerSlot), slots-1)
				user, _ := loads[k].customer(i)
				// Due from the moment the message is sent (a little before
				// omnichat has it): the lateness measured includes ingest.
				b.dueAt.Store(user, time.Now().Add(thresholds[k]))
				_ = loads[k].deliver(ctx, i, "waiting for an answer")
			}
		}()
	}
	for i := range n {
		if i == n/2 {
			rssHalf = b.prod.RSS()
		}
		work <- i
	}
	close(work)
	wg.Wait()
	created := time.Since(start)
	logf("  created in %s (%.0f/s); waiting for the warnings…", created.Round(time.Second), float64(n)/created.Seconds())
	if created > time.Duration(slots)*timerSlot {
		logf("  note: creating took longer than planned; the last sessions come due up to %s late in the window", (created - time.Duration(slots)*timerSlot).Round(time.Second))
	}
	// Wait for every warning, as long as they keep coming: until all have
	// arrived, none has for 90 s, or 15 minutes past the window. A warning
	// that never came counts as late by the time waited (a lower bound), and
	// the count of them is kept.
	hardStop := start.Add(base + 15*time.Minute)
	for b.warned.Load() < int64(n) && time.Now().Before(hardStop) &&
		time.Since(time.Unix(0, max(b.lastWarnAt.Load(), start.Add(base).UnixNano()))) < 90*time.Second {
		time.Sleep(200 * time.Millisecond)
	}
	missing := 0
	now := time.Now()
	b.dueAt.Range(func(k, _ any) bool {
		if v, ok := b.dueAt.LoadAndDelete(k); ok { // not meanwhile arrived
			missing++
			b.lateness.add(now.Sub(v.(time.Time)))
		}
		return true
	})
	if missing > 0 {
		logf("  %d of %d warnings did not arrive; counted as late by the time waited", missing, n)
	}
	r.set("timer_sessions", float64(n))
	r.set("timer_creation_seconds", round1(created.Seconds()))
	r.set("timer_due_window_seconds", timerSlot.Seconds())
	r.set("warnings_missing", float64(missing))
	if first, last := start.Add(base), time.Unix(0, b.lastWarnAt.Load()); missing == 0 && last.After(first) {
		// How fast warnings were delivered once due: all of them, from the
		// start of the window to the last arrival.
		r.set("warnings_per_second", round1(float64(n)/last.Sub(first).Seconds()))
	}
	r.set("warning_lateness_p50_ms", b.lateness.quantile(0.5))
	r.set("warning_lateness_p99_ms", b.lateness.quantile(0.99))
	r.set("warning_lateness_max_ms", b.lateness.max())
	logf("  lateness p50 %.0f ms p99 %.0f ms max %.0f ms", r.num("warning_lateness_p50_ms"), r.num("warning_lateness_p99_ms"), r.num("warning_lateness_max_ms"))

	// Idle: every timed session open, nothing happening.
	time.Sleep(10 * time.Second)
	idle := b.prod.RSS()
	open := 0
	_ = b.pool.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE status <> 'closed'`).Scan(&open)
	r.set("rss_mb_idle_half", round1(rssHalf))
	r.set("rss_mb_idle_10k", round1(idle))
	r.set("open_sessions_idle", float64(open))
	logf("  resident memory %.0f MB with %d open sessions idle (%.0f MB at half of the timed sessions)", idle, open, rssHalf)
	return nil
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
