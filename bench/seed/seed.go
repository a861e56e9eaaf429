// Package seed loads a realistic omnichat inbox into Postgres, fast: teams,
// agents, channels, then contacts, sessions, messages, audit events and read
// states by the COPY protocol, in parallel streams with bounded memory. It is
// for benchmarks: Load expects a freshly migrated database that nothing else
// writes to while it runs.
//
// The data is a pure function of Options: the same Seed gives the same rows.
// Most sessions are closed; open ones are recent and spread over the open
// statuses; several contacts have earlier sessions, so conversations page back
// into them. Message ids are assigned by the loader: a block is reserved on
// the identity sequence up front (COPY writes explicit values into a
// GENERATED ALWAYS identity column, as INSERT's OVERRIDING SYSTEM VALUE does),
// so sessions.last_message_id is written with the session and needs no
// second pass.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"
)

// Password is every seeded agent's password.
const Password = "omnichat-bench-password"

// passwordCost is api.PasswordCost (bcrypt); the hash is computed once.
const passwordCost = 12

// Options say what to load. Zero values take the defaults in brackets.
type Options struct {
	Sessions           int     // sessions in all (required)
	MessagesPerSession int     // average messages per session [10]
	Channels           int     // channels of mixed platforms [6]; with more channels than teams, the last is routed to no team
	Teams              int     // teams [5]
	Agents             int     // agents, spread over teams, a few admins and supervisors among them [200]
	OpenFraction       float64 // share of sessions not closed [0.1]
	Seed               int64   // the data is a function of the seed
	Log                *slog.Logger

	// Now is the end of the generated history [time.Now()]; activity spreads
	// over the 90 days before it, open sessions in the last three days.
	Now time.Time
	// Workers is the number of parallel COPY streams per table [2].
	Workers int
	// Vacuum runs VACUUM (ANALYZE) at the end instead of ANALYZE, so the
	// visibility map and hint bits are as a long-running database has them.
	Vacuum bool
	// SkipForeignKeyChecks runs the COPYs with session_replication_role =
	// replica, so foreign-key triggers do not fire (the rows are consistent
	// by construction; seed_test checks it). It needs a superuser.
	SkipForeignKeyChecks bool
}

// Result is what was loaded, with the agents to sign in as.
type Result struct {
	Sessions, Messages, Contacts int
	Events, Reads                int
	Agents                       []AgentRef
	Teams, Channels              []uuid.UUID
	// ChannelTeams is each channel's team (uuid.Nil: routed to no team).
	ChannelTeams []uuid.UUID
	Took         time.Duration
	// Phases is how long each step took, in order.
	Phases []Phase
}

// Phase is one timed step of Load.
type Phase struct {
	Name string
	Rows int
	Took time.Duration
}

// AgentRef is a seeded agent and how to sign in as them.
type AgentRef struct {
	ID       uuid.UUID
	Email    string
	Password string
	Role     string
	Teams    []uuid.UUID
}

func (o *Options) defaults() error {
	if o.Sessions <= 0 {
		return errors.New("seed: Sessions must be positive")
	}
	if o.MessagesPerSession <= 0 {
		o.MessagesPerSession = 10
	}
	if o.Channels <= 0 {
		o.Channels = 6
	}
	if o.Teams <= 0 {
		o.Teams = 5
	}
	if o.Agents <= 0 {
		o.Agents = 200
	}
	if o.OpenFraction <= 0 {
		o.OpenFraction = 0.1
	}
	if o.OpenFraction > 1 {
		return errors.New("seed: OpenFraction must be at most 1")
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Load fills the database behind pool. It refuses a database that already
// has sessions.
func Load(ctx context.Context, pool *pgxpool.Pool, o Options) (Result, error) {
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	var res Result
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM sessions LIMIT 1) s").Scan(&n); err != nil {
		return res, err
	}
	if n > 0 {
		return res, errors.New("seed: the database already has sessions; Load wants a freshly migrated one")
	}
	phase := func(name string, rows int, t0 time.Time) {
		p := Phase{Name: name, Rows: rows, Took: time.Since(t0)}
		res.Phases = append(res.Phases, p)
		rate := 0.0
		if s := p.Took.Seconds(); s > 0 {
			rate = float64(rows) / s
		}
		o.Log.Info("seed: "+name, "rows", rows, "took", p.Took.Round(time.Millisecond), "rows_per_s", int(rate))
	}

	t0 := time.Now()
	g := &gen{
		seed:         uint64(o.Seed),
		now:          o.Now.UnixMicro(),
		sessions:     o.Sessions,
		meanMessages: float64(o.MessagesPerSession),
		agents:       o.Agents,
		teams:        o.Teams,
	}
	if err := loadPeople(ctx, pool, o, g, &res); err != nil {
		return res, err
	}
	phase("teams, agents, channels", len(res.Agents)+len(res.Teams)+len(res.Channels), t0)

	t0 = time.Now()
	totalMsgs := g.layout()
	g.pOpen = math.Min(1, o.OpenFraction*float64(o.Sessions)/float64(g.contacts))
	base, err := reserveMessageIDs(ctx, pool, totalMsgs)
	if err != nil {
		return res, err
	}
	g.msgBase = base
	phase("layout and message id block", g.contacts, t0)

	agentIDs := make([]uuid.UUID, len(res.Agents))
	for i, a := range res.Agents {
		agentIDs[i] = a.ID
	}
	w := &writer{g: g, pool: pool, workers: o.Workers, skipFK: o.SkipForeignKeyChecks, agents: agentIDs, teams: res.Teams, channels: res.Channels}

	// GIN indexes without a pending list (fastupdate = off, as the trigram
	// and open-session indexes are) cost a tree insertion per key per row;
	// with a pending list the rows are merged in sorted batches. The indexes
	// stay in place; their setting is restored, pending lists flushed, at
	// the end.
	t0 = time.Now()
	restoreGIN, err := ginFastUpdateOn(ctx, pool)
	if err != nil {
		return res, err
	}
	defer func() {
		if restoreGIN != nil {
			_ = restoreGIN(context.Background())
		}
	}()
	phase("GIN indexes: fastupdate on for the load", 0, t0)

	t0 = time.Now()
	nc, err := w.copyTable(ctx, "contacts", contactColumns, w.contactRows)
	if err != nil {
		return res, err
	}
	res.Contacts = int(nc)
	phase("contacts (COPY)", res.Contacts, t0)

	t0 = time.Now()
	ns, err := w.copyTable(ctx, "sessions", sessionColumns, w.sessionRows)
	if err != nil {
		return res, err
	}
	res.Sessions = int(ns)
	phase("sessions (COPY)", res.Sessions, t0)

	t0 = time.Now()
	nm, err := w.copyTable(ctx, "messages", messageColumns, w.messageRows)
	if err != nil {
		return res, err
	}
	res.Messages = int(nm)
	phase("messages (COPY)", res.Messages, t0)

	t0 = time.Now()
	ne, err := w.copyTable(ctx, "session_events", eventColumns, w.eventRows)
	if err != nil {
		return res, err
	}
	res.Events = int(ne)
	phase("session_events (COPY)", res.Events, t0)

	t0 = time.Now()
	nr, err := w.copyTable(ctx, "session_reads", readColumns, w.readRows)
	if err != nil {
		return res, err
	}
	res.Reads = int(nr)
	phase("session_reads (COPY)", res.Reads, t0)

	t0 = time.Now()
	err, restoreGIN = restoreGIN(ctx), nil
	if err != nil {
		return res, err
	}
	phase("GIN indexes: pending lists flushed, fastupdate restored", 0, t0)

	t0 = time.Now()
	stmt := "ANALYZE"
	if o.Vacuum {
		stmt = "VACUUM (ANALYZE)"
	}
	for _, t := range []string{"teams", "agents", "team_members", "channels", "contacts", "sessions", "messages", "session_events", "session_reads"} {
		if _, err := pool.Exec(ctx, stmt+" "+t); err != nil {
			return res, fmt.Errorf("seed: %s %s: %w", stmt, t, err)
		}
	}
	phase(stmt, 0, t0)
	res.Took = time.Since(start)
	o.Log.Info("seed: loaded", "sessions", res.Sessions, "messages", res.Messages, "contacts", res.Contacts,
		"events", res.Events, "reads", res.Reads, "took", res.Took.Round(time.Millisecond))
	return res, nil
}

// reserveMessageIDs takes a block of n ids on messages' identity sequence and
// returns the id before the block.
func reserveMessageIDs(ctx context.Context, pool *pgxpool.Pool, n int64) (int64, error) {
	var seq string
	if err := pool.QueryRow(ctx, "SELECT pg_get_serial_sequence('messages', 'id')").Scan(&seq); err != nil {
		return 0, err
	}
	var next int64
	if err := pool.QueryRow(ctx, "SELECT nextval($1::regclass)", seq).Scan(&next); err != nil {
		return 0, err
	}
	base := next - 1
	if _, err := pool.Exec(ctx, "SELECT setval($1::regclass, $2)", seq, base+n); err != nil {
		return 0, err
	}
	return base, nil
}

// ginFastUpdateOn turns the pending list on for the GIN indexes of the
// loaded tables that have it off, and returns how to undo it.
func ginFastUpdateOn(ctx context.Context, pool *pgxpool.Pool) (func(context.Context) error, error) {
	rows, err := pool.Query(ctx, `
		SELECT c.oid::regclass::text FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		JOIN pg_am am ON am.oid = c.relam
		WHERE am.amname = 'gin' AND 'fastupdate=off' = ANY(c.reloptions)
		  AND i.indrelid IN ('contacts'::regclass, 'sessions'::regclass, 'messages'::regclass,
		                     'session_events'::regclass, 'session_reads'::regclass)`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := pool.Exec(ctx, "ALTER INDEX "+n+" SET (fastupdate = on)"); err != nil {
			return nil, fmt.Errorf("seed: %s: %w", n, err)
		}
	}
	return func(ctx context.Context) error {
		for _, n := range names {
			if _, err := pool.Exec(ctx, "SELECT gin_clean_pending_list($1::regclass)", n); err != nil {
				return fmt.Errorf("seed: flushing %s: %w", n, err)
			}
			if _, err := pool.Exec(ctx, "ALTER INDEX "+n+" SET (fastupdate = off)"); err != nil {
				return fmt.Errorf("seed: %s: %w", n, err)
			}
		}
		return nil
	}, nil
}

// loadPeople inserts the small tables and sets up who takes which sessions.
func loadPeople(ctx context.Context, pool *pgxpool.Pool, o Options, g *gen, res *Result) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(Password), passwordCost)
	if err != nil {
		return err
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck

	for i := range o.Teams {
		var id uuid.UUID
		mode := "collaboration"
		if i%4 == 3 {
			mode = "grab"
		}
		if err := tx.QueryRow(ctx, "INSERT INTO teams (name, mode) VALUES ($1, $2) RETURNING id",
			fmt.Sprintf("Bench team %d", i+1), mode).Scan(&id); err != nil {
			return fmt.Errorf("seed: teams: %w", err)
		}
		res.Teams = append(res.Teams, id)
	}

	// A few admins and supervisors; everybody else is an agent. Each agent is
	// in one team, some in two; the first agent of a team is its team admin.
	admins := 1 + o.Agents/100
	supervisors := 1 + o.Agents/50
	if admins+supervisors >= o.Agents {
		admins, supervisors = min(1, o.Agents), 0
	}
	g.teamPool = make([][]int, o.Teams)
	counters := map[string]int{}
	teamAdminSet := make([]bool, o.Teams)
	for i := range o.Agents {
		role := "agent"
		weight := 4 // how often they take sessions, relative
		switch {
		case i < admins:
			role, weight = "admin", 1
		case i < admins+supervisors:
			role, weight = "supervisor", 2
		}
		counters[role]++
		email := fmt.Sprintf("%s%d@bench.omnichat.local", role, counters[role])
		ref := AgentRef{Email: email, Password: Password, Role: role}
		if err := tx.QueryRow(ctx,
			"INSERT INTO agents (email, name, role, password_hash, presence) VALUES ($1, $2, $3, $4, $5) RETURNING id",
			email, fmt.Sprintf("%s %d", titleASCII(role), counters[role]), role, string(hash), []string{"online", "away", "offline"}[i%3],
		).Scan(&ref.ID); err != nil {
			return fmt.Errorf("seed: agents: %w", err)
		}
		teams := []int{i % o.Teams}
		if role == "agent" && o.Teams > 1 && i%7 == 0 {
			teams = append(teams, (i+1+i/7)%o.Teams)
			if teams[1] == teams[0] {
				teams = teams[:1]
			}
		}
		for _, t := range teams {
			trole := "member"
			if role == "agent" && !teamAdminSet[t] {
				trole, teamAdminSet[t] = "admin", true
			}
			if _, err := tx.Exec(ctx, "INSERT INTO team_members (team_id, agent_id, role) VALUES ($1, $2, $3)",
				res.Teams[t], ref.ID, trole); err != nil {
				return fmt.Errorf("seed: team_members: %w", err)
			}
			ref.Teams = append(ref.Teams, res.Teams[t])
			for range weight {
				g.teamPool[t] = append(g.teamPool[t], i)
			}
		}
		for range weight {
			g.allPool = append(g.allPool, i)
		}
		res.Agents = append(res.Agents, ref)
	}

	// Channels: the first ones busiest. With more channels than teams the
	// last channel is routed to no team (everybody's).
	weights := make([]float64, o.Channels)
	var sum float64
	for i := range weights {
		weights[i] = 1 / (float64(i) + 1.5)
		sum += weights[i]
	}
	var acc float64
	for i := range o.Channels {
		acc += weights[i] / sum
		g.channelCDF = append(g.channelCDF, acc)
		team := i % o.Teams
		if o.Channels > o.Teams && i == o.Channels-1 {
			team = -1
		}
		g.channelTeam = append(g.channelTeam, team)
		var teamID any
		tid := uuid.Nil
		if team >= 0 {
			teamID, tid = res.Teams[team], res.Teams[team]
		}
		platform := platforms[i%len(platforms)]
		var id uuid.UUID
		if err := tx.QueryRow(ctx,
			"INSERT INTO channels (platform, name, team_id, settings) VALUES ($1, $2, $3, '{}') RETURNING id",
			platform, fmt.Sprintf("Bench %s %d", platform, i+1), teamID,
		).Scan(&id); err != nil {
			return fmt.Errorf("seed: channels: %w", err)
		}
		res.Channels = append(res.Channels, id)
		res.ChannelTeams = append(res.ChannelTeams, tid)
	}
	return tx.Commit(ctx)
}

func titleASCII(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if 'a' <= b[0] && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}

// writer streams the large tables, each in parallel COPYs over contact ranges.
type writer struct {
	g        *gen
	pool     *pgxpool.Pool
	workers  int
	skipFK   bool
	agents   []uuid.UUID
	teams    []uuid.UUID
	channels []uuid.UUID
}

// chunkContacts bounds one COPY (one transaction): its after-trigger queue
// (the foreign-key checks) stays small, and a failure loses little.
const chunkContacts = 20_000

type rowsFunc func(cp *contactPlan, emit func(row []any))

func (w *writer) copyTable(ctx context.Context, table string, cols []string, rows rowsFunc) (int64, error) {
	var total atomic.Int64
	var next atomic.Int64
	eg, ctx := errgroup.WithContext(ctx)
	for range w.workers {
		eg.Go(func() error {
			conn, err := w.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if w.skipFK {
				if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
					return fmt.Errorf("seed: skipping foreign-key checks: %w", err)
				}
				defer conn.Exec(context.Background(), "RESET session_replication_role") //nolint:errcheck
			}
			for {
				from := int(next.Add(chunkContacts)) - chunkContacts
				if from >= w.g.contacts {
					return nil
				}
				to := min(from+chunkContacts, w.g.contacts)
				src := &source{g: w.g, j: from, end: to, rows: rows}
				n, err := conn.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, src)
				if err != nil {
					return fmt.Errorf("seed: COPY %s (contacts %d-%d): %w", table, from, to, err)
				}
				total.Add(n)
			}
		})
	}
	err := eg.Wait()
	return total.Load(), err
}

// source is a pgx.CopyFromSource over a range of contacts: it plans one
// contact at a time and hands out its rows, so memory stays bounded.
type source struct {
	g    *gen
	j    int
	end  int
	rows rowsFunc
	buf  [][]any
	i    int
}

func (s *source) Next() bool {
	for s.i >= len(s.buf) {
		if s.j >= s.end {
			return false
		}
		s.buf, s.i = s.buf[:0], 0
		cp := s.g.contact(s.j)
		s.rows(&cp, func(row []any) { s.buf = append(s.buf, row) })
		s.j++
	}
	s.i++
	return true
}

func (s *source) Values() ([]any, error) { return s.buf[s.i-1], nil }
func (s *source) Err() error             { return nil }

func ts(us int64) time.Time { return time.UnixMicro(us).UTC() }

func optTS(us int64) any {
	if us == 0 {
		return nil
	}
	return ts(us)
}

// Ids are handed to COPY as [16]byte: pgx encodes those directly, while a
// uuid.UUID goes through driver.Valuer and a string.
func (w *writer) agent(i int) any {
	if i < 0 {
		return nil
	}
	return [16]byte(w.agents[i])
}

func (w *writer) agentList(is []int) [][16]byte {
	out := make([][16]byte, len(is))
	for k, i := range is {
		out[k] = w.agents[i]
	}
	return out
}

var contactColumns = []string{"id", "channel_id", "platform_user_id", "name", "email", "phone", "first_active_at",
	"last_active_at", "total_messages", "online", "last_seen_at", "created_at", "updated_at"}

func (w *writer) contactRows(cp *contactPlan, emit func([]any)) {
	emit([]any{[16]byte(cp.id), [16]byte(w.channels[cp.channel]), cp.platformUserID, cp.name, cp.email, cp.phone, optTS(cp.firstIn),
		optTS(cp.lastIn), int64(cp.inTotal), cp.online, ts(cp.lastSeen), ts(cp.createdAt), ts(cp.lastSeen)})
}

var sessionColumns = []string{"id", "channel_id", "contact_id", "team_id", "platform", "workflow_id", "status", "owner_id",
	"member_ids", "supporter_ids", "tags", "important", "in_count", "waiting_since", "window_expires_at", "snoozed_until",
	"first_response_at", "last_message_id", "last_activity_at", "opened_at", "closed_at", "close_status", "version", "updated_at"}

func (w *writer) sessionRows(cp *contactPlan, emit func([]any)) {
	ch := [16]byte(w.channels[cp.channel])
	platform := platforms[cp.channel%len(platforms)]
	wf := "session/" + w.channels[cp.channel].String() + "/" + cp.id.String()
	for i := range cp.sessions {
		sp := &cp.sessions[i]
		var team any
		if sp.team >= 0 {
			team = [16]byte(w.teams[sp.team])
		}
		tags := sp.tags
		if tags == nil {
			tags = []string{}
		}
		updated := sp.lastActivity
		if sp.closedAt != 0 {
			updated = sp.closedAt
		}
		emit([]any{[16]byte(sp.id), ch, [16]byte(cp.id), team, platform, wf, sp.status, w.agent(sp.owner),
			w.agentList(sp.members), w.agentList(sp.supporters), tags, sp.important, int32(sp.inCount),
			optTS(sp.waitingSince), optTS(sp.windowExpires), optTS(sp.snoozedUntil), optTS(sp.firstResponse),
			sp.lastMessageID, ts(sp.lastActivity), ts(sp.openedAt), optTS(sp.closedAt), sp.closeStatus, sp.version, ts(updated)})
	}
}

var messageColumns = []string{"id", "channel_id", "contact_id", "session_id", "direction", "text", "status",
	"failure_reason", "resendable", "sender_id", "automatic", "platform_message_id", "client_id", "sent_at", "created_at", "updated_at"}

func (w *writer) messageRows(cp *contactPlan, emit func([]any)) {
	ch := [16]byte(w.channels[cp.channel])
	contact := [16]byte(cp.id)
	for i := range cp.sessions {
		sp := &cp.sessions[i]
		sid := [16]byte(sp.id)
		recent := sp.status != "closed"
		for k, m := range sp.msgs {
			id := sp.firstMsgID + int64(k)
			var dir, status, reason string
			var platformID, clientID any
			resendable := false
			switch m.dir {
			case dirIn:
				dir, status = "in", "received"
				platformID = "seed-" + pad12(id)
			case dirOut:
				dir, status = "out", "seen"
				if recent && k == len(sp.msgs)-1 {
					status = "delivered"
				}
				if m.failed {
					status, reason, resendable = "failed", "rate_limited", true
				}
				if m.auto {
					clientID = "auto:" + strconv.FormatInt(id, 10)
				} else {
					clientID = "seed-" + strconv.FormatInt(id, 10)
				}
			default:
				dir, status = "note", "sent"
				clientID = "note:seed-" + strconv.FormatInt(id, 10)
			}
			at := ts(m.sentAt)
			emit([]any{id, ch, contact, sid, dir, w.g.messageText(id, m.dir, m.auto), status, reason, resendable,
				w.agent(m.sender), m.auto, platformID, clientID, at, at, at})
		}
	}
}

var eventColumns = []string{"session_id", "seq", "type", "actor_id", "data", "created_at"}

func (w *writer) eventRows(cp *contactPlan, emit func([]any)) {
	for i := range cp.sessions {
		sp := &cp.sessions[i]
		for k, e := range sp.events {
			data := e.data
			if data == "" {
				data = "{}"
			}
			emit([]any{[16]byte(sp.id), int32(k + 1), e.typ, w.agent(e.actor), []byte(data), ts(e.at)})
		}
	}
}

var readColumns = []string{"session_id", "agent_id", "read_in_count", "marked_unread", "updated_at"}

// readRows: every member of a session has read it (all of it when closed;
// an open session may have a couple of unread messages), a few marked it
// unread.
func (w *writer) readRows(cp *contactPlan, emit func([]any)) {
	for i := range cp.sessions {
		sp := &cp.sessions[i]
		for k, a := range sp.members {
			read := sp.inCount
			marked := false
			h := hash64(w.g.seed, sp.firstMsgID, uint64(k))
			if sp.status != "closed" {
				read = max(0, read-int(h%3))
			}
			marked = h%50 == 7
			emit([]any{[16]byte(sp.id), [16]byte(w.agents[a]), int32(read), marked, ts(sp.lastActivity)})
		}
	}
}

// pad12 keeps generated platform ids in numeric order as text, so their
// unique index is appended to rather than split all over.
func pad12(id int64) string {
	s := strconv.FormatInt(id, 10)
	const zeros = "000000000000"
	if len(s) < len(zeros) {
		s = zeros[len(s):] + s
	}
	return s
}

func hash64(seed uint64, a int64, b uint64) uint64 {
	x := seed ^ uint64(a)*0x9e3779b97f4a7c15 ^ b*0xbf58476d1ce4e5b9
	x ^= x >> 31
	x *= 0x94d049bb133111eb
	x ^= x >> 29
	return x
}
