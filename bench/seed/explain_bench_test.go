package seed

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// legacySessionList is SessionList as it was before the list queries were
// split and indexed (db/queries/sessions.sql at ee40df7): the baseline the
// benchmark compares against.
const legacySessionList = `-- name: SessionList :many
SELECT
    s.id, s.channel_id, s.contact_id, s.team_id, s.platform, s.workflow_id, s.status, s.owner_id, s.member_ids, s.supporter_ids, s.tags, s.important, s.in_count, s.waiting_since, s.window_expires_at, s.snoozed_until, s.first_response_at, s.last_message_id, s.last_activity_at, s.opened_at, s.closed_at, s.close_status, s.version, s.updated_at,
    c.id, c.channel_id, c.platform_user_id, c.name, c.email, c.phone, c.avatar_url, c.first_active_at, c.last_active_at, c.total_messages, c.online, c.last_seen_at, c.created_at, c.updated_at,
    lm.direction AS last_direction,
    lm.text AS last_text,
    lm.sent_at AS last_sent_at,
    lm.sender_id AS last_sender_id,
    (CASE WHEN r.marked_unread THEN GREATEST(1, s.in_count - coalesce(r.read_in_count, 0))
          ELSE GREATEST(0, s.in_count - coalesce(r.read_in_count, 0)) END)::integer AS unread
FROM sessions s
JOIN contacts c ON c.id = s.contact_id
LEFT JOIN messages lm ON lm.id = s.last_message_id
LEFT JOIN session_reads r ON r.session_id = s.id AND r.agent_id = $1
WHERE ($2::bool
       OR s.team_id IS NULL
       OR s.team_id = ANY($3::uuid[])
       OR s.owner_id = $1
       OR $1 = ANY(s.member_ids)
       OR $1 = ANY(s.supporter_ids))
  AND (CASE WHEN cardinality($4::text[]) = 0 THEN s.status <> 'closed'
            ELSE s.status = ANY($4::text[]) END)
  AND (CASE $5::text
         WHEN 'mine' THEN s.owner_id = $1
         WHEN 'joined' THEN s.owner_id = $1 OR $1 = ANY(s.member_ids)
         WHEN 'support' THEN $1 = ANY(s.supporter_ids)
         WHEN 'unassigned' THEN s.owner_id IS NULL AND cardinality(s.member_ids) = 0
         WHEN 'unanswered' THEN s.waiting_since IS NOT NULL
         WHEN 'team' THEN s.team_id = ANY($6::uuid[])
         ELSE true END)
  AND ($7::uuid IS NULL OR s.team_id = $7)
  AND ($8::uuid IS NULL OR s.channel_id = $8)
  AND ($9::uuid IS NULL OR s.owner_id = $9)
  AND ($10::text IS NULL OR s.tags @> ARRAY[$10::text])
  AND ($11::text IS NULL
       OR c.name ILIKE '%' || $11 || '%'
       OR c.email ILIKE '%' || $11 || '%'
       OR c.phone ILIKE '%' || $11 || '%')
  AND (s.last_activity_at, s.id) < ($12::timestamptz, $13::uuid)
ORDER BY s.last_activity_at DESC, s.id DESC
LIMIT $14
`

// legacyArgs builds the legacy query's arguments as api.listSessions did.
func legacyArgs(who *subject, vals url.Values) []any {
	all := who.role == "admin" || who.role == "supervisor"
	teams := who.teams
	if teams == nil {
		teams = []uuid.UUID{}
	}
	statuses := []string{}
	if v := vals.Get("status"); v != "" {
		statuses = strings.Split(v, ",")
	}
	view := vals.Get("view")
	if view == "" {
		view = "all"
	}
	nu := func(k string) uuid.NullUUID {
		if v := vals.Get(k); v != "" {
			return uuid.NullUUID{UUID: uuid.MustParse(v), Valid: true}
		}
		return uuid.NullUUID{}
	}
	team, channel, owner := nu("team_id"), nu("channel_id"), nu("owner_id")
	viewTeams := []uuid.UUID{}
	if view == "team" {
		viewTeams = teams
		if team.Valid {
			viewTeams = []uuid.UUID{team.UUID}
		}
	}
	str := func(k string) *string {
		if v := vals.Get(k); v != "" {
			return &v
		}
		return nil
	}
	before, beforeID := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), uuid.Max
	if c := vals.Get("cursor"); c != "" {
		before, beforeID = decodeCursor(c)
	}
	return []any{who.id, all, teams, statuses, view, viewTeams, team, channel, owner, str("tag"), str("q"), before, beforeID, int32(51)}
}

// decodeCursor reads the API's session cursor (base64url of "µs|id").
func decodeCursor(c string) (time.Time, uuid.UUID) {
	b, err := base64RawURL(c)
	if err != nil {
		panic(err)
	}
	ts, id, _ := strings.Cut(string(b), "|")
	var us int64
	fmt.Sscan(ts, &us) //nolint:errcheck
	return time.UnixMicro(us), uuid.MustParse(id)
}

// literal renders an argument as SQL, for EXECUTE.
func literal(v any) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	switch x := v.(type) {
	case nil:
		return "NULL"
	case uuid.UUID:
		return q(x.String()) + "::uuid"
	case uuid.NullUUID:
		if !x.Valid {
			return "NULL::uuid"
		}
		return q(x.UUID.String()) + "::uuid"
	case bool:
		return fmt.Sprint(x)
	case int32, int64, int:
		return fmt.Sprint(x)
	case string:
		return q(x)
	case *string:
		if x == nil {
			return "NULL::text"
		}
		return q(*x)
	case time.Time:
		return q(x.UTC().Format(time.RFC3339Nano)) + "::timestamptz"
	case []uuid.UUID:
		if x == nil {
			return "NULL::uuid[]"
		}
		s := make([]string, len(x))
		for i, u := range x {
			s[i] = u.String()
		}
		return q("{"+strings.Join(s, ",")+"}") + "::uuid[]"
	case []string:
		return q("{"+strings.Join(x, ",")+"}") + "::text[]"
	}
	panic(fmt.Sprintf("literal: %T", v))
}

// explain runs EXPLAIN (ANALYZE, BUFFERS) of sql with args, planned for
// these values (custom) or without them (generic).
func explain(ctx context.Context, pool *pgxpool.Pool, sql string, args []any, generic bool) (string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	// Warm the cache first, as the timed runs are.
	for range 2 {
		rows, err := conn.Query(ctx, sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...)
		if err != nil {
			return "", err
		}
		rows.Close()
	}
	var text []string
	collect := func(rows pgx.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			text = append(text, line)
		}
		return rows.Err()
	}
	if !generic {
		err = collect(conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, append([]any{pgx.QueryExecModeDescribeExec}, args...)...))
		return strings.Join(text, "\n"), err
	}
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan; SET statement_timeout = '20s'"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "RESET plan_cache_mode; RESET statement_timeout; DEALLOCATE bench_q") //nolint:errcheck
	if _, err := conn.Exec(ctx, "PREPARE bench_q AS "+sql); err != nil {
		return "", err
	}
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(a)
	}
	err = collect(conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q("+strings.Join(lits, ", ")+")", pgx.QueryExecModeSimpleProtocol))
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" {
		// Cancelled by statement_timeout: show the plan without running it.
		text = []string{"(did not finish in 20 s; the plan, not run:)"}
		err = collect(conn.Query(ctx, "EXPLAIN EXECUTE bench_q("+strings.Join(lits, ", ")+")", pgx.QueryExecModeSimpleProtocol))
		text = append(text, "Execution Time: > 20000 ms")
	}
	return strings.Join(text, "\n"), err
}

// TestBenchExplain prints the plans of the legacy list query for every case
// (OMNICHAT_BENCH_EXPLAIN_LEGACY=1) or of the current ones.
func TestBenchExplain(t *testing.T) {
	name := benchDB(t)
	ctx := context.Background()
	migrateBench(ctx, t, name)
	pool := benchPool(ctx, t, name, "")
	defer pool.Close()
	f := loadFixture(t, ctx, pool)
	filter := os.Getenv("OMNICHAT_BENCH_CASE")
	if filter == "" || strings.Contains("messages", filter) {
		explainTimeline(ctx, t, pool, f.midSession)
	}
	for _, c := range f.cases() {
		if c.path != "" || c.page2 || (filter != "" && !strings.Contains(c.name+" "+c.who.label, filter)) {
			continue
		}
		sql, args := planFor(t, ctx, pool, c)
		for _, generic := range []bool{false, true} {
			if generic && os.Getenv("OMNICHAT_BENCH_EXPLAIN_GENERIC") == "0" {
				continue
			}
			plan, err := explain(ctx, pool, sql, args, generic)
			if err != nil {
				t.Fatalf("%s / %s: %v", c.name, c.who.label, err)
			}
			kind := "custom"
			if generic {
				kind = "generic"
			}
			fmt.Printf("\n#### %s — %s — %s plan\n\n%s\n", c.name, c.who.label, kind, plan)
		}
	}
}

func base64RawURL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// planFor is the SQL and arguments the API runs for a case: the legacy
// query with OMNICHAT_BENCH_EXPLAIN_LEGACY=1, else today's SessionList (read
// from the generated code; its parameters are the legacy ones).
func planFor(t *testing.T, ctx context.Context, pool *pgxpool.Pool, c listCase) (string, []any) {
	if os.Getenv("OMNICHAT_BENCH_EXPLAIN_LEGACY") == "1" {
		return legacySessionList, legacyArgs(c.who, c.vals)
	}
	args := legacyArgs(c.who, c.vals)
	// As api.listSessions: contact_ids goes before q; a search term first
	// looks for its contacts.
	var contactIDs *string
	if q := args[10].(*string); q != nil {
		var est int64
		if err := pool.QueryRow(ctx, "SELECT contacts_search_estimate($1)", *q).Scan(&est); err != nil {
			t.Fatal(err)
		}
		if est <= searchFewContacts {
			var n int64
			var ids string
			if err := pool.QueryRow(ctx, generatedSQL(t, "sessionListSearchContacts"), pgx.QueryExecModeDescribeExec, *q, int32(searchContactsCap+1)).Scan(&n, &ids); err != nil {
				t.Fatal(err)
			}
			if n <= searchContactsCap {
				contactIDs, args[10] = &ids, (*string)(nil)
			}
		}
	}
	out := append(append(append([]any{}, args[:10]...), contactIDs), args[10:]...)
	return generatedSQL(t, "sessionList"), out
}

// As api.searchFewContacts and api.searchContactsCap.
const (
	searchFewContacts = 8000
	searchContactsCap = 20000
)

func generatedSQL(t *testing.T, name string) string {
	start := "const " + name + " = `"
	for _, file := range []string{"sessions.sql.go", "messages.sql.go"} {
		b, err := os.ReadFile("../../db/dbsqlc/" + file)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		if i := strings.Index(src, start); i >= 0 {
			rest := src[i+len(start):]
			return rest[:strings.Index(rest, "`")]
		}
	}
	t.Fatal(name + " not found in the generated code")
	return ""
}

// explainTimeline explains MessageTimeline as api.listMessages runs it for a
// session in the middle of a long history: the first page and the one before
// its oldest message.
func explainTimeline(ctx context.Context, t *testing.T, pool *pgxpool.Pool, session uuid.UUID) {
	var contact uuid.UUID
	var status string
	var opened time.Time
	if err := pool.QueryRow(ctx, "SELECT contact_id, status, opened_at FROM sessions WHERE id = $1", session).Scan(&contact, &status, &opened); err != nil {
		t.Fatal(err)
	}
	sql := generatedSQL(t, "messageTimeline")
	args := []any{contact, uuid.NullUUID{UUID: session, Valid: true}, status != "closed", opened,
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), int64(1<<63 - 1), int32(51)}
	var at time.Time
	var id int64
	if err := pool.QueryRow(ctx, "SELECT sent_at, id FROM ("+sql+") m OFFSET 49 LIMIT 1", args...).Scan(&at, &id); err != nil {
		t.Fatal(err)
	}
	page2 := append(append([]any{}, args[:4]...), at, id, int32(51))
	for i, a := range [][]any{args, page2} {
		for _, generic := range []bool{false, true} {
			plan, err := explain(ctx, pool, sql, a, generic)
			if err != nil {
				t.Fatal(err)
			}
			kind := "custom"
			if generic {
				kind = "generic"
			}
			fmt.Printf("\n#### messages (mid-history session) page %d — %s plan\n\n%s\n", i+1, kind, plan)
		}
	}
}
