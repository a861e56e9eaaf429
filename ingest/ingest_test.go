package ingest

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/channel"
	"github.com/omnichat/omnichat/db/dbsqlc"
	"github.com/omnichat/omnichat/db/dbtest"
)

func newService(t testing.TB) (*Service, dbsqlc.Channel) {
	pool := dbtest.New(t)
	q := dbsqlc.New()
	ch, err := q.ChannelCreate(context.Background(), pool, dbsqlc.ChannelCreateParams{Platform: "whatsapp", Name: "t", Settings: []byte(`{}`)})
	require.NoError(t, err)
	return &Service{Pool: pool, Queries: q}, ch
}

// store is the durable half of Receive: a message is stored once, the
// contact's counters move once, whatever the repetitions and races.
func TestStoreOnceUnderConcurrentRepeats(t *testing.T) {
	s, ch := newService(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make(chan Result, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.store(ctx, Inbound{ChannelID: ch.ID, Platform: channel.WhatsApp, ContactPlatformID: "447700900001", ContactName: "Nia", PlatformMessageID: "wamid.1", Text: "hi", SentAt: time.Now()})
			require.NoError(t, err)
			results <- r
		}()
	}
	wg.Wait()
	close(results)
	fresh := 0
	var id int64
	for r := range results {
		if !r.Duplicate {
			fresh++
		}
		if id == 0 {
			id = r.Message.ID
		}
		require.Equal(t, id, r.Message.ID)
	}
	require.Equal(t, 1, fresh, "one delivery stores it; the others find it")
	c, err := s.Queries.ContactGetByPlatformID(ctx, s.Pool, dbsqlc.ContactGetByPlatformIDParams{ChannelID: ch.ID, PlatformUserID: "447700900001"})
	require.NoError(t, err)
	require.Equal(t, int64(1), c.TotalMessages)
	require.Equal(t, "Nia", c.Name)
}

// BenchmarkStore is the database half of taking a message in: contact,
// message and counters in one transaction, as the webhook handler does it.
func BenchmarkStore(b *testing.B) {
	s, ch := newService(b)
	ctx := context.Background()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			n++
			id := strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.Itoa(n)
			if _, err := s.store(ctx, Inbound{ChannelID: ch.ID, Platform: channel.WhatsApp, ContactPlatformID: "c" + strconv.Itoa(n%500), PlatformMessageID: id, Text: "hello", SentAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
