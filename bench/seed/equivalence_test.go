package seed

import (
	"context"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/db/dbtest"
)

// TestSessionListMatchesLegacy checks on seeded data that SessionList returns
// exactly what it returned before it was rewritten for speed, for every
// caller shape, view and filter, page after page: with q as a filter (the
// walk for common terms) and with q resolved to its contacts first (as
// api.listSessions does for rare ones).
func TestSessionListMatchesLegacy(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	if _, err := Load(ctx, pool, Options{Sessions: 3000, Agents: 30, Seed: 3, OpenFraction: 0.3}); err != nil {
		t.Fatal(err)
	}
	f := loadFixture(t, ctx, pool)
	var someTeam, someOwner, someChannel uuid.UUID
	var name string
	for sql, dst := range map[string]any{
		"SELECT team_id FROM sessions WHERE team_id IS NOT NULL ORDER BY id LIMIT 1":   &someTeam,
		"SELECT owner_id FROM sessions WHERE owner_id IS NOT NULL ORDER BY id LIMIT 1": &someOwner,
		"SELECT channel_id FROM sessions ORDER BY id LIMIT 1":                          &someChannel,
		"SELECT name FROM contacts WHERE name <> '' ORDER BY id LIMIT 1":               &name,
	} {
		if err := pool.QueryRow(ctx, sql).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	v := func(kv ...string) url.Values {
		out := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	variants := []url.Values{
		v(), v("status", "rep_needed"), v("status", "closed"), v("status", "pending,answered,closed"),
		v("view", "mine"), v("view", "joined"), v("view", "support"), v("view", "unassigned"),
		v("view", "unanswered"), v("view", "team"), v("view", "team", "team_id", someTeam.String()),
		v("team_id", someTeam.String()), v("channel_id", someChannel.String()), v("owner_id", someOwner.String()),
		v("tag", Tags[0]), v("tag", Tags[len(Tags)-1]), v("tag", "no-such-tag"),
		v("q", name), v("q", lastNames[0]), v("q", "an"), v("q", "@"), v("q", "+4"), v("q", "zzzz-nothing"),
		v("status", "closed", "view", "joined"), v("status", "closed", "q", lastNames[1]),
		v("view", "unassigned", "tag", Tags[1]), v("view", "mine", "status", "closed", "tag", Tags[0]),
	}
	// Every team and channel, so that agents also filter by ones outside
	// their teams (where api.listSessions narrows to their own sessions).
	for key, sql := range map[string]string{
		"team_id":    "SELECT DISTINCT team_id::text FROM sessions WHERE team_id IS NOT NULL",
		"channel_id": "SELECT id::text FROM channels",
	} {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		all, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range all {
			variants = append(variants, v(key, id), v(key, id, "status", "closed"))
		}
	}
	q := dbsqlc.New()
	compared, personal, gathered := 0, 0, 0
	for _, who := range []*subject{f.admin, f.agent2, f.agent1} {
		for _, vals := range variants {
			cursor := ""
			for page := 0; page < 4; page++ {
				vv := url.Values{}
				for k, x := range vals {
					vv[k] = x
				}
				if cursor != "" {
					vv.Set("cursor", cursor)
				}
				args := legacyArgs(who, vv)
				args[13] = int32(26) // pages of 25 and one more
				want := legacyIDs(t, ctx, pool, args)

				p := newParams(args)
				got := ids(t, ctx, q, pool, p)
				if !slices.Equal(got, want) {
					t.Fatalf("%s %s page %d: SessionList gives %d rows, the legacy query %d\n got  %v\n want %v", who.label, vv.Encode(), page, len(got), len(want), got, want)
				}
				if !p.AllAccess && p.TeamID.Valid && !slices.Contains(p.TeamIds, p.TeamID.UUID) {
					pp := p
					pp.Personal = true
					if got := ids(t, ctx, q, pool, pp); !slices.Equal(got, want) {
						t.Fatalf("%s %s page %d: narrowed to own sessions %d rows, the legacy query %d", who.label, vv.Encode(), page, len(got), len(want))
					}
					personal++
				}
				if !p.AllAccess && p.ChannelID.Valid {
					// Gathering and sorting (what the API does when the agent sees
					// few of the channel's sessions) must list the same.
					pp := p
					pp.Gather = true
					if got := ids(t, ctx, q, pool, pp); !slices.Equal(got, want) {
						t.Fatalf("%s %s page %d: gathered %d rows, the legacy query %d", who.label, vv.Encode(), page, len(got), len(want))
					}
					gathered++
				}
				if p.Q != nil {
					var contacts []uuid.UUID
					rows, err := pool.Query(ctx, "SELECT id FROM contacts WHERE name ILIKE '%' || $1 || '%' OR email ILIKE '%' || $1 || '%' OR phone ILIKE '%' || $1 || '%'", *p.Q)
					if err != nil {
						t.Fatal(err)
					}
					contacts, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
					if err != nil {
						t.Fatal(err)
					}
					m, err := q.SessionListSearchContacts(ctx, pool, dbsqlc.SessionListSearchContactsParams{Q: *p.Q, Lim: 1 << 30})
					if err != nil {
						t.Fatal(err)
					}
					var viaContacts []uuid.UUID
					if err := pool.QueryRow(ctx, "SELECT $1::text::uuid[]", m.Ids).Scan(&viaContacts); err != nil {
						t.Fatal(err)
					}
					slices.SortFunc(contacts, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
					slices.SortFunc(viaContacts, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
					if !slices.Equal(contacts, viaContacts) || int(m.Matches) != len(contacts) {
						t.Fatalf("q=%s: SessionListSearchContacts finds %d contacts (%d ids), ILIKE %d", *p.Q, m.Matches, len(viaContacts), len(contacts))
					}
					p.ContactIds, p.Q = &m.Ids, nil
					if got := ids(t, ctx, q, pool, p); !slices.Equal(got, want) {
						t.Fatalf("%s %s page %d: by contact ids %d rows, the legacy query %d", who.label, vv.Encode(), page, len(got), len(want))
					}
				}
				compared++
				if len(want) < 26 {
					break
				}
				last := want[24]
				cursor = cursorOf(t, ctx, pool, last)
			}
		}
	}
	if personal == 0 || gathered == 0 {
		t.Fatalf("pages narrowed to an agent's own sessions: %d, gathered: %d; want some of both", personal, gathered)
	}
	t.Logf("%d pages compared (%d also narrowed to the agent's own sessions, %d also gathered)", compared, personal, gathered)
}

func legacyIDs(t *testing.T, ctx context.Context, pool *pgxpool.Pool, args []any) []uuid.UUID {
	t.Helper()
	rows, err := pool.Query(ctx, legacySessionList, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, uuid.UUID(vals[0].([16]byte)))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func newParams(a []any) dbsqlc.SessionListParams {
	return dbsqlc.SessionListParams{
		AgentID: a[0].(uuid.UUID), AllAccess: a[1].(bool), TeamIds: a[2].([]uuid.UUID), Statuses: a[3].([]string),
		View: a[4].(string), ViewTeamIds: a[5].([]uuid.UUID), TeamID: a[6].(uuid.NullUUID), ChannelID: a[7].(uuid.NullUUID),
		OwnerID: a[8].(uuid.NullUUID), Tag: a[9].(*string), Q: a[10].(*string), BeforeActivityAt: a[11].(time.Time),
		BeforeID: a[12].(uuid.UUID), Lim: a[13].(int32),
	}
}

func ids(t *testing.T, ctx context.Context, q *dbsqlc.Queries, pool *pgxpool.Pool, p dbsqlc.SessionListParams) []uuid.UUID {
	t.Helper()
	rows, err := q.SessionList(ctx, pool, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []uuid.UUID
	for _, r := range rows {
		out = append(out, r.Session.ID)
	}
	return out
}

// cursorOf is the API's cursor after the given session.
func cursorOf(t *testing.T, ctx context.Context, pool *pgxpool.Pool, id uuid.UUID) string {
	t.Helper()
	var at time.Time
	if err := pool.QueryRow(ctx, "SELECT last_activity_at FROM sessions WHERE id = $1", id).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "|" + id.String()))
}
