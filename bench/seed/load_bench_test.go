package seed

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/omnichat/omnichat/db"
	"github.com/omnichat/omnichat/db/dbtest"
)

// The benchmark harness runs by hand, against a named scratch database on
// the test server (dbtest.ServerURL):
//
//	OMNICHAT_BENCH_DB=omnichat_bench_1m OMNICHAT_BENCH_SESSIONS=1000000 \
//	  go test ./bench/seed -run TestBenchLoad -v -timeout 60m
//
// creates, migrates and loads the database (OMNICHAT_BENCH_RECREATE=1 drops
// it first). OMNICHAT_BENCH_WORKERS sets the parallel COPY streams,
// OMNICHAT_BENCH_VACUUM=1 vacuums at the end.

func benchDB(t *testing.T) string {
	name := os.Getenv("OMNICHAT_BENCH_DB")
	if name == "" {
		t.Skip("set OMNICHAT_BENCH_DB to run the benchmark harness")
	}
	return name
}

func benchURL(name string) string {
	u, err := url.Parse(dbtest.ServerURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

func TestBenchLoad(t *testing.T) {
	name := benchDB(t)
	sessions := envInt("OMNICHAT_BENCH_SESSIONS", 0)
	if sessions == 0 {
		t.Skip("set OMNICHAT_BENCH_SESSIONS to load")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dbtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if os.Getenv("OMNICHAT_BENCH_RECREATE") == "1" {
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(ctx, benchURL(name))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	t0 := time.Now()
	if err := db.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	t.Logf("migrated in %s", time.Since(t0).Round(time.Millisecond))
	res, err := Load(ctx, pool, Options{
		Sessions:             sessions,
		MessagesPerSession:   envInt("OMNICHAT_BENCH_MESSAGES_PER_SESSION", 10),
		Channels:             6,
		Teams:                5,
		Agents:               200,
		OpenFraction:         0.1,
		Seed:                 int64(envInt("OMNICHAT_BENCH_SEED", 1)),
		Workers:              envInt("OMNICHAT_BENCH_WORKERS", 2),
		Vacuum:               os.Getenv("OMNICHAT_BENCH_VACUUM") == "1",
		SkipForeignKeyChecks: os.Getenv("OMNICHAT_BENCH_SKIP_FK") == "1",
		Log:                  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("\n| step | rows | seconds | rows/s |\n|---|---:|---:|---:|\n")
	for _, p := range res.Phases {
		rate := ""
		if p.Rows > 0 && p.Took > 0 {
			rate = strconv.Itoa(int(float64(p.Rows) / p.Took.Seconds()))
		}
		fmt.Printf("| %s | %d | %.1f | %s |\n", p.Name, p.Rows, p.Took.Seconds(), rate)
	}
	fmt.Printf("| **total** | %d sessions, %d messages, %d contacts, %d events, %d reads | %.1f | |\n",
		res.Sessions, res.Messages, res.Contacts, res.Events, res.Reads, res.Took.Seconds())
	var size string
	if err := pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_database_size(current_database()))").Scan(&size); err == nil {
		fmt.Printf("database size: %s\n", size)
	}
}
