package seed

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "RESET plan_cache_mode; DEALLOCATE ALL") //nolint:errcheck
	if _, err := conn.Exec(ctx, "PREPARE bench_q AS "+sql); err != nil {
		return "", err
	}
	lits := make([]string, len(args))
	for i, a := range args {
		lits[i] = literal(a)
	}
	err = collect(conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q("+strings.Join(lits, ", ")+")", pgx.QueryExecModeSimpleProtocol))
	return strings.Join(text, "\n"), err
}

// TestBenchExplain prints the plans of the legacy list query for every case
// (OMNICHAT_BENCH_EXPLAIN_LEGACY=1) or of the current ones.
func TestBenchExplain(t *testing.T) {
	name := benchDB(t)
	ctx := context.Background()
	pool := benchPool(ctx, t, name, "")
	defer pool.Close()
	f := loadFixture(t, ctx, pool)
	filter := os.Getenv("OMNICHAT_BENCH_CASE")
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
	return currentSessionList(t), legacyArgs(c.who, c.vals)
}

func currentSessionList(t *testing.T) string {
	b, err := os.ReadFile("../../db/dbsqlc/sessions.sql.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	const start = "const sessionList = `"
	i := strings.Index(src, start)
	if i < 0 {
		t.Fatal("sessionList not found in the generated code")
	}
	rest := src[i+len(start):]
	return rest[:strings.Index(rest, "`")]
}
