package app

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/ingest"
	"github.com/omnichat/omnichat/workflows"
)

// Two deliveries of one message at once store it once and count it once.
func TestConcurrentDuplicateDeliveries(t *testing.T) {
	st := startStack(t)
	ctx := context.Background()
	q := dbsqlc.New()
	svc := &ingest.Service{Pool: st.Pool, Queries: q, Temporal: st.Temporal, TaskQueue: workflows.TaskQueue}
	chID := uuid.MustParse(st.WebChatChannelID)
	const deliveries = 8
	for round := range 5 {
		pmid := "dup-" + uuid.NewString()
		user := "dup-user-" + uuid.NewString()
		ids := make(chan int64, deliveries)
		var wg sync.WaitGroup
		for range deliveries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := svc.Receive(ctx, ingest.Inbound{
					ChannelID: chID, Platform: channel.WebChat, ContactPlatformID: user, ContactName: "Ida",
					PlatformMessageID: pmid, Text: "once", SentAt: time.Now(),
				})
				require.NoError(t, err)
				ids <- res.Message.ID
			}()
		}
		wg.Wait()
		close(ids)
		var first int64
		for id := range ids {
			if first == 0 {
				first = id
			}
			require.Equal(t, first, id, "round %d: every delivery answers with the one stored message", round)
		}
		m, err := q.MessageGet(ctx, st.Pool, first)
		require.NoError(t, err)
		var s dbsqlc.Session
		eventually(t, 20*time.Second, "the session", func() bool {
			s, err = q.SessionLatestByContact(ctx, st.Pool, m.ContactID)
			return err == nil && s.InCount > 0
		})
		contact, err := q.ContactGet(ctx, st.Pool, m.ContactID)
		require.NoError(t, err)
		require.Equal(t, int64(1), contact.TotalMessages)
		require.Equal(t, int32(1), s.InCount)
	}
}

// A message racing a close is never lost: it lands in the closing session
// (when it came first) or opens the next one, and is always adopted.
func TestCloseRacesNewMessage(t *testing.T) {
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	ctx := context.Background()
	q := dbsqlc.New()
	for round := range 8 {
		v := st.visitor(t, st.WebChatChannelID, "Racer")
		var m1 messageView
		require.Equal(t, http.StatusCreated, v.do("POST", "/widget/v1/messages", map[string]string{"text": "first"}, &m1))
		var sid string
		eventually(t, 20*time.Second, "the session", func() bool {
			m, err := q.MessageGet(ctx, st.Pool, mustInt(m1.ID))
			if err == nil && m.SessionID.Valid {
				sid = m.SessionID.UUID.String()
			}
			return sid != ""
		})
		var m2 messageView
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/done", nil, nil))
		}()
		go func() {
			defer wg.Done()
			require.Equal(t, http.StatusCreated, v.do("POST", "/widget/v1/messages", map[string]string{"text": "racing"}, &m2))
		}()
		wg.Wait()
		var adopted dbsqlc.Message
		eventually(t, 20*time.Second, "the racing message adopted", func() bool {
			var err error
			adopted, err = q.MessageGet(ctx, st.Pool, mustInt(m2.ID))
			return err == nil && adopted.SessionID.Valid
		})
		closed := admin.waitStatus(sid, workflows.StatusClosed)
		if adopted.SessionID.UUID.String() == sid {
			require.Equal(t, 2, closed.Contact.TotalMessages, "round %d", round)
			continue
		}
		next := admin.session(adopted.SessionID.UUID.String())
		require.NotEqual(t, workflows.StatusClosed, next.Status, "round %d: the message opened a live session", round)
	}
}

func mustInt(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}
