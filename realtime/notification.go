// Package realtime carries changes from the writers (the ingest path, the
// workflows' activities, the API) to every API replica's event streams,
// through Postgres NOTIFY: no broker beyond the database.
package realtime

import (
	"context"
	"encoding/json"

	"github.com/omnichat/omnichat/db/dbsqlc"
)

// Channel is the Postgres notification channel.
const Channel = "omnichat_events"

// Event types, as agents' and visitors' streams name them.
const (
	MessageCreated = "message.created"
	MessageUpdated = "message.updated"
	SessionUpdated = "session.updated"
	SessionWarning = "session.warning"
	SessionOffered = "session.offered"
	SupportInvited = "support.invited"
)

// Notification names what changed, never the content: NOTIFY payloads are
// capped at 8000 bytes and every one serialises commits database-wide, so
// they stay small and listeners load the object themselves.
type Notification struct {
	Type      string `json:"t"`
	SessionID string `json:"s,omitempty"`
	MessageID int64  `json:"m,omitempty"`
	ContactID string `json:"c,omitempty"`
	ChannelID string `json:"ch,omitempty"`
	AgentID   string `json:"a,omitempty"`
	Level     string `json:"l,omitempty"`
}

// Publish queues n on the transaction (or connection) q runs on; listeners
// hear it when the transaction commits.
func Publish(ctx context.Context, q *dbsqlc.Queries, db dbsqlc.DBTX, n Notification) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return q.Notify(ctx, db, string(b))
}
