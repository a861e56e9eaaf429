package app

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/omnichat/omnichat/workflows"
)

// TestRecordSessionHistory records a real session's history for the replay
// test in workflows/testdata. It runs only when asked:
//
//	OMNICHAT_RECORD_HISTORY=1 go test ./app -run TestRecordSessionHistory
//
// Record a new history whenever the workflow changes in a way that old
// histories must still replay (and keep the old ones).
func TestRecordSessionHistory(t *testing.T) {
	if os.Getenv("OMNICHAT_RECORD_HISTORY") == "" {
		t.Skip("set OMNICHAT_RECORD_HISTORY=1 to record a history")
	}
	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	var ch struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{
		"platform": "webchat", "name": "Recorded",
		"settings": map[string]any{"warn_after_seconds": 1, "overdue_after_seconds": 2, "greeting": "Hello! An agent will be with you shortly.", "auto_reply_after_seconds": 3, "auto_reply_text": "Still here, thanks for waiting."},
	}, &ch))
	visitor := st.visitor(t, ch.ID, "Recorded visitor")
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "hello", "client_id": "m1"}, nil))
	var sessions []sessionView
	eventually(t, 20*time.Second, "the session", func() bool { sessions = admin.sessions(""); return len(sessions) == 1 })
	sid := sessions[0].ID
	admin.waitStatus(sid, workflows.StatusOverdue)
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/join", nil, nil))
	require.Equal(t, http.StatusAccepted, admin.do("PUT", "/api/v1/sessions/"+sid+"/tags", map[string]any{"tags": []string{"recorded", "vip"}}, nil))
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/sessions/"+sid+"/messages", map[string]string{"text": "hi!", "client_id": "r1"}, nil))
	admin.waitStatus(sid, workflows.StatusAnswered)
	require.Equal(t, http.StatusCreated, visitor.do("POST", "/widget/v1/messages", map[string]string{"text": "thanks", "client_id": "m2"}, nil))
	require.Equal(t, http.StatusAccepted, admin.do("PUT", "/api/v1/sessions/"+sid+"/important", map[string]any{"value": true}, nil))
	require.Equal(t, http.StatusAccepted, admin.do("POST", "/api/v1/sessions/"+sid+"/done", map[string]string{"close_status": "resolved"}, nil))
	admin.waitStatus(sid, workflows.StatusClosed)

	s := admin.session(sid)
	id := workflows.SessionWorkflowID(ch.ID, s.Contact.ID)
	ctx := context.Background()
	var hist historypb.History
	eventually(t, 20*time.Second, "the run to complete", func() bool {
		hist.Events = nil
		it := st.Temporal.GetWorkflowHistory(ctx, id, "", false, 0)
		for it.HasNext() {
			e, err := it.Next()
			require.NoError(t, err)
			hist.Events = append(hist.Events, e)
		}
		return len(hist.Events) > 0 && hist.Events[len(hist.Events)-1].GetWorkflowExecutionCompletedEventAttributes() != nil
	})
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(&hist)
	require.NoError(t, err)
	out := filepath.Join("..", "workflows", "testdata", "session_roundtrip.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))
	require.NoError(t, os.WriteFile(out, b, 0o644))
	t.Logf("wrote %s (%d events)", out, len(hist.Events))
}
