package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/omnichat/omnichat/channel/whatsapp/whatsapptest"
	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/pglocal"
)

const (
	benchAdmin    = "bench-admin@omnichat.local"
	benchPassword = "bench-password-1"
	waSecret      = "bench-app-secret"
	waToken       = "bench-access-token"
)

// bench is one run: the product, the fake platform, the agent's event
// stream and what the phases measured.
type bench struct {
	o        options
	prod     *product
	pool     *pgxpool.Pool
	fake     *whatsapptest.Server
	admin    *api
	temporal client.Client

	// e2e: customer message -> the agent's event; reply -> the platform.
	agentLat    samples
	platformLat samples
	replies     sync.Map // reply text -> time the agent sent it
	measureE2E  atomic.Bool
	ingest      *load

	// Timers: each timed session's due time, and the warnings' lateness.
	dueAt    sync.Map // contact platform id -> due time
	lateness samples
	warned   atomic.Int64
	// lastWarnAt is when the last timed warning arrived (UnixNano).
	lastWarnAt atomic.Int64

	rssMax atomic.Int64 // KB, sampled under load

	// replyAPI is how long the reply request took; streamDrops how often
	// the server ended the agent's event stream.
	replyAPI    samples
	streamDrops atomic.Int64
}

func run(ctx context.Context, root string, o options) (_ *result, err error) {
	b := &bench{o: o}
	// A failed run keeps the product's data folder and log to look at.
	defer func() { b.o.keep = b.o.keep || err != nil; b.close() }()
	if err := b.start(ctx, root); err != nil {
		return nil, err
	}
	r := newResult(o, root)

	if o.runs("ceiling") {
		logf("ceiling: SignalWithStart and signals to a no-op workflow on the same Temporal server (%s each)…", o.phase)
		c, err := measureCeiling(ctx, b.temporal, o.conc, o.phase)
		if err != nil {
			return nil, err
		}
		r.set("ceiling_signal_with_start_rate", round1(c.SignalWithStart))
		r.set("ceiling_signal_rate", round1(c.Signal))
		logf("  SignalWithStart %.0f/s, signal %.0f/s", c.SignalWithStart, c.Signal)
	}
	if o.runs("ingest") {
		if err := b.ingestPhases(ctx, r); err != nil {
			return nil, err
		}
	}
	if o.runs("timers") {
		if err := b.timerPhase(ctx, r); err != nil {
			return nil, err
		}
	}
	r.set("stream_drops", float64(b.streamDrops.Load()))
	// The inbox figures on their own database, holding exactly the seeded
	// sessions: the live product is stopped first so it does not compete.
	b.close()
	if !o.runs("queries") {
		return r, nil
	}
	qb := &bench{o: o}
	defer func() { qb.o.keep = qb.o.keep || err != nil; qb.close() }()
	if err := qb.startPlain(ctx, root, "omnichat_bench_"+sanitize(o.name)+"_inbox"); err != nil {
		return nil, err
	}
	q, err := measureQueries(ctx, qb.pool, qb.prod.URL, o.sessions, 100, logf)
	if err != nil {
		return nil, err
	}
	r.set("sessions_loaded", float64(q.Seeded.Sessions))
	r.set("messages_loaded", float64(q.Seeded.Messages))
	r.set("seed_seconds", round1(q.Seeded.Took.Seconds()))
	r.setMap("list_p50_ms", q.ListP50)
	r.setMap("list_p99_ms", q.ListP99)
	r.set("messages_page_p50_ms", q.MessagesP50)
	r.set("messages_page_p99_ms", q.MessagesP99)
	return r, nil
}

// startPlain creates the database dbName afresh and starts `omnichat dev` on it.
func (b *bench) startPlain(ctx context.Context, root, dbName string) error {
	bin, err := buildBinary(root)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	dbURL, err := freshDatabase(ctx, b.o.dbServer, dbName)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "omnichat-bench-")
	if err != nil {
		return err
	}
	logf("starting omnichat dev on %s (temporal store %s, data %s)…", dbName, b.o.store, dir)
	b.prod, err = startProduct(ctx, bin, dir, "dev", map[string]string{
		"DATABASE_URL":                 dbURL,
		"OMNICHAT_ADMIN_EMAIL":         benchAdmin,
		"OMNICHAT_ADMIN_PASSWORD":      benchPassword,
		"OMNICHAT_WORKFLOW_CACHE_SIZE": strconv.Itoa(b.o.cache),
		"OMNICHAT_TEMPORAL_STORE":      b.o.store,
		// Set in the harness's environment to profile the product.
		"OMNICHAT_PPROF_ADDR": os.Getenv("OMNICHAT_PPROF_ADDR"),
	})
	if err != nil {
		return err
	}
	b.pool, err = db.Open(ctx, dbURL)
	return err
}

// start starts the product on a fresh database, the fake WhatsApp Cloud
// API, and opens the agent's event stream.
func (b *bench) start(ctx context.Context, root string) error {
	if err := b.startPlain(ctx, root, "omnichat_bench_"+sanitize(b.o.name)); err != nil {
		return err
	}
	var err error
	if b.temporal, err = client.DialContext(ctx, client.Options{HostPort: b.prod.TemporalAddr, Logger: tlog.NewStructuredLogger(quietLog())}); err != nil {
		return err
	}
	if b.fake, err = whatsapptest.Start("127.0.0.1:0"); err != nil {
		return err
	}
	b.fake.AccessToken = waToken
	b.fake.OnSend = func(s whatsapptest.Sent) {
		if v, ok := b.replies.LoadAndDelete(s.Text); ok && b.measureE2E.Load() {
			b.platformLat.add(s.At.Sub(v.(time.Time)))
		}
	}
	if b.admin, err = login(ctx, b.prod.URL, benchAdmin, benchPassword); err != nil {
		return err
	}
	events := make(chan event, 1<<16)
	if err := b.admin.stream(ctx, "/api/v1/events", events, &b.streamDrops); err != nil {
		return err
	}
	go b.consume(events)
	go b.sampleRSS(ctx)
	return nil
}

// consume reads the agent's event stream: message arrivals for the
// end-to-end figure, warnings for the timer figure.
func (b *bench) consume(events <-chan event) {
	for ev := range events {
		switch ev.Type {
		case "message.created":
			pmid, _ := ev.Data["platform_message_id"].(string)
			if b.ingest == nil || pmid == "" || !b.measureE2E.Load() {
				continue
			}
			if v, ok := b.ingest.sentAt.Load(pmid); ok {
				b.agentLat.add(ev.At.Sub(v.(time.Time)))
			}
		case "session.warning":
			if ev.Data["warning"] != "soon" {
				continue
			}
			contact, _ := ev.Data["contact"].(map[string]any)
			user, _ := contact["platform_user_id"].(string)
			if v, ok := b.dueAt.LoadAndDelete(user); ok {
				b.lateness.add(ev.At.Sub(v.(time.Time)))
				b.warned.Add(1)
				b.lastWarnAt.Store(ev.At.UnixNano())
			}
		}
	}
}

func (b *bench) sampleRSS(ctx context.Context) {
	prod := b.prod
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			kb := int64(prod.RSS() * 1024)
			for {
				cur := b.rssMax.Load()
				if kb <= cur || b.rssMax.CompareAndSwap(cur, kb) {
					break
				}
			}
		}
	}
}

// channels creates n WhatsApp channels pointed at the fake platform.
func (b *bench) channels(ctx context.Context, n int, name string, settings map[string]any) ([]waChannel, error) {
	var out []waChannel
	for i := range n {
		phone := "1555" + strconv.FormatInt(time.Now().UnixNano()%1e7, 10) + strconv.Itoa(i)
		var ch struct{ ID string }
		_, err := b.admin.do(ctx, "POST", "/api/v1/channels", map[string]any{
			"platform": "whatsapp", "name": name + " " + strconv.Itoa(i+1), "settings": settings,
			"credentials": map[string]string{
				"phone_number_id": phone, "access_token": waToken, "app_secret": waSecret,
				"verify_token": "bench", "api_base_url": b.fake.URL(),
			},
		}, &ch)
		if err != nil {
			return nil, err
		}
		out = append(out, waChannel{ID: ch.ID, WebhookURL: b.prod.URL + "/webhooks/whatsapp/" + ch.ID, PhoneID: phone, Secret: waSecret})
	}
	return out, nil
}

// close stops what start started; it may be called more than once.
func (b *bench) close() {
	if b.temporal != nil {
		b.temporal.Close()
		b.temporal = nil
	}
	if b.fake != nil {
		_ = b.fake.Close()
		b.fake = nil
	}
	if b.pool != nil {
		b.pool.Close()
		b.pool = nil
	}
	if b.prod != nil {
		b.prod.Kill(false)
		if b.o.keep {
			logf("kept %s", b.prod.dir)
		} else {
			_ = os.RemoveAll(b.prod.dir)
		}
		b.prod = nil
	}
}

// freshDatabase drops and creates name on the server and returns its URL.
func freshDatabase(ctx context.Context, server, name string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", fmt.Errorf("postgres at %s: %w", server, err)
	}
	defer conn.Close(ctx)
	for _, n := range []string{name, name + "_temporal", name + "_temporal_visibility"} {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
			return "", err
		}
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	if err := pglocal.EnsureDatabase(ctx, u.String()); err != nil {
		return "", err
	}
	return u.String(), nil
}

func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			out = append(out, r)
		} else {
			out = append(out, '_')
		}
	}
	return string(out)
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }
