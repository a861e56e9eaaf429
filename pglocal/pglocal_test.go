package pglocal

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestMain keeps root's relocated clusters (see placeDir) out of the real
// /var/lib/omnichat: every test that reaches relocation lands in one folder
// removed at the end.
func TestMain(m *testing.M) {
	base, err := os.MkdirTemp("", "pglocal-reloc-")
	if err != nil {
		panic(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		panic(err)
	}
	relocationBases = func() []string { return []string{base} }
	code := m.Run()
	os.RemoveAll(base)
	os.Exit(code)
}

// requireLocalPostgres skips unless the machine's own Postgres answers on
// 127.0.0.1:5432 with trust authentication for user postgres.
func requireLocalPostgres(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Skipf("no Postgres with trust auth on 127.0.0.1:5432: %v", err)
	}
	conn.Close(ctx)
}

func localURLFor(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Host: "127.0.0.1:5432", Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func dropDatabase(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, localURLFor("postgres"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	require.NoError(t, err)
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, localURLFor("postgres"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
	return n == 1
}

func TestEnsureDatabaseCreatesOnceAndIsIdempotent(t *testing.T) {
	requireLocalPostgres(t)
	ctx := context.Background()
	// Quotes, a space and capitals prove the identifier is quoted, not pasted.
	name := fmt.Sprintf(`pglocal Test "q" %d`, time.Now().UnixNano())
	t.Cleanup(func() { dropDatabase(t, name) })

	require.False(t, databaseExists(t, name))
	require.NoError(t, EnsureDatabase(ctx, localURLFor(name)))
	require.True(t, databaseExists(t, name))
	require.NoError(t, EnsureDatabase(ctx, localURLFor(name)), "second call must be a no-op")

	conn, err := pgx.Connect(ctx, localURLFor(name))
	require.NoError(t, err)
	var got string
	require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&got))
	conn.Close(ctx)
	require.Equal(t, name, got)
}

func TestEnsureDatabaseConcurrentCallers(t *testing.T) {
	requireLocalPostgres(t)
	ctx := context.Background()
	name := fmt.Sprintf("pglocal_race_%d", time.Now().UnixNano())
	t.Cleanup(func() { dropDatabase(t, name) })

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = EnsureDatabase(ctx, localURLFor(name))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "caller %d", i)
	}
	require.True(t, databaseExists(t, name))
}

func TestResolveWithURLCreatesDatabase(t *testing.T) {
	requireLocalPostgres(t)
	name := fmt.Sprintf("pglocal_url_%d", time.Now().UnixNano())
	t.Cleanup(func() { dropDatabase(t, name) })

	db, err := Resolve(context.Background(), Options{URL: localURLFor(name), DataDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, "DATABASE_URL", db.Source)
	require.False(t, db.Private)
	require.NoError(t, db.Stop(context.Background()))
	require.True(t, databaseExists(t, name))
}

func TestResolveDefaultsToLocalServer(t *testing.T) {
	requireLocalPostgres(t)
	db, err := Resolve(context.Background(), Options{DataDir: t.TempDir()})
	require.NoError(t, err)
	require.Equal(t, "local", db.Source)
	require.Equal(t, DefaultLocalURL, db.URL)
	require.True(t, databaseExists(t, "omnichat"))
}

func closedPort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	require.NoError(t, err)
	return p
}

func TestResolveURLToClosedPortNamesHostPort(t *testing.T) {
	port := closedPort(t)
	_, err := Resolve(context.Background(), Options{
		URL:     fmt.Sprintf("postgres://postgres:secret@127.0.0.1:%d/omnichat?sslmode=disable", port),
		DataDir: t.TempDir(),
	})
	require.Error(t, err)
	require.Contains(t, err.Error(), "DATABASE_URL")
	require.Contains(t, err.Error(), "127.0.0.1:"+strconv.Itoa(port))
	require.Contains(t, err.Error(), "did not answer")
	require.NotContains(t, err.Error(), "secret")
}

// withNoPostgres makes the machine look like one without any Postgres: nothing
// on the local port and no binaries anywhere.
func withNoPostgres(t *testing.T) int {
	port := closedPort(t)
	oldURL, oldSearch := localURL, searchDirs
	localURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/omnichat?sslmode=disable", port)
	searchDirs = func() []string { return nil }
	t.Cleanup(func() { localURL, searchDirs = oldURL, oldSearch })
	return port
}

func TestResolveNothingWorksNamesTheWaysOut(t *testing.T) {
	port := withNoPostgres(t)
	_, err := Resolve(context.Background(), Options{DataDir: t.TempDir(), Download: false})
	require.Error(t, err)
	msg := err.Error()
	t.Log(msg)
	require.Contains(t, msg, fmt.Sprintf("no Postgres: 127.0.0.1:%d did not answer (", port))
	require.Contains(t, msg, "no Postgres binaries found (looked in $PATH, /usr/lib/postgresql/*/bin")
	require.Contains(t, msg, "downloading is disabled")
	require.Contains(t, msg, "set DATABASE_URL, start a Postgres on 127.0.0.1:5432, or install PostgreSQL (apt-get install postgresql)")
}

func TestResolveNothingWorksReportsDownloadFailure(t *testing.T) {
	withNoPostgres(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	t.Setenv(DownloadURLEnv, srv.URL)

	_, err := Resolve(context.Background(), Options{DataDir: t.TempDir(), Download: true})
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), "downloading failed (GET "+srv.URL+"/@embedded-postgres/")
	require.Contains(t, err.Error(), "404")
	require.Contains(t, err.Error(), "set DATABASE_URL")
}

func TestChoosePortReusesRecordedPortWhenFree(t *testing.T) {
	file := t.TempDir() + "/port"
	p1, err := choosePort(file, 0, nil)
	require.NoError(t, err)
	p2, err := choosePort(file, 0, nil)
	require.NoError(t, err)
	require.Equal(t, p1, p2)

	// Occupied: a new port is chosen and recorded.
	l, err := listenOn(p1)
	require.NoError(t, err)
	defer l.Close()
	p3, err := choosePort(file, 0, nil)
	require.NoError(t, err)
	require.NotEqual(t, p1, p3)
	p4, err := choosePort(file, 0, nil)
	require.NoError(t, err)
	require.Equal(t, p3, p4)
}
