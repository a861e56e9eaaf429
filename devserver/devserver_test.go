package devserver_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

	// The file was created with the default of one history shard, for good.
	cfg.HistoryShards = 2
	_, err = devserver.Start(ctx, cfg)
	require.ErrorIs(t, err, devserver.ErrHistoryShardsMismatch)
	require.ErrorContains(t, err, "created with 1 history shards, HistoryShards asks for 2")
}

func TestEphemeralServerWithoutUI(t *testing.T) {
	ctx := testContext(t, 30*time.Second)
	s := startServer(t, devserver.Config{UIPort: -1, Namespace: "omnichat-test", Logger: serverLogger()})
	require.Empty(t, s.UIAddress())
	require.Equal(t, "omnichat-test", s.Namespace())
	c := dial(t, s)
	requireHistoryShards(t, c, 1) // the SQLite default

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

// tagSignalUpdateWorkflow answers one "echo" update, then waits for a "tag"
// signal and upserts its value as the custom search attribute: the three ways
// omnichat talks to its conversation workflows.
func tagSignalUpdateWorkflow(ctx workflow.Context) (string, error) {
	var echoed string
	if err := workflow.SetUpdateHandler(ctx, "echo", func(_ workflow.Context, s string) (string, error) {
		echoed = s
		return "echo " + s, nil
	}); err != nil {
		return "", err
	}
	var tag string
	workflow.GetSignalChannel(ctx, "tag").Receive(ctx, &tag)
	if err := workflow.Await(ctx, func() bool { return echoed != "" }); err != nil {
		return "", err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, tagKey.ValueSet(tag)); err != nil {
		return "", err
	}
	return echoed + "/" + tag, nil
}

// testPostgresServer is the local Postgres the Postgres tests use; its
// maintenance database creates and drops the test databases.
const testPostgresServer = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// postgresTestDatabase returns a URL naming a new, unique database on the
// local Postgres, and drops that database and its _visibility sibling when the
// test ends. The databases themselves are left for Start to create. It skips
// the test when no Postgres answers, and fails it when one answers but cannot
// be used.
func postgresTestDatabase(t *testing.T) string {
	t.Helper()
	ctx := testContext(t, 10*time.Second)
	cfg, err := pgx.ParseConfig(testPostgresServer)
	require.NoError(t, err)
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Skipf("no Postgres at 127.0.0.1:5432: %v", err)
		}
		t.Fatalf("Postgres at 127.0.0.1:5432 answered but refused: %v", err)
	}
	require.NoError(t, conn.Close(ctx))

	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "devserver_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("dropping test databases: %v", err)
			return
		}
		defer conn.Close(ctx)
		for _, db := range []string{name, name + "_visibility"} {
			// FORCE: a stopped server's pools may still hold connections.
			if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Errorf("dropping test database %s: %v", db, err)
			}
		}
	})
	return "postgres://postgres@127.0.0.1:5432/" + name + "?sslmode=disable"
}

// postgresConnections counts the connections to the test databases by
// database, to see the effect of the pool limits.
func postgresConnections(t *testing.T, database string) map[string]int {
	t.Helper()
	ctx := testContext(t, 10*time.Second)
	conn, err := pgx.Connect(ctx, testPostgresServer)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT datname, count(*) FROM pg_stat_activity WHERE datname IN ($1, $2) GROUP BY datname`,
		database, database+"_visibility")
	require.NoError(t, err)
	counts := map[string]int{}
	for rows.Next() {
		var db string
		var n int
		require.NoError(t, rows.Scan(&db, &n))
		counts[db] = n
	}
	require.NoError(t, rows.Err())
	return counts
}

func TestPostgresStore(t *testing.T) {
	dbURL := postgresTestDatabase(t)
	dbName := strings.TrimPrefix(strings.Split(dbURL, "?")[0], "postgres://postgres@127.0.0.1:5432/")
	cfg := devserver.Config{
		Postgres:      dbURL,
		HistoryShards: 4,
		UIPort:        -1,
		SearchAttributes: map[string]enumspb.IndexedValueType{
			tagAttr: enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		},
		Logger: serverLogger(),
	}
	ctx := testContext(t, time.Minute)

	begin := time.Now()
	s := startServer(t, cfg)
	t.Logf("fresh Postgres store (databases created, schemas applied): started in %s", time.Since(begin).Round(time.Millisecond))
	c := dial(t, s)
	requireHistoryShards(t, c, 4)
	w := worker.New(c, taskQueue, worker.Options{})
	w.RegisterWorkflow(tagSignalUpdateWorkflow)
	require.NoError(t, w.Start())

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "pg-conversation", TaskQueue: taskQueue}, tagSignalUpdateWorkflow)
	require.NoError(t, err)
	handle, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   run.GetID(),
		RunID:        run.GetRunID(),
		UpdateName:   "echo",
		Args:         []any{"hi"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	require.NoError(t, err)
	var reply, result string
	require.NoError(t, handle.Get(ctx, &reply))
	require.Equal(t, "echo hi", reply)
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "tag", "pg"))
	require.NoError(t, run.Get(ctx, &result))
	require.Equal(t, "hi/pg", result)
	w.Stop()

	waitFor(t, 10*time.Second, "visibility to find the tagged workflow", func() (bool, error) {
		return findByTag(ctx, c, s.Namespace(), "pg", run.GetID())
	})
	t.Logf("connections while running: %v", postgresConnections(t, dbName))
	c.Close()
	require.NoError(t, s.Stop())
	t.Logf("connections after Stop: %v", postgresConnections(t, dbName))

	// Same databases: schemas are current, the shard count matches, and the
	// workflow with its history and visibility record is still there.
	begin = time.Now()
	s2 := startServer(t, cfg)
	t.Logf("existing Postgres store: restarted in %s", time.Since(begin).Round(time.Millisecond))
	c2 := dial(t, s2)
	desc, err := c2.DescribeWorkflowExecution(ctx, run.GetID(), run.GetRunID())
	require.NoError(t, err)
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.GetWorkflowExecutionInfo().GetStatus())
	iter := c2.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var types []enumspb.EventType
	for iter.HasNext() {
		ev, err := iter.Next()
		require.NoError(t, err)
		types = append(types, ev.GetEventType())
	}
	require.Contains(t, types, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
	require.Contains(t, types, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)
	require.Contains(t, types, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)
	require.Equal(t, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED, types[len(types)-1])
	waitFor(t, 10*time.Second, "visibility after restart", func() (bool, error) {
		return findByTag(ctx, c2, s2.Namespace(), "pg", run.GetID())
	})
	c2.Close()
	require.NoError(t, s2.Stop())

	// The shard count is fixed once the store exists.
	more := cfg
	more.HistoryShards = 8
	_, err = devserver.Start(ctx, more)
	require.ErrorIs(t, err, devserver.ErrHistoryShardsMismatch)
	require.ErrorContains(t, err, "created with 4 history shards, HistoryShards asks for 8")
	// 0 takes the store's own count.
	dflt := cfg
	dflt.HistoryShards = 0
	s3 := startServer(t, dflt)
	requireHistoryShards(t, dial(t, s3), 4)
	require.NoError(t, s3.Stop())
}

func requireHistoryShards(t *testing.T, c client.Client, want int32) {
	t.Helper()
	info, err := c.WorkflowService().GetClusterInfo(testContext(t, 10*time.Second), &workflowservice.GetClusterInfoRequest{})
	require.NoError(t, err)
	require.Equal(t, want, info.GetHistoryShardCount())
}

func TestPostgresUnreachable(t *testing.T) {
	_, err := devserver.Start(testContext(t, 10*time.Second), devserver.Config{
		Postgres: "postgres://postgres@127.0.0.1:1/omnichat_temporal?sslmode=disable",
		UIPort:   -1,
	})
	require.ErrorContains(t, err, "postgres at 127.0.0.1:1 did not answer")
}
