package seed

import (
	"context"
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/db/dbtest"
)

func TestPlanIsDeterministic(t *testing.T) {
	g := &gen{seed: 42, now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixMicro(), sessions: 500, meanMessages: 10,
		agents: 20, teams: 3, channelCDF: []float64{0.5, 0.8, 1}, channelTeam: []int{0, 1, -1},
		teamPool: [][]int{{1, 2, 3}, {4, 5}, {6, 7, 8}}, allPool: []int{1, 2, 3, 4, 5, 6, 7, 8}, pOpen: 0.2}
	g.layout()
	for _, j := range []int{0, 7, g.contacts - 1} {
		a, b := g.contact(j), g.contact(j)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("contact %d planned twice differs", j)
		}
	}
	if got := int(g.sessStart[g.contacts]); got != 500 {
		t.Fatalf("layout has %d sessions, want 500", got)
	}
}

func TestLoadIsConsistent(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	o := Options{Sessions: 2000, MessagesPerSession: 8, Agents: 40, Seed: 7, Workers: 3}
	res, err := Load(ctx, pool, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d sessions, %d messages, %d contacts, %d events, %d reads in %s",
		res.Sessions, res.Messages, res.Contacts, res.Events, res.Reads, res.Took)
	if res.Sessions != 2000 || len(res.Agents) != 40 || len(res.Teams) != 5 || len(res.Channels) != 6 {
		t.Fatalf("result: %d sessions, %d agents, %d teams, %d channels", res.Sessions, len(res.Agents), len(res.Teams), len(res.Channels))
	}

	one := func(name, sql string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := pool.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	zero := func(name, sql string) {
		t.Helper()
		if n := one(name, sql); n != 0 {
			t.Errorf("%s: %d rows break it", name, n)
		}
	}

	if n := one("sessions", "SELECT count(*) FROM sessions"); n != 2000 {
		t.Errorf("sessions: %d", n)
	}
	if n := one("messages", "SELECT count(*) FROM messages"); n != int64(res.Messages) {
		t.Errorf("messages: %d in the table, %d reported", n, res.Messages)
	}
	if n := one("contacts", "SELECT count(*) FROM contacts"); n != int64(res.Contacts) {
		t.Errorf("contacts: %d in the table, %d reported", n, res.Contacts)
	}
	if n := one("events", "SELECT count(*) FROM session_events"); n != int64(res.Events) || n < 2*2000 {
		t.Errorf("events: %d in the table, %d reported", n, res.Events)
	}
	if res.Reads == 0 {
		t.Error("no session_reads")
	}
	// About MessagesPerSession messages per session.
	if avg := float64(res.Messages) / 2000; avg < 6.5 || avg > 9.5 {
		t.Errorf("%.1f messages per session, want about 8", avg)
	}

	zero("in_count = the session's inbound messages", `
		SELECT count(*) FROM sessions s
		WHERE s.in_count <> (SELECT count(*) FROM messages m WHERE m.session_id = s.id AND m.direction = 'in')`)
	zero("last_message_id is the session's newest message", `
		SELECT count(*) FROM sessions s
		LEFT JOIN messages lm ON lm.id = s.last_message_id
		WHERE lm.id IS NULL OR lm.session_id <> s.id
		   OR lm.id <> (SELECT max(id) FROM messages m WHERE m.session_id = s.id)
		   OR lm.sent_at <> (SELECT max(sent_at) FROM messages m WHERE m.session_id = s.id)
		   OR s.last_activity_at <> lm.sent_at`)
	zero("every message belongs to a session of its contact and channel", `
		SELECT count(*) FROM messages m
		LEFT JOIN sessions s ON s.id = m.session_id
		WHERE s.id IS NULL OR s.contact_id <> m.contact_id OR s.channel_id <> m.channel_id`)
	zero("a session's messages are in time order with their ids", `
		SELECT count(*) FROM (
			SELECT sent_at < lag(sent_at) OVER (PARTITION BY session_id ORDER BY id) AS back FROM messages
		) x WHERE back`)
	zero("a session's messages fall between its opening and closing", `
		SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id
		WHERE m.sent_at < s.opened_at OR m.sent_at > coalesce(s.closed_at, 'infinity')`)
	zero("contacts' totals and activity match their inbound messages", `
		SELECT count(*) FROM contacts c
		LEFT JOIN LATERAL (SELECT count(*) AS n, min(sent_at) AS first, max(sent_at) AS last
		                   FROM messages m WHERE m.contact_id = c.id AND m.direction = 'in') x ON true
		WHERE c.total_messages <> x.n OR c.first_active_at IS DISTINCT FROM x.first OR c.last_active_at IS DISTINCT FROM x.last`)
	zero("at most one open session per contact, its latest", `
		SELECT count(*) FROM sessions o
		WHERE o.status <> 'closed'
		  AND EXISTS (SELECT 1 FROM sessions s WHERE s.contact_id = o.contact_id AND s.id <> o.id
		              AND (s.status <> 'closed' OR s.opened_at > o.opened_at))`)
	zero("a contact's sessions do not overlap", `
		SELECT count(*) FROM sessions a JOIN sessions b ON a.contact_id = b.contact_id AND a.opened_at < b.opened_at
		WHERE a.closed_at IS NULL OR a.closed_at > b.opened_at`)
	zero("sessions carry their channel's platform and the workflow id", `
		SELECT count(*) FROM sessions s JOIN channels ch ON ch.id = s.channel_id
		WHERE s.platform <> ch.platform OR s.workflow_id <> 'session/' || s.channel_id || '/' || s.contact_id`)
	zero("status agrees with the session's state", `
		SELECT count(*) FROM sessions s WHERE
		   (s.status = 'closed') <> (s.closed_at IS NOT NULL)
		OR (s.status IN ('rep_needed', 'pending', 'soon', 'overdue') AND s.waiting_since IS NULL)
		OR (s.status = 'answered' AND s.waiting_since IS NOT NULL)
		OR (s.status = 'snoozed') <> (s.snoozed_until IS NOT NULL)
		OR (s.status = 'rep_needed' AND (s.owner_id IS NOT NULL OR cardinality(s.member_ids) > 0))
		OR (s.status = 'pending' AND s.owner_id IS NULL AND cardinality(s.member_ids) = 0)
		OR (s.owner_id IS NOT NULL AND NOT s.owner_id = ANY(s.member_ids))`)
	zero("waiting_since is the customer's oldest unanswered message", `
		SELECT count(*) FROM sessions s WHERE s.waiting_since IS DISTINCT FROM (
			SELECT min(m.sent_at) FROM messages m WHERE m.session_id = s.id AND m.direction = 'in'
			  AND m.id > coalesce((SELECT max(id) FROM messages o WHERE o.session_id = s.id
			                       AND o.direction = 'out' AND NOT o.automatic), 0))`)
	zero("agents' messages are sent by a member or supporter", `
		SELECT count(*) FROM messages m JOIN sessions s ON s.id = m.session_id
		WHERE (m.direction = 'note' OR (m.direction = 'out' AND NOT m.automatic))
		  AND (m.sender_id IS NULL OR NOT (m.sender_id = ANY(s.member_ids) OR m.sender_id = ANY(s.supporter_ids)))`)
	zero("events are numbered from 1 without gaps, opened first", `
		SELECT count(*) FROM sessions s
		LEFT JOIN LATERAL (SELECT count(*) AS n, max(seq) AS hi, min(seq) FILTER (WHERE type = 'session.opened') AS op
		                   FROM session_events e WHERE e.session_id = s.id) x ON true
		WHERE x.n = 0 OR x.hi <> x.n OR x.op <> 1`)
	zero("read states belong to members and never exceed in_count", `
		SELECT count(*) FROM session_reads r JOIN sessions s ON s.id = r.session_id
		WHERE NOT r.agent_id = ANY(s.member_ids) OR r.read_in_count > s.in_count`)

	// A realistic mix.
	open := one("open", "SELECT count(*) FROM sessions WHERE status <> 'closed'")
	if open < 120 || open > 300 {
		t.Errorf("%d open sessions of 2000, want about 10%%", open)
	}
	if n := one("open statuses", "SELECT count(DISTINCT status) FROM sessions WHERE status <> 'closed'"); n != 6 {
		t.Errorf("%d open statuses present, want all 6", n)
	}
	owned := one("owned open", "SELECT count(*) FROM sessions WHERE status <> 'closed' AND owner_id IS NOT NULL")
	if f := float64(owned) / float64(open); f < 0.45 || f > 0.75 {
		t.Errorf("%.2f of open sessions owned, want about 0.6", f)
	}
	if f := float64(one("tagged", "SELECT count(*) FROM sessions WHERE cardinality(tags) > 0")) / 2000; f < 0.25 || f > 0.35 {
		t.Errorf("%.2f of sessions tagged, want about 0.3", f)
	}
	if n := one("supported", "SELECT count(*) FROM sessions WHERE cardinality(supporter_ids) > 0"); n == 0 {
		t.Error("no session has supporters")
	}
	if n := one("repeat contacts", "SELECT count(*) FROM (SELECT contact_id FROM sessions GROUP BY 1 HAVING count(*) > 1) x"); n < 200 {
		t.Errorf("%d contacts with earlier sessions, want several hundred", n)
	}
	if n := one("unrouted", "SELECT count(*) FROM sessions WHERE team_id IS NULL"); n == 0 {
		t.Error("no session of an unrouted channel")
	}
	if n := one("recent open", "SELECT count(*) FROM sessions WHERE status <> 'closed' AND last_activity_at < now() - interval '4 days'"); n != 0 {
		t.Errorf("%d open sessions idle for more than 4 days", n)
	}
	if n := one("old", "SELECT count(*) FROM sessions WHERE last_activity_at < now() - interval '60 days'"); n < 300 {
		t.Errorf("%d sessions older than 60 days: activity is not spread over 90 days", n)
	}

	// ANALYZE ran: the planner has statistics.
	for _, tbl := range []string{"contacts", "sessions", "messages", "session_events", "session_reads"} {
		var reltuples float64
		if err := pool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", tbl).Scan(&reltuples); err != nil {
			t.Fatal(err)
		}
		if reltuples <= 0 {
			t.Errorf("%s: reltuples %v: not analyzed", tbl, reltuples)
		}
		if n := one("stats "+tbl, "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = $1", tbl); n == 0 {
			t.Errorf("%s: no column statistics", tbl)
		}
	}

	// The GIN indexes are back to their migrated settings.
	if n := one("gin settings", `SELECT count(*) FROM pg_class c JOIN pg_am am ON am.oid = c.relam
		WHERE am.amname = 'gin' AND c.relname IN ('contacts_name_trgm_idx', 'sessions_open_members_idx')
		  AND 'fastupdate=off' = ANY(c.reloptions)`); n != 2 {
		t.Errorf("%d of 2 GIN indexes have fastupdate=off after the load", n)
	}

	// The identity sequence is past the seeded ids: the app's next message
	// does not collide.
	q := dbsqlc.New()
	var contactID, channelID [16]byte
	if err := pool.QueryRow(ctx, "SELECT id, channel_id FROM contacts LIMIT 1").Scan(&contactID, &channelID); err != nil {
		t.Fatal(err)
	}
	pid := "after-seed"
	m, err := q.MessageInsertInbound(ctx, pool, dbsqlc.MessageInsertInboundParams{
		ChannelID: channelID, ContactID: contactID, Text: "hi", Attachments: []byte("[]"), PlatformMessageID: &pid, SentAt: time.Now(),
	})
	if err != nil {
		t.Fatalf("inserting a message after the seed: %v", err)
	}
	if hi := one("max id", "SELECT max(id) FROM messages WHERE platform_message_id IS DISTINCT FROM 'after-seed'"); m.ID <= hi {
		t.Errorf("new message id %d is not past the seeded ones (max %d)", m.ID, hi)
	}

	// Agents can sign in with the known password.
	a, err := q.AgentGetByEmail(ctx, pool, res.Agents[0].Email)
	if err != nil {
		t.Fatal(err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(res.Agents[0].Password)); err != nil {
		t.Errorf("agent %s: password: %v", a.Email, err)
	}
	roles := map[string]int{}
	for _, a := range res.Agents {
		roles[a.Role]++
		if len(a.Teams) == 0 {
			t.Errorf("agent %s is in no team", a.Email)
		}
	}
	if roles["admin"] == 0 || roles["supervisor"] == 0 || roles["agent"] < 30 {
		t.Errorf("roles: %v", roles)
	}

	// A second load into the same database is refused.
	if _, err := Load(ctx, pool, o); err == nil {
		t.Error("a second Load into a loaded database succeeded")
	}
}
