//go:build unix

package pglocal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// reachableDir is a temp folder an unprivileged server user can enter.
// t.TempDir is mode 0700, which is exactly the case relocation handles; the
// plain tests want the straightforward layout.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pglocal-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// systemConfig describes a private cluster from the machine's binaries, and
// skips when there are none.
func systemConfig(t *testing.T, dataDir string) privateConfig {
	t.Helper()
	if _, _, err := findBinaries(context.Background(), searchDirs(), 0, nil); err != nil {
		t.Skipf("no Postgres binaries on this machine (looked in %s)", searchDescription)
	}
	return privateConfig{
		dataDir:     dataDir,
		log:         testLogger(t),
		search:      searchDirs(),
		relocations: []string{reachableDir(t)},
	}
}

func startForTest(t *testing.T, pc privateConfig) *Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db, err := startPrivate(ctx, pc)
	require.NoError(t, err)
	require.True(t, db.Private)
	require.Equal(t, "private", db.Source)
	t.Cleanup(func() { _ = db.Stop(context.Background()) })
	return db
}

func query[T any](t *testing.T, url, sql string) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v T
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&v))
	return v
}

func exec1(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err)
}

func portOf(t *testing.T, url string) int {
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return int(cfg.Port)
}

func TestPrivateClusterSurvivesRestart(t *testing.T) {
	dataDir := filepath.Join(reachableDir(t), "data folder") // a space, for quoting
	pc := systemConfig(t, dataDir)

	db := startForTest(t, pc)
	require.True(t, strings.HasPrefix(db.URL, "postgres://postgres@127.0.0.1:"), db.URL)
	require.True(t, strings.HasSuffix(db.URL, "/omnichat?sslmode=disable"), db.URL)
	require.Equal(t, "omnichat", query[string](t, db.URL, "SELECT current_database()"))
	require.Equal(t, "127.0.0.1", query[string](t, db.URL, "SHOW listen_addresses"))
	require.Equal(t, "UTF8", query[string](t, db.URL, "SHOW server_encoding"))
	exec1(t, db.URL, "CREATE TABLE survivor (id int PRIMARY KEY, note text); INSERT INTO survivor VALUES (1, 'still here')")

	sock := filepath.Join(dataDir, "postgres", "run", fmt.Sprintf(".s.PGSQL.%d", portOf(t, db.URL)))
	if fi, err := os.Stat(sock); err == nil {
		require.Equal(t, os.ModeSocket, fi.Mode()&os.ModeSocket)
	} else {
		t.Logf("no unix socket (path too long?): %v", err)
	}

	require.NoError(t, db.Stop(context.Background()))
	require.NoError(t, db.Stop(context.Background()), "Stop twice is harmless")
	_, err := pgx.Connect(context.Background(), db.URL+"&connect_timeout=2")
	require.Error(t, err, "server is down after Stop")

	db2 := startForTest(t, pc)
	require.Equal(t, db.URL, db2.URL, "the recorded port is reused")
	require.Equal(t, "still here", query[string](t, db2.URL, "SELECT note FROM survivor WHERE id = 1"))
	require.NoError(t, db2.Stop(context.Background()))
}

func TestPrivateClusterAdoptsServerLeftRunning(t *testing.T) {
	pc := systemConfig(t, filepath.Join(reachableDir(t), "data"))
	first := startForTest(t, pc)
	exec1(t, first.URL, "CREATE TABLE t (x int)")

	// As if the first omnichat crashed: its server is still up.
	start := time.Now()
	second := startForTest(t, pc)
	require.Equal(t, first.URL, second.URL)
	require.Less(t, time.Since(start), 20*time.Second)
	require.Equal(t, int64(0), query[int64](t, second.URL, "SELECT count(*) FROM t"))

	require.NoError(t, second.Stop(context.Background()))
	_, err := pgx.Connect(context.Background(), first.URL+"&connect_timeout=2")
	require.Error(t, err)
}

func TestPrivateClusterRecoversFromStalePidFiles(t *testing.T) {
	dataDir := filepath.Join(reachableDir(t), "data")
	pc := systemConfig(t, dataDir)
	db := startForTest(t, pc)
	exec1(t, db.URL, "CREATE TABLE t (x int); INSERT INTO t VALUES (42)")
	pidFile := filepath.Join(dataDir, "postgres", "data", "postmaster.pid")
	saved, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	require.NoError(t, db.Stop(context.Background()))

	acct, err := serverAccount(filepath.Join(dataDir, "postgres", "data"))
	require.NoError(t, err)

	withPid := func(pid int) {
		lines := strings.SplitN(string(saved), "\n", 2)
		require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"+lines[1]), 0o600))
		require.NoError(t, chownPath(pidFile, acct))
	}

	t.Run("dead pid", func(t *testing.T) {
		cmd := exec.Command("true")
		require.NoError(t, cmd.Run())
		withPid(cmd.Process.Pid)
		db := startForTest(t, pc)
		require.Equal(t, int64(42), query[int64](t, db.URL, "SELECT x FROM t"))
		require.NoError(t, db.Stop(context.Background()))
	})

	t.Run("pid reused by another process of the server user", func(t *testing.T) {
		if _, err := os.Stat("/proc/self/cwd"); err != nil {
			t.Skip("needs /proc to tell the processes apart")
		}
		// Postgres itself would refuse to start: the pid is alive and it may
		// signal it. Only we can tell it is not a postmaster of this cluster.
		cmd := exec.Command("sleep", "60")
		cmd.Dir = "/"
		runAs(cmd, acct)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		withPid(cmd.Process.Pid)
		db := startForTest(t, pc)
		require.Equal(t, int64(42), query[int64](t, db.URL, "SELECT x FROM t"))
		require.NoError(t, db.Stop(context.Background()))
		require.Nil(t, cmd.ProcessState, "the unrelated process was left alone")
	})
}

func TestPrivateClusterRefusesForeignFolder(t *testing.T) {
	dataDir := reachableDir(t)
	pc := systemConfig(t, dataDir)
	junk := filepath.Join(dataDir, "postgres", "data")
	require.NoError(t, os.MkdirAll(junk, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(junk, "precious.txt"), []byte("mine"), 0o600))
	_, err := startPrivate(context.Background(), pc)
	require.ErrorContains(t, err, "holds no Postgres cluster")
	require.FileExists(t, filepath.Join(junk, "precious.txt"))
}

func TestPrivateClusterNeedsMatchingMajorVersion(t *testing.T) {
	dataDir := reachableDir(t)
	pc := systemConfig(t, dataDir)
	data := filepath.Join(dataDir, "postgres", "data")
	require.NoError(t, os.MkdirAll(data, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(data, "PG_VERSION"), []byte("9\n"), 0o600))
	_, err := startPrivate(context.Background(), pc)
	require.Error(t, err)
	require.ErrorContains(t, err, "unusable:")
	require.ErrorContains(t, err, "downloading is disabled")
}

// TestPrivateClusterRealDownload fetches the pinned official build and runs it,
// ignoring any installed Postgres. It needs the network, so it only runs when
// asked: OMNICHAT_TEST_PG_DOWNLOAD=1.
func TestPrivateClusterRealDownload(t *testing.T) {
	if os.Getenv("OMNICHAT_TEST_PG_DOWNLOAD") != "1" {
		t.Skip("set OMNICHAT_TEST_PG_DOWNLOAD=1 to download Postgres for real")
	}
	src, err := defaultDownloadSource()
	require.NoError(t, err)
	dataDir := filepath.Join(reachableDir(t), "data")
	db := startForTest(t, privateConfig{
		dataDir:     dataDir,
		log:         testLogger(t),
		download:    true,
		source:      src,
		relocations: []string{reachableDir(t)},
	})
	version := query[string](t, db.URL, "SHOW server_version")
	t.Logf("downloaded server says %s", version)
	require.True(t, strings.HasPrefix(version, "17."), version)
	require.True(t, isComplete(filepath.Join(dataDir, "postgres-bin", src.version)))
	require.NoError(t, db.Stop(context.Background()))
}
