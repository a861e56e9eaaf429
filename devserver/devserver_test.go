package devserver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/omnichat/omnichat/devserver"
)

const (
	tagAttr     = "OmnichatTestTag"
	channelAttr = "OmnichatTestChannel"
	taskQueue   = "devserver-test"
)

var tagKey = temporal.NewSearchAttributeKeyKeyword(tagAttr)

// tagWorkflow upserts the custom search attribute, so that visibility queries
// on it can find the run.
func tagWorkflow(ctx workflow.Context, value string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, tagKey.ValueSet(value)); err != nil {
		return "", err
	}
	return "tagged " + value, nil
}

// echoUpdateWorkflow answers one "echo" update and then completes, to prove
// that workflow updates are enabled on the embedded server.
func echoUpdateWorkflow(ctx workflow.Context) (string, error) {
	var got string
	if err := workflow.SetUpdateHandler(ctx, "echo", func(_ workflow.Context, s string) (string, error) {
		got = s
		return "echo " + s, nil
	}); err != nil {
		return "", err
	}
	if err := workflow.Await(ctx, func() bool { return got != "" }); err != nil {
		return "", err
	}
	return got, nil
}

func serverLogger() *slog.Logger {
	// Not t.Log: server goroutines may still log a line after the test ends.
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func testContext(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startServer(t *testing.T, cfg devserver.Config) *devserver.Server {
	t.Helper()
	begin := time.Now()
	s, err := devserver.Start(testContext(t, time.Minute), cfg)
	require.NoError(t, err)
	t.Logf("server started in %s: frontend %s, UI %q", time.Since(begin).Round(time.Millisecond), s.FrontendAddress(), s.UIAddress())
	t.Cleanup(func() { _ = s.Stop() })
	return s
}

func dial(t *testing.T, s *devserver.Server) client.Client {
	t.Helper()
	c, err := client.DialContext(testContext(t, 10*time.Second), client.Options{
		HostPort:  s.FrontendAddress(),
		Namespace: s.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// waitFor polls cond until it reports true or the deadline passes; visibility
// is eventually consistent, so queries may need a few tries.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s (last error: %v)", timeout, what, lastErr)
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not a wait for a fixed outcome
	}
}

func findByTag(ctx context.Context, c client.Client, ns, value, workflowID string) (bool, error) {
	query := tagAttr + " = '" + value + "'"
	count, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: ns, Query: query})
	if err != nil || count.GetCount() != 1 {
		return false, err
	}
	list, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: query})
	if err != nil || len(list.GetExecutions()) != 1 {
		return false, err
	}
	ex := list.GetExecutions()[0]
	return ex.GetExecution().GetWorkflowId() == workflowID &&
		ex.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, nil
}

func requirePortFree(t *testing.T, addr string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	require.NoError(t, err, "port %s still in use after Stop", addr)
	require.NoError(t, l.Close())
}

func TestPersistentServerSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := devserver.Config{
		DataDir: dir,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			tagAttr:     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
			channelAttr: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
		Logger: serverLogger(),
	}
	ctx := testContext(t, 30*time.Second)

	s := startServer(t, cfg)
	require.FileExists(t, filepath.Join(dir, "temporal.db"))
	require.FileExists(t, filepath.Join(dir, "temporal.db-wal"), "journal_mode=wal not applied")
	require.Equal(t, "default", s.Namespace())
	require.True(t, strings.HasPrefix(s.FrontendAddress(), "127.0.0.1:"), s.FrontendAddress())
	require.NotEmpty(t, s.UIAddress())

	c := dial(t, s)
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(tagWorkflow)
	require.NoError(t, w.Start())

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "tag-vip", TaskQueue: taskQueue}, tagWorkflow, "vip")
	require.NoError(t, err)
	var result string
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, "tagged vip", result)
	w.Stop()

	waitFor(t, 10*time.Second, "visibility to find the tagged workflow", func() (bool, error) {
		return findByTag(ctx, c, s.Namespace(), "vip", "tag-vip")
	})

	// The UI serves its single-page app.
	resp, err := http.Get("http://" + s.UIAddress() + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	require.Contains(t, strings.ToLower(string(body)), "<html")

	// Stop releases both user-facing ports and may be called again.
	frontend, ui := s.FrontendAddress(), s.UIAddress()
	c.Close()
	require.NoError(t, s.Stop())
	require.NoError(t, s.Stop())
	requirePortFree(t, frontend)
	requirePortFree(t, ui)

	// Same DataDir, new ports: the workflow, its history, its visibility
	// record and the search attributes all come back from the SQLite file.
	s2 := startServer(t, cfg)
	c2 := dial(t, s2)
	desc, err := c2.DescribeWorkflowExecution(ctx, "tag-vip", run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())

	iter := c2.GetWorkflowHistory(ctx, "tag-vip", run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var last enumspb.EventType
	events := 0
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		last = ev.GetEventType()
		events++
	}
	require.Positive(t, events)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, last)

	waitFor(t, 10*time.Second, "visibility after restart", func() (bool, error) {
		return findByTag(ctx, c2, s2.Namespace(), "vip", "tag-vip")
	})
	require.NoError(t, devserver.EnsureSearchAttributes(ctx, c2, s2.Namespace(), cfg.SearchAttributes))
	require.NoError(t, s2.Stop())
}

func TestEphemeralServerWithoutUI(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	s := startServer(t, devserver.Config{UIPort: -1, Namespace: "omnichat-test", Logger: serverLogger()})
	require.Empty(t, s.UIAddress())
	require.Equal(t, "omnichat-test", s.Namespace())
	c := dial(t, s)

	// EnsureSearchAttributes adds, is idempotent, and rejects a type change.
	attrs := map[string]enumspb.IndexedValueType{"OmnichatPriority": enumspb.INDEXED_VALUE_TYPE_INT}
	require.NoError(t, devserver.EnsureSearchAttributes(ctx, c, s.Namespace(), attrs))
	require.NoError(t, devserver.EnsureSearchAttributes(ctx, c, s.Namespace(), attrs))
	err := devserver.EnsureSearchAttributes(ctx, c, s.Namespace(),
		map[string]enumspb.IndexedValueType{"OmnichatPriority": enumspb.INDEXED_VALUE_TYPE_KEYWORD})
	require.ErrorContains(t, err, "OmnichatPriority")

	// Workflow updates work.
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(echoUpdateWorkflow)
	require.NoError(t, w.Start())
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "echo", TaskQueue: taskQueue}, echoUpdateWorkflow)
	require.NoError(t, err)
	handle, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   run.GetID(),
		UpdateName:   "echo",
		Args:         []any{"hi"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var reply, result string
	require.NoError(t, handle.Get(ctx, &reply))
	require.Equal(t, "echo hi", reply)
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, "hi", result)
}

func TestStartReportsBusyPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port
	ctx := testContext(t, 10*time.Second)

	_, err = devserver.Start(ctx, devserver.Config{UIPort: busy})
	require.ErrorContains(t, err, "UI port")
	_, err = devserver.Start(ctx, devserver.Config{Port: busy, UIPort: -1})
	require.ErrorContains(t, err, "frontend port")

	var opErr *net.OpError
	require.True(t, errors.As(err, &opErr), "want the listen error wrapped, got %T", err)
}
