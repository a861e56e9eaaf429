package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/db/dbtest"
	"github.com/omnichat/omnichat/devserver"
	"github.com/omnichat/omnichat/workflows"
)

// The production modes, against one Temporal frontend and one database:
// migrate prepares both, then a separate api and worker serve together.
func TestMigrateAPIAndWorkerModes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	temporal, err := devserver.Start(ctx, devserver.Config{UIPort: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = temporal.Stop() })
	base := Config{
		DatabaseURL:       dbtest.NewEmptyURL(t),
		TemporalAddress:   temporal.FrontendAddress(),
		TemporalNamespace: "default",
		HTTPAddr:          "127.0.0.1:0",
		DataDir:           t.TempDir(),
		SecretKey:         "a passphrase long enough for tests",
		AdminEmail:        adminEmail,
		AdminPassword:     adminPassword,
		PublicURL:         "http://chat.example.test",
	}
	start := func(mode Mode) *Stack {
		st, err := Start(ctx, base, mode, log)
		require.NoError(t, err, mode)
		t.Cleanup(func() { require.NoError(t, st.Close(context.Background())) })
		return st
	}

	// Before migrate, api refuses to run on an old schema.
	_, err = Start(ctx, base, API, log)
	require.ErrorContains(t, err, "omnichat migrate")

	m := start(Migrate)
	require.NoError(t, m.Close(ctx))
	worker := start(Worker)
	api := start(API)

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(worker.URL() + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "worker %s", path)
	}

	admin := api.login(t, adminEmail, adminPassword)
	var ch struct{ ID string }
	require.Equal(t, http.StatusCreated, admin.do("POST", "/api/v1/channels", map[string]any{"platform": "webchat", "name": "Site"}, &ch))
	v := api.visitor(t, ch.ID, "Jo")
	require.Equal(t, http.StatusCreated, v.do("POST", "/widget/v1/messages", map[string]string{"text": "hi"}, nil))
	var sessions []sessionView
	eventually(t, 20*time.Second, "the worker to open the session", func() bool {
		sessions = admin.sessions("")
		return len(sessions) == 1 && sessions[0].Status == workflows.StatusRepNeeded
	})

	resp, err := http.Get(api.URL() + "/readyz")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	resp, err = http.Get(api.URL() + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(body), `omnichat_ingest_messages_total{platform="webchat"} 1`)
	require.Contains(t, string(body), `omnichat_webhook_duration_seconds_count{platform="webchat"} 1`)
	require.Contains(t, string(body), `omnichat_http_request_duration_seconds_count{code="201",method="POST",route="/widget/v1/messages"} 1`)
	resp, err = http.Get(worker.URL() + "/metrics")
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.True(t, strings.Contains(string(body), "temporal_workflow_task_execution_latency_seconds"), "the SDK's metrics are exported")
}
