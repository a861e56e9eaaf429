package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/omnichat/omnichat/db/dbtest"
)

// The end-to-end tests run the product as `omnichat dev` does: a real
// embedded Temporal server, a real Postgres database, the worker and the
// HTTP API on a real socket.

const (
	adminEmail    = "admin@example.com"
	adminPassword = "correct horse battery"
)

func startStack(t *testing.T) *Stack {
	t.Helper()
	cfg := Config{
		DatabaseURL:       dbtest.NewURL(t),
		TemporalNamespace: "default",
		TemporalUIPort:    -1,
		HTTPAddr:          "127.0.0.1:0",
		DataDir:           t.TempDir(),
		AdminEmail:        adminEmail,
		AdminPassword:     adminPassword,
		PublicURL:         "http://chat.example.test",
		LogFormat:         "text",
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := Start(ctx, cfg, Dev, log)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, st.Close(ctx))
	})
	return st
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client calls the API as one agent or visitor.
type apiClient struct {
	t     *testing.T
	base  string
	token string
}

func (s *Stack) client(t *testing.T, token string) *apiClient {
	return &apiClient{t: t, base: s.URL(), token: token}
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *apiClient) do(method, path string, body any, out any) int {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			require.NoError(c.t, err)
			r = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.base+path, r)
	require.NoError(c.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	if resp.StatusCode >= 400 {
		require.Equal(c.t, "application/problem+json", resp.Header.Get("Content-Type"), "errors are problems: %s", raw)
	}
	if out != nil && len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, out), "%s", raw)
	}
	return resp.StatusCode
}

func (s *Stack) login(t *testing.T, email, password string) *apiClient {
	t.Helper()
	var res struct{ Token string }
	c := s.client(t, "")
	require.Equal(t, http.StatusOK, c.do("POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &res))
	c.token = res.Token
	return c
}

// visitor creates a web visitor on the channel.
func (s *Stack) visitor(t *testing.T, channelID, name string) *apiClient {
	t.Helper()
	var res struct{ Token string }
	c := s.client(t, "")
	require.Equal(t, http.StatusCreated, c.do("POST", "/widget/v1/channels/"+channelID+"/visitors", map[string]string{"name": name}, &res))
	c.token = res.Token
	return c
}

type sse struct {
	events chan sseEvent
	cancel context.CancelFunc
	mu     sync.Mutex
	seen   []sseEvent // every event received, in order
}

// all returns every event the stream has received so far.
func (s *sse) all() []sseEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sseEvent(nil), s.seen...)
}

type sseEvent struct {
	Type string
	Data map[string]any
}

// stream opens an event stream; its events arrive on the returned channel.
func (c *apiClient) stream(path string) *sse {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path+"?token="+c.token, nil)
	require.NoError(c.t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusOK, resp.StatusCode)
	require.Equal(c.t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &sse{events: make(chan sseEvent, 100), cancel: cancel}
	c.t.Cleanup(cancel)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var typ string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				typ = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var d map[string]any
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d)
				s.mu.Lock()
				s.seen = append(s.seen, sseEvent{typ, d})
				s.mu.Unlock()
				select {
				case s.events <- sseEvent{typ, d}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return s
}

// next waits for the first event of type typ that match accepts.
func (s *sse) next(t *testing.T, typ string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.Type == typ && (match == nil || match(ev.Data)) {
				return ev.Data
			}
		case <-deadline:
			t.Fatalf("no %s event within 20 s", typ)
			return nil
		}
	}
}

// eventually polls cond until it holds, failing after timeout. Polling is
// how a test waits on a real server: nothing here asserts a duration.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
