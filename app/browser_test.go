package app

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWidgetInBrowser runs web/e2e in headless Chromium against a running
// omnichat. It needs Node.js, Chromium and `make browser-deps`; without them
// it is skipped, unless OMNICHAT_BROWSER_TESTS=1 (CI) makes it required.
func TestWidgetInBrowser(t *testing.T) {
	required := os.Getenv("OMNICHAT_BROWSER_TESTS") == "1"
	missing := func(what string) {
		if required {
			t.Fatalf("browser tests required but %s", what)
		}
		t.Skipf("skipped: %s (run `make browser-deps`; install chromium)", what)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing("no Chromium at " + chromium)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("no node on PATH")
	}
	dir := filepath.Join("..", "web", "e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing("web/e2e/node_modules is not installed")
	}

	st := startStack(t)
	admin := st.login(t, adminEmail, adminPassword)
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.replyWhileDown(t, r, admin.token)
	}))
	defer control.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "widget.test.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "OMNICHAT_URL="+st.URL(), "OMNICHAT_TOKEN="+admin.token,
		"OMNICHAT_CONTROL_URL="+control.URL, "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}

// replyWhileDown takes the HTTP server down (every open connection, event
// streams included, is cut), has an agent reply meanwhile through the API
// handler directly, and brings the server back on the same address, as an
// API replica's restart would.
func (s *Stack) replyWhileDown(t *testing.T, r *http.Request, token string) {
	var req struct {
		SessionID string `json:"session_id"`
		Text      string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		t.Errorf("control: %v", err)
		return
	}
	if err := s.http.Close(); err != nil {
		t.Errorf("control: close: %v", err)
	}
	body, _ := json.Marshal(map[string]string{"text": req.Text, "client_id": "while-down"})
	rec := httptest.NewRecorder()
	in := httptest.NewRequest("POST", "/api/v1/sessions/"+req.SessionID+"/messages", strings.NewReader(string(body)))
	in.Header.Set("Authorization", "Bearer "+token)
	in.Header.Set("Content-Type", "application/json")
	s.API.Handler().ServeHTTP(rec, in)
	if rec.Code != http.StatusCreated {
		t.Errorf("control: reply: %d %s", rec.Code, rec.Body)
	}
	// The old listener is closed; the address is free again.
	for i := 0; ; i++ {
		err := s.serveHTTP(s.API.Handler(), s.httpAddr)
		if err == nil {
			break
		}
		var op *net.OpError
		if i > 50 || !errorsAs(err, &op) {
			t.Errorf("control: listen again: %v", err)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
