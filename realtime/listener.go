package realtime

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/omnichat/omnichat/db/dbsqlc"
)

// Reset is a synthetic notification a Listener hands over after it
// reconnects: changes made while it was away were not heard, so streams
// tell their clients to reload.
const Reset = "stream.reset"

// Listener holds one connection that LISTENs for notifications and hands
// each to a handler, reconnecting with backoff when the connection drops.
type Listener struct {
	Pool *pgxpool.Pool
	Log  *slog.Logger

	listening atomic.Bool
}

// Listening reports whether the listener's connection is up.
func (l *Listener) Listening() bool { return l.listening.Load() }

// Run listens until ctx ends, calling handle for every notification in
// commit order. handle runs on Run's goroutine and must not block for long.
func (l *Listener) Run(ctx context.Context, handle func(Notification)) error {
	backoff := 100 * time.Millisecond
	first := true
	for ctx.Err() == nil {
		err := l.listen(ctx, func() {
			backoff = 100 * time.Millisecond
			if !first {
				handle(Notification{Type: Reset})
			}
			first = false
		}, handle)
		l.listening.Store(false)
		if ctx.Err() != nil {
			break
		}
		l.Log.Warn("event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (l *Listener) listen(ctx context.Context, up func(), handle func(Notification)) error {
	conn, err := l.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The connection stays in LISTEN state: it never goes back to the pool.
	pg := conn.Hijack()
	defer pg.Close(context.Background())
	if err := dbsqlc.New().Listen(ctx, pg); err != nil {
		return err
	}
	l.listening.Store(true)
	up()
	for {
		n, err := pg.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var ev Notification
		if err := json.Unmarshal([]byte(n.Payload), &ev); err != nil {
			l.Log.Warn("unreadable notification", "payload", n.Payload, "err", err)
			continue
		}
		handle(ev)
	}
}
