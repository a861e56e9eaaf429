package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnichat/omnichat/bench/seed"
)

// queryResult is the inbox queries' figures.
type queryResult struct {
	Seeded      seed.Result
	ListP50     map[string]float64
	ListP99     map[string]float64
	MessagesP50 float64
	MessagesP99 float64
}

// measureQueries loads sessions and messages with COPY, then times every
// list filter of the contract and the message page through the API, as an
// admin (who sees everything) and as an agent (who sees their teams').
func measureQueries(ctx context.Context, pool *pgxpool.Pool, base string, sessions, reps int, logf func(string, ...any)) (queryResult, error) {
	res := queryResult{ListP50: map[string]float64{}, ListP99: map[string]float64{}}
	logf("seeding %d sessions, %d messages each on average (COPY)…", sessions, 10)
	seeded, err := seed.Load(ctx, pool, seed.Options{Sessions: sessions, MessagesPerSession: 10, Seed: 1, Vacuum: true})
	if err != nil {
		return res, fmt.Errorf("seed: %w", err)
	}
	res.Seeded = seeded
	logf("seeded %d sessions, %d messages, %d contacts in %s", seeded.Sessions, seeded.Messages, seeded.Contacts, seeded.Took.Round(time.Second))

	var admin, agent *seed.AgentRef
	for i := range seeded.Agents {
		a := &seeded.Agents[i]
		switch {
		case a.Role == "admin" && admin == nil:
			admin = a
		case a.Role == "agent" && len(a.Teams) > 0 && agent == nil:
			agent = a
		}
	}
	if admin == nil || agent == nil {
		return res, fmt.Errorf("seed: no admin or agent to sign in as")
	}
	asAdmin, err := login(ctx, base, admin.Email, admin.Password)
	if err != nil {
		return res, err
	}
	asAgent, err := login(ctx, base, agent.Email, agent.Password)
	if err != nil {
		return res, err
	}

	// A session to filter by: an owner, a tag and a contact name that exist.
	var sample struct {
		Items []struct {
			ID      string   `json:"id"`
			OwnerID *string  `json:"owner_id"`
			Tags    []string `json:"tags"`
			Contact struct {
				Name string `json:"name"`
			} `json:"contact"`
		} `json:"items"`
		NextCursor string `json:"next_cursor"`
	}
	if _, err := asAdmin.do(ctx, "GET", "/api/v1/sessions?limit=200", nil, &sample); err != nil {
		return res, err
	}
	owner, tag, name := "", "", ""
	for _, s := range sample.Items {
		if s.OwnerID != nil && owner == "" {
			owner = *s.OwnerID
		}
		if len(s.Tags) > 0 && tag == "" {
			tag = s.Tags[0]
		}
		if name == "" && len(s.Contact.Name) > 3 {
			name = s.Contact.Name[:4]
		}
	}
	filters := []struct {
		name  string
		who   *api
		query string
	}{
		{"default", asAgent, ""},
		{"default_admin", asAdmin, ""},
		{"status_rep_needed", asAgent, "status=rep_needed"},
		{"status_closed", asAgent, "status=closed"},
		{"status_closed_admin", asAdmin, "status=closed"},
		{"view_mine", asAgent, "view=mine"},
		{"view_joined", asAgent, "view=joined"},
		{"view_support", asAgent, "view=support"},
		{"view_unassigned", asAgent, "view=unassigned"},
		{"view_unanswered", asAgent, "view=unanswered"},
		{"view_team", asAgent, "view=team"},
		{"team_id", asAdmin, "team_id=" + seeded.Teams[0].String()},
		{"channel_id", asAgent, "channel_id=" + seeded.Channels[0].String()},
		{"owner_id", asAdmin, "owner_id=" + owner},
		{"tag", asAgent, "tag=" + url.QueryEscape(tag)},
		{"q", asAgent, "q=" + url.QueryEscape(name)},
	}
	for _, f := range filters {
		p50, p99, err := timeList(ctx, f.who, f.query, reps)
		if err != nil {
			return res, fmt.Errorf("%s: %w", f.name, err)
		}
		res.ListP50[f.name], res.ListP99[f.name] = p50, p99
		logf("  list %-20s p50 %6.2f ms  p99 %6.2f ms", f.name, p50, p99)
	}

	// Message pages, first and paged back, of sessions picked at random.
	msgs := &samples{}
	r := rand.New(rand.NewPCG(3, 5))
	for range reps {
		s := sample.Items[r.IntN(len(sample.Items))]
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		start := time.Now()
		if _, err := asAdmin.do(ctx, "GET", "/api/v1/sessions/"+s.ID+"/messages?limit=50", nil, &page); err != nil {
			return res, err
		}
		msgs.add(time.Since(start))
		if page.NextCursor != "" {
			start = time.Now()
			if _, err := asAdmin.do(ctx, "GET", "/api/v1/sessions/"+s.ID+"/messages?limit=50&before="+page.NextCursor, nil, nil); err != nil {
				return res, err
			}
			msgs.add(time.Since(start))
		}
	}
	res.MessagesP50, res.MessagesP99 = msgs.quantile(0.5), msgs.quantile(0.99)
	logf("  messages page            p50 %6.2f ms  p99 %6.2f ms", res.MessagesP50, res.MessagesP99)
	return res, nil
}

// timeList times a list query and, in the same measure, its second page.
func timeList(ctx context.Context, who *api, query string, reps int) (float64, float64, error) {
	s := &samples{}
	// Warm up: connections, plan caches.
	for range 5 {
		if _, err := who.do(ctx, "GET", "/api/v1/sessions?limit=50&"+query, nil, nil); err != nil {
			return 0, 0, err
		}
	}
	for i := range reps {
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		start := time.Now()
		if _, err := who.do(ctx, "GET", "/api/v1/sessions?limit=50&"+query, nil, &page); err != nil {
			return 0, 0, err
		}
		s.add(time.Since(start))
		if i%2 == 0 && page.NextCursor != "" {
			start = time.Now()
			if _, err := who.do(ctx, "GET", "/api/v1/sessions?limit=50&cursor="+page.NextCursor+"&"+query, nil, nil); err != nil {
				return 0, 0, err
			}
			s.add(time.Since(start))
		}
	}
	return s.quantile(0.5), s.quantile(0.99), nil
}
