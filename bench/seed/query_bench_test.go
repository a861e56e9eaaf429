package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnichat/omnichat/api"
	"github.com/omnichat/omnichat/db"
)

// TestBenchQueries times every inbox list variant of the contract, and the
// message page, on a loaded database (see TestBenchLoad):
//
//	OMNICHAT_BENCH_DB=omnichat_bench_1m go test ./bench/seed -run TestBenchQueries -v -timeout 60m
//
// Each case runs through the real API handler (sign-in token, the list
// query, JSON), after a warm-up that mixes all cases on the one connection the
// pool has, so the prepared statements' plan caches see what production
// sees. OMNICHAT_BENCH_PLAN chooses plan_cache_mode: auto (Postgres' default),
// generic (force_generic_plan) or custom (force_custom_plan); several may be
// given, comma-separated. OMNICHAT_BENCH_N is the executions per case [200];
// OMNICHAT_BENCH_CASE keeps the cases whose name contains it.
// OMNICHAT_BENCH_BUDGET caps the time spent on one case [30s]: a slow case
// stops early and reports how many executions it had. OMNICHAT_BENCH_OUT
// appends the tables to a file.

type subject struct {
	label string
	id    uuid.UUID
	email string
	role  string
	teams []uuid.UUID
	token string
}

type listCase struct {
	name  string
	who   *subject
	vals  url.Values
	path  string // when not the session list
	page2 bool
}

type timing struct {
	p50, p99, max time.Duration
	rows          int
}

func percentiles(ds []time.Duration) (p50, p99, mx time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return at(0.50), at(0.99), s[len(s)-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

// benchFixture is what the cases need from the loaded data.
type benchFixture struct {
	admin, agent2, agent1              *subject
	bigTeam, bigChannel, smallChannel  uuid.UUID
	heavyOwner                         uuid.UUID
	commonName, rareName, mail, digits string
	midSession                         uuid.UUID
}

func loadFixture(t *testing.T, ctx context.Context, pool *pgxpool.Pool) *benchFixture {
	f := &benchFixture{}
	subj := func(label, sql string) *subject {
		s := &subject{label: label}
		if err := pool.QueryRow(ctx, sql).Scan(&s.id, &s.email, &s.role); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		rows, err := pool.Query(ctx, "SELECT team_id FROM team_members WHERE agent_id = $1 ORDER BY team_id", s.id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			s.teams = append(s.teams, id)
		}
		return s
	}
	f.admin = subj("admin", "SELECT id, email, role FROM agents WHERE role = 'admin' ORDER BY email LIMIT 1")
	busiest := func(teams int) string {
		return fmt.Sprintf(`SELECT a.id, a.email, a.role FROM agents a
			WHERE a.role = 'agent' AND (SELECT count(*) FROM team_members tm WHERE tm.agent_id = a.id) = %d
			ORDER BY (SELECT count(*) FROM sessions s WHERE s.owner_id = a.id AND s.status <> 'closed') DESC, a.email LIMIT 1`, teams)
	}
	f.agent2 = subj("agent (2 teams)", busiest(2))
	f.agent1 = subj("agent (1 team)", busiest(1))
	one := func(dst any, sql string) {
		if err := pool.QueryRow(ctx, sql).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	one(&f.bigTeam, "SELECT team_id FROM sessions WHERE team_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
	one(&f.bigChannel, "SELECT channel_id FROM sessions GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
	one(&f.smallChannel, "SELECT channel_id FROM sessions GROUP BY 1 ORDER BY count(*) LIMIT 1")
	one(&f.heavyOwner, "SELECT owner_id FROM sessions WHERE owner_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
	f.commonName, f.rareName = lastNames[0], lastNames[len(lastNames)-1]
	f.mail = "proton.me"
	var phone string
	one(&phone, "SELECT phone FROM contacts WHERE phone <> '' ORDER BY id LIMIT 1")
	f.digits = phone[4:11]
	// A session in the middle of a long history.
	one(&f.midSession, `WITH c AS (SELECT contact_id, count(*) AS n FROM sessions GROUP BY 1
		                   ORDER BY count(*) DESC, contact_id LIMIT 1)
		SELECT s.id FROM sessions s JOIN c USING (contact_id) ORDER BY s.opened_at OFFSET (SELECT n / 2 FROM c) LIMIT 1`)
	return f
}

func (f *benchFixture) cases() []listCase {
	var cs []listCase
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	for _, who := range []*subject{f.admin, f.agent2, f.agent1} {
		team := f.bigTeam
		if who != f.admin {
			team = who.teams[0]
		}
		for _, c := range []struct {
			name string
			vals url.Values
		}{
			{"default (open)", v()},
			{"status=rep_needed", v("status", "rep_needed")},
			{"status=closed", v("status", "closed")},
			{"view=mine", v("view", "mine")},
			{"view=joined", v("view", "joined")},
			{"view=support", v("view", "support")},
			{"view=unassigned", v("view", "unassigned")},
			{"view=unanswered", v("view", "unanswered")},
			{"view=team", v("view", "team")},
			{"team_id", v("team_id", team.String())},
			{"channel_id (busiest)", v("channel_id", f.bigChannel.String())},
			{"channel_id (quietest)", v("channel_id", f.smallChannel.String())},
			{"owner_id (busiest agent)", v("owner_id", f.heavyOwner.String())},
			{"tag=" + Tags[0], v("tag", Tags[0])},
			{"tag=" + Tags[len(Tags)-1], v("tag", Tags[len(Tags)-1])},
			{"q=" + f.commonName, v("q", f.commonName)},
			{"q=" + f.rareName, v("q", f.rareName)},
			{"q=Fischer (1% of contacts)", v("q", "Fischer")},
			{"q=Silva (2% of contacts)", v("q", "Silva")},
			{"q=" + f.mail, v("q", f.mail)},
			{"q=" + f.digits + " (phone)", v("q", f.digits)},
			{"q=an", v("q", "an")},
			{"status=closed&view=mine", v("status", "closed", "view", "mine")},
			{"status=closed&tag=" + Tags[len(Tags)-1], v("status", "closed", "tag", Tags[len(Tags)-1])},
			{"status=closed&q=" + f.rareName, v("status", "closed", "q", f.rareName)},
		} {
			cs = append(cs, listCase{name: c.name, who: who, vals: c.vals})
			cs = append(cs, listCase{name: c.name, who: who, vals: c.vals, page2: true})
		}
	}
	path := "/api/v1/sessions/" + f.midSession.String() + "/messages"
	cs = append(cs, listCase{name: "messages (mid-history session)", who: f.admin, path: path})
	cs = append(cs, listCase{name: "messages (mid-history session)", who: f.admin, path: path, page2: true})
	return cs
}

func benchPool(ctx context.Context, t *testing.T, name, mode string) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(benchURL(name))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns, cfg.MinConns = 1, 1
	if mode != "" {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = mode
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// migrateBench brings a loaded database up to the current migrations, so the
// benchmark runs against the schema the code expects.
func migrateBench(ctx context.Context, t *testing.T, name string) {
	pool, err := db.Open(ctx, benchURL(name))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
}

func TestBenchQueries(t *testing.T) {
	name := benchDB(t)
	ctx := context.Background()
	migrateBench(ctx, t, name)
	n := envInt("OMNICHAT_BENCH_N", 200)
	budget := time.Duration(envInt("OMNICHAT_BENCH_BUDGET", 30)) * time.Second
	modes := strings.Split(os.Getenv("OMNICHAT_BENCH_PLAN"), ",")
	if modes[0] == "" {
		modes = []string{"auto", "generic"}
	}
	var out bytes.Buffer
	for _, mode := range modes {
		pgMode := map[string]string{"auto": "auto", "generic": "force_generic_plan", "custom": "force_custom_plan"}[mode]
		pool := benchPool(ctx, t, name, pgMode)
		f := loadFixture(t, ctx, pool)
		srv := api.New(api.Deps{Pool: pool})
		h := srv.Handler()
		for _, s := range []*subject{f.admin, f.agent2, f.agent1} {
			body, _ := json.Marshal(map[string]string{"email": s.email, "password": Password})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/auth/login", bytes.NewReader(body)))
			var lr struct{ Token string }
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &lr) != nil {
				t.Fatalf("login %s: %d %s", s.email, rec.Code, rec.Body)
			}
			s.token = lr.Token
		}
		get := func(who *subject, target string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header.Set("Authorization", "Bearer "+who.token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		cases := f.cases()
		if filter := os.Getenv("OMNICHAT_BENCH_CASE"); filter != "" {
			cases = slices.DeleteFunc(cases, func(c listCase) bool { return !strings.Contains(c.name+" "+c.who.label, filter) })
		}
		targets := make([]string, len(cases))
		rows := make([]int, len(cases))
		slow := make([]bool, len(cases))
		for i, c := range cases {
			base := c.path
			if base == "" {
				base = "/api/v1/sessions"
			}
			target := base
			if len(c.vals) > 0 {
				target += "?" + c.vals.Encode()
			}
			if c.page2 {
				rec := get(c.who, target)
				var page struct {
					NextCursor string `json:"next_cursor"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &page)
				if page.NextCursor == "" {
					targets[i] = ""
					continue
				}
				vals := url.Values{}
				for k, v := range c.vals {
					vals[k] = v
				}
				if c.path != "" {
					vals.Set("before", page.NextCursor)
				} else {
					vals.Set("cursor", page.NextCursor)
				}
				target = base + "?" + vals.Encode()
			}
			targets[i] = target
		}
		// Warm-up: every case a few times, interleaved, as a busy inbox
		// would run them on one connection.
		for round := range 6 {
			for i, c := range cases {
				if round > 0 && slow[i] {
					continue
				}
				if targets[i] == "" {
					continue
				}
				t0 := time.Now()
				rec := get(c.who, targets[i])
				slow[i] = slow[i] || time.Since(t0) > 500*time.Millisecond
				if rec.Code != http.StatusOK {
					t.Fatalf("%s %s: %d %s", c.who.label, targets[i], rec.Code, rec.Body)
				}
				var page struct {
					Items []json.RawMessage `json:"items"`
				}
				_ = json.Unmarshal(rec.Body.Bytes(), &page)
				rows[i] = len(page.Items)
			}
		}
		// Floor: the same request path with sign-in only.
		floor := make([]time.Duration, n)
		for k := range n {
			t0 := time.Now()
			get(f.admin, "/api/v1/agents/me")
			floor[k] = time.Since(t0)
		}
		fp50, fp99, _ := percentiles(floor)

		fmt.Fprintf(&out, "\n### plan_cache_mode = %s (%d executions per case, through the API handler)\n\n", pgMode, n)
		fmt.Fprintf(&out, "Floor (GET /agents/me: sign-in lookups only): p50 %s ms, p99 %s ms.\n\n", ms(fp50), ms(fp99))
		fmt.Fprintf(&out, "| case | who | page | rows | runs | p50 ms | p99 ms | max ms |\n|---|---|---|---:|---:|---:|---:|---:|\n")
		var worst timing
		worstName := ""
		for i, c := range cases {
			page := "1"
			if c.page2 {
				page = "2"
			}
			if targets[i] == "" {
				fmt.Fprintf(&out, "| %s | %s | %s | – | – | – | – | – |\n", c.name, c.who.label, page)
				continue
			}
			ds := make([]time.Duration, 0, n)
			start := time.Now()
			for range n {
				t0 := time.Now()
				get(c.who, targets[i])
				ds = append(ds, time.Since(t0))
				if time.Since(start) > budget {
					break
				}
			}
			p50, p99, mx := percentiles(ds)
			flag := ""
			if p99 > 25*time.Millisecond {
				flag = " ⚠"
			}
			fmt.Fprintf(&out, "| %s | %s | %s | %d | %d | %s | %s%s | %s |\n", c.name, c.who.label, page, rows[i], len(ds), ms(p50), ms(p99), flag, ms(mx))
			if p99 > worst.p99 {
				worst, worstName = timing{p50, p99, mx, rows[i]}, c.name+" / "+c.who.label+" / page "+page
			}
		}
		fmt.Fprintf(&out, "\nWorst p99: %s ms (%s).\n", ms(worst.p99), worstName)
		pool.Close()
	}
	fmt.Print(out.String())
	if p := os.Getenv("OMNICHAT_BENCH_OUT"); p != "" {
		fh, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		fh.Write(out.Bytes()) //nolint:errcheck
	}
}
