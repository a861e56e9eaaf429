package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnichat/omnichat/channel/whatsapp/whatsapptest"
	"github.com/omnichat/omnichat/db"
)

// The fault harness: the production roles as separate processes (a
// Temporal server, `omnichat api`, `omnichat worker`), under load, while
// the harness kills the worker and the API with SIGKILL and restarts them,
// restarts Postgres, and delivers every webhook twice and some out of order.
// Then it counts, in the database and at the fake platform: every message
// answered 200 stored exactly once, every acknowledged reply delivered
// exactly once, every timer that came due fired once.

type faultRun struct {
	o        faultOptions
	temporal *product
	api      *product
	worker   *product
	pool     *pgxpool.Pool
	fake     *whatsapptest.Server
	admin    *api
	load     *load

	repliesOK   sync.Map // client id -> reply text, acknowledged by the API
	replyErrors atomic.Int64
	sends       sync.Map // text -> count at the platform
	timed       []string // contact platform ids of the timed sessions

	logMu sync.Mutex
	log   []string // what note printed, for bench/results/faults.txt
}

type faultOptions struct {
	duration    time.Duration
	rate        float64
	customers   int
	dbServer    string
	noPGRestart bool
}

func runFaults(args []string) int {
	var o faultOptions
	fs := flag.NewFlagSet("bench faults", flag.ExitOnError)
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "how long the load runs (the faults happen inside it)")
	fs.Float64Var(&o.rate, "rate", 30, "webhook deliveries per second")
	fs.IntVar(&o.customers, "customers", 300, "simulated customers")
	fs.StringVar(&o.dbServer, "db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "Postgres server")
	fs.BoolVar(&o.noPGRestart, "no-postgres-restart", false, "skip restarting Postgres (it needs pg_ctlcluster and root)")
	_ = fs.Parse(args)
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+10*time.Minute)
	defer cancel()
	f := &faultRun{o: o}
	defer f.close()
	err = f.run(ctx, root)
	if err != nil {
		f.note("FAIL: %v", err)
	} else {
		f.note("PASS: nothing lost, nothing doubled")
	}
	if werr := f.writeLog(root); werr != nil {
		fmt.Fprintln(os.Stderr, "bench faults:", werr)
	}
	if err != nil {
		return 1
	}
	return 0
}

func (f *faultRun) note(format string, args ...any) {
	logf(format, args...)
	f.logMu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	f.logMu.Unlock()
}

// writeLog writes what the run did and counted to bench/results/faults.txt,
// with the commit and the machine, for docs/performance.md.
func (f *faultRun) writeLog(root string) error {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	head := fmt.Sprintf("make faults: commit %s, %d cores, %.1f GB, %s, %s of load at %.0f deliveries/s from %d customers\n",
		gitCommit(root), runtime.NumCPU(), memoryGB(), time.Now().UTC().Format(time.RFC3339), f.o.duration, f.o.rate, f.o.customers)
	dir := filepath.Join(root, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "faults.txt"), []byte(head+strings.Join(f.log, "\n")+"\n"), 0o644)
}

func (f *faultRun) run(ctx context.Context, root string) error {
	bin, err := buildBinary(root)
	if err != nil {
		return err
	}
	dbURL, err := freshDatabase(ctx, f.o.dbServer, "omnichat_faults")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "omnichat-faults-")
	if err != nil {
		return err
	}
	tport := strconv.Itoa(freePort())
	if f.temporal, err = startProduct(ctx, bin, dir+"/temporal", "temporal", map[string]string{"OMNICHAT_TEMPORAL_PORT": tport, "DATABASE_URL": dbURL}); err != nil {
		return err
	}
	env := map[string]string{
		"DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": "127.0.0.1:" + tport,
		"OMNICHAT_SECRET_KEY": "faults-harness-secret-key", "OMNICHAT_ADMIN_EMAIL": benchAdmin, "OMNICHAT_ADMIN_PASSWORD": benchPassword,
	}
	migrate := exec.CommandContext(ctx, bin, "migrate")
	migrate.Env = append(os.Environ(), kv(env)...)
	if out, err := migrate.CombinedOutput(); err != nil {
		return fmt.Errorf("migrate: %v: %s", err, out)
	}
	if f.worker, err = startProduct(ctx, bin, dir+"/worker", "worker", env); err != nil {
		return err
	}
	if f.api, err = startProduct(ctx, bin, dir+"/api", "api", env); err != nil {
		return err
	}
	f.note("started: temporal (pid %d), worker (pid %d), api (pid %d)", f.temporal.Pid(), f.worker.Pid(), f.api.Pid())
	if f.pool, err = db.Open(ctx, dbURL); err != nil {
		return err
	}
	if f.fake, err = whatsapptest.Start("127.0.0.1:0"); err != nil {
		return err
	}
	f.fake.AccessToken = waToken
	f.fake.OnSend = func(s whatsapptest.Sent) {
		v, _ := f.sends.LoadOrStore(s.Text, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	if f.admin, err = login(ctx, f.api.URL, benchAdmin, benchPassword); err != nil {
		return err
	}
	b := &bench{admin: f.admin, fake: f.fake, prod: f.api}
	chans, err := b.channels(ctx, 3, "Faults", map[string]any{"warn_after_seconds": 20, "overdue_after_seconds": 3600, "auto_close_after_seconds": 0})
	if err != nil {
		return err
	}
	// Deliveries go to the API's address, which stays the same across restarts.
	f.load = newLoad(chans, f.o.customers, "f"+strconv.FormatInt(time.Now().Unix()%100000, 10))
	f.load.duplicate = true

	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); f.deliver(loadCtx) }()
	go func() { defer wg.Done(); f.outOfOrder(loadCtx) }()
	go func() { defer wg.Done(); f.replies(loadCtx) }()

	step := f.o.duration / 6
	sleepCtx(ctx, step)
	f.note("kill -9 worker (pid %d)", f.worker.Pid())
	f.worker.Kill(true)
	sleepCtx(ctx, 3*time.Second)
	if err := f.worker.Restart(ctx); err != nil {
		return err
	}
	f.note("worker restarted (pid %d)", f.worker.Pid())
	sleepCtx(ctx, step)
	f.note("kill -9 api (pid %d)", f.api.Pid())
	f.api.Kill(true)
	sleepCtx(ctx, 2*time.Second)
	if err := f.api.Restart(ctx); err != nil {
		return err
	}
	f.note("api restarted (pid %d)", f.api.Pid())
	sleepCtx(ctx, step)
	if !f.o.noPGRestart {
		f.note("restarting Postgres")
		if err := restartPostgres(); err != nil {
			return err
		}
		f.note("Postgres is back")
	}
	sleepCtx(ctx, step)
	f.note("kill -9 worker and api together")
	f.worker.Kill(true)
	f.api.Kill(true)
	sleepCtx(ctx, 2*time.Second)
	if err := f.worker.Restart(ctx); err != nil {
		return err
	}
	if err := f.api.Restart(ctx); err != nil {
		return err
	}
	f.note("both restarted")
	sleepCtx(ctx, step)
	stopLoad()
	wg.Wait()
	f.note("load stopped: %d deliveries accepted (each delivered twice), %d retried attempts, %d given up", f.load.accepted.Load(), f.load.retried.Load(), f.load.failed.Load())
	return f.verify(ctx, chans)
}

// deliver sends messages at the configured rate, each webhook twice.
func (f *faultRun) deliver(ctx context.Context) {
	f.load.openLoop(ctx, f.o.rate, f.o.duration, "fault-load message")
}

// outOfOrder delivers, now and then, a customer's two messages in one
// batch newest first, and a later message before an earlier one.
func (f *faultRun) outOfOrder(ctx context.Context) {
	r := rand.New(rand.NewPCG(4, 2))
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		i := r.IntN(f.load.customers)
		from, ch := f.load.customer(i)
		now := time.Now()
		a := whatsapptest.Message{From: from, ID: "wamid.ooo-" + f.load.prefix + "-" + strconv.Itoa(n) + "a", Text: "earlier", At: now.Add(-time.Second)}
		b := whatsapptest.Message{From: from, ID: "wamid.ooo-" + f.load.prefix + "-" + strconv.Itoa(n) + "b", Text: "later", At: now}
		var bodies [][]byte
		if n%2 == 0 {
			bodies = [][]byte{whatsapptest.Delivery(ch.PhoneID, []whatsapptest.Message{b, a}, nil)}
		} else {
			bodies = [][]byte{whatsapptest.Delivery(ch.PhoneID, []whatsapptest.Message{b}, nil), whatsapptest.Delivery(ch.PhoneID, []whatsapptest.Message{a}, nil)}
		}
		for _, body := range bodies {
			for _, id := range []string{a.ID, b.ID} {
				f.load.sentAt.Store(id, now)
			}
			if err := f.load.post(ctx, ch, body, true); err == nil {
				_ = f.load.post(ctx, ch, body, false) // and again
			}
		}
	}
}

// replies has an agent answer sessions, retrying with the same client id
// until the API acknowledges, as a browser would.
func (f *faultRun) replies(ctx context.Context) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var page struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		}
		if _, err := f.admin.do(ctx, "GET", "/api/v1/sessions?limit=50", nil, &page); err != nil || len(page.Items) == 0 {
			continue
		}
		sid := page.Items[n%len(page.Items)].ID
		clientID := "fault-reply-" + strconv.Itoa(n)
		text := "reply " + clientID
		for attempt := 0; attempt < 50 && ctx.Err() == nil; attempt++ {
			status, err := f.admin.do(ctx, "POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": text, "client_id": clientID}, nil)
			if err == nil {
				f.repliesOK.Store(clientID, text)
				break
			}
			if status == 409 || status == 422 || status == 404 {
				break // refused, not failed: nothing to deliver
			}
			// Anything else (the API restarting, Postgres away mid-request:
			// even a 401, since tokens survive restarts) is tried again.
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// verify counts what reached the database and the platform.
func (f *faultRun) verify(ctx context.Context, chans []waChannel) error {
	ids := make([]string, len(chans))
	for i, c := range chans {
		ids[i] = c.ID
	}
	var accepted []string
	f.load.sentAt.Range(func(k, _ any) bool { accepted = append(accepted, k.(string)); return true })
	// Every delivery the harness made was retried until answered 200, so
	// every id it sent counts as accepted; wait for the sessions to adopt them.
	f.note("verifying: %d distinct messages accepted", len(accepted))
	var stored, dup, unadopted int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		err := f.pool.QueryRow(ctx, `
			SELECT count(*), count(*) FILTER (WHERE n > 1), count(*) FILTER (WHERE adopted < n)
			FROM (SELECT platform_message_id, count(*) AS n, count(session_id) AS adopted FROM messages
			      WHERE channel_id = ANY($1::uuid[]) AND platform_message_id = ANY($2::text[]) GROUP BY 1) t`,
			ids, accepted).Scan(&stored, &dup, &unadopted)
		if err != nil {
			return err
		}
		if (stored == len(accepted) && unadopted == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	f.note("messages: %d of %d stored, %d stored more than once, %d not adopted by a session", stored, len(accepted), dup, unadopted)

	// Replies: each acknowledged one at the platform exactly once.
	var acked []string
	f.repliesOK.Range(func(_, v any) bool { acked = append(acked, v.(string)); return true })
	var missing, twice int
	deadline = time.Now().Add(2 * time.Minute)
	for {
		missing, twice = 0, 0
		for _, text := range acked {
			v, ok := f.sends.Load(text)
			switch {
			case !ok:
				missing++
			case v.(*atomic.Int64).Load() > 1:
				twice++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	f.note("replies: %d acknowledged, %d not at the platform, %d at the platform more than once", len(acked), missing, twice)

	// Timers: every session whose customer has waited past the threshold
	// since their last message got exactly one "soon" warning in this
	// waiting period (warnings that came due while the worker was down fire
	// when it is back: wait for them).
	var due, fired, firedTwice int
	deadline = time.Now().Add(2 * time.Minute)
	for {
		err := f.pool.QueryRow(ctx, `
			WITH w AS (
				SELECT s.id,
				       (SELECT max(m.created_at) FROM messages m WHERE m.session_id = s.id AND m.direction = 'in') AS last_in,
				       (SELECT count(*) FROM session_events e WHERE e.session_id = s.id AND e.type = 'session.warning'
				          AND e.data->>'level' = 'soon' AND e.created_at >= s.waiting_since) AS warnings
				FROM sessions s WHERE s.channel_id = ANY($1::uuid[]) AND s.waiting_since IS NOT NULL AND s.status <> 'closed')
			SELECT count(*) FILTER (WHERE last_in < now() - interval '25 seconds'),
			       count(*) FILTER (WHERE last_in < now() - interval '25 seconds' AND warnings = 1),
			       count(*) FILTER (WHERE warnings > 1)
			FROM w`, ids).Scan(&due, &fired, &firedTwice)
		if err != nil {
			return err
		}
		if (due == fired && firedTwice == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	f.note("timers: %d sessions waiting past the threshold, %d warned once, %d warned more than once", due, fired, firedTwice)

	var errs []error
	if stored != len(accepted) || dup > 0 || unadopted > 0 {
		errs = append(errs, fmt.Errorf("messages: want %d stored once and adopted, got %d stored, %d duplicated, %d unadopted", len(accepted), stored, dup, unadopted))
	}
	if missing > 0 || twice > 0 {
		errs = append(errs, fmt.Errorf("replies: %d missing and %d duplicated at the platform", missing, twice))
	}
	if fired != due || firedTwice > 0 {
		errs = append(errs, fmt.Errorf("timers: %d due, %d fired, %d fired twice", due, fired, firedTwice))
	}
	return errors.Join(errs...)
}

func (f *faultRun) close() {
	for _, p := range []*product{f.api, f.worker, f.temporal} {
		if p != nil {
			p.Kill(false)
		}
	}
	if f.fake != nil {
		_ = f.fake.Close()
	}
	if f.pool != nil {
		f.pool.Close()
	}
}

// restartPostgres restarts the machine's Postgres cluster.
func restartPostgres() error {
	versions, err := os.ReadDir("/etc/postgresql")
	if err != nil || len(versions) == 0 {
		return fmt.Errorf("restart postgres: no cluster under /etc/postgresql (use -no-postgres-restart)")
	}
	v := versions[len(versions)-1].Name()
	out, err := exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", v, "main", "restart", "-m", "fast").CombinedOutput()
	if err != nil {
		return fmt.Errorf("restart postgres: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func kv(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
