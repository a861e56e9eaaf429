package devserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	v12 "go.temporal.io/server/schema/postgresql/v12"

	"github.com/omnichat/omnichat/pglocal"
)

func TestParsePostgresURL(t *testing.T) {
	tg, err := parsePostgresURL("postgres://omni:s%40cret@db.example:6543/omnichat_temporal?sslmode=require&connect_timeout=5")
	require.NoError(t, err)
	require.Equal(t, "db.example:6543", tg.addr)
	require.Equal(t, "omni", tg.user)
	require.Equal(t, "s@cret", tg.password)
	require.Equal(t, "omnichat_temporal", tg.database)
	require.Equal(t, map[string]string{"sslmode": "require", "connect_timeout": "5", "application_name": pgApplicationName}, tg.connAttrs)
	require.Equal(t, "postgres://omni:s%40cret@db.example:6543/omnichat_temporal_visibility?connect_timeout=5&sslmode=require",
		tg.urlFor("omnichat_temporal_visibility"))

	sqlCfg := tg.sqlConfig(tg.database, 7, 3)
	require.Equal(t, "postgres12_pgx", sqlCfg.PluginName)
	require.Equal(t, 7, sqlCfg.MaxConns)
	require.Equal(t, 3, sqlCfg.MaxIdleConns)

	tg, err = parsePostgresURL("postgresql://postgres@127.0.0.1/x?application_name=mine")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:5432", tg.addr)
	require.Equal(t, map[string]string{"application_name": "mine", "sslmode": "prefer"}, tg.connAttrs)

	for raw, want := range map[string]string{
		"mysql://u@h/db":                            "must be a URL",
		"postgres://u@127.0.0.1:5432":               "must name a database",
		"postgres://u@127.0.0.1:5432/":              "must name a database",
		"postgres:///db?host=/tmp":                  "TCP host",
		"postgres://u@h/" + strings.Repeat("d", 60): "too long",
	} {
		_, err := parsePostgresURL(raw)
		require.ErrorContains(t, err, want, raw)
	}
}

func TestParseSchemaVersion(t *testing.T) {
	for _, s := range []string{"1.9", "1.10", "1.10.0", "2"} {
		_, err := parseSchemaVersion(s)
		require.NoError(t, err, s)
	}
	a, _ := parseSchemaVersion("1.9")
	b, _ := parseSchemaVersion("1.10")
	require.Negative(t, slices.Compare(a, b))
	for _, s := range []string{"", "v1.0", "1.x", "1.2.3.4", "-1.0"} {
		_, err := parseSchemaVersion(s)
		require.Error(t, err, s)
	}
	// The embedded schemas end at the versions this server build expects.
	v, err := newestSchemaVersion(pgMainSchema)
	require.NoError(t, err)
	require.Equal(t, v12.Version, v)
	v, err = newestSchemaVersion(pgVisibilitySchema)
	require.NoError(t, err)
	require.Equal(t, v12.VisibilityVersion, v)
}

// TestApplySQLSchema checks both ways a schema is made: a new database from
// schema.sql, and an old one upgraded step by step. They must end up with the
// same tables, columns and indexes, and a second run must change nothing.
func TestApplySQLSchema(t *testing.T) {
	admin := localPostgres(t)
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "devserver_schema_" + hex.EncodeToString(b[:])
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	for _, tc := range []struct {
		dir  string
		kind sqlplugin.DbKind
		old  string
	}{
		{pgMainSchema, sqlplugin.DbKindMain, "1.10"},
		{pgVisibilitySchema, sqlplugin.DbKindVisibility, "1.5"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			tg, err := parsePostgresURL("postgres://postgres@127.0.0.1:5432/" + prefix) // sslmode: prefer
			require.NoError(t, err)
			fresh, upgraded := prefix+"_fresh", prefix+"_upgraded"
			for _, name := range []string{fresh, upgraded} {
				t.Cleanup(func() { dropDatabase(t, admin, name) })
				require.NoError(t, pglocal.EnsureDatabase(ctx, tg.urlFor(name)))
			}

			require.NoError(t, applySQLSchema(tg.sqlConfig(fresh, 1, 1), tc.kind, tc.dir, "", logger))
			require.Equal(t, []string{"0 -> " + newest(t, tc.dir)}, schemaHistory(t, tg.urlFor(fresh)))
			before := schemaShape(t, tg.urlFor(fresh))
			require.NoError(t, applySQLSchema(tg.sqlConfig(fresh, 1, 1), tc.kind, tc.dir, "", logger))
			require.Len(t, schemaHistory(t, tg.urlFor(fresh)), 1, "second run changed the schema")
			require.Equal(t, before, schemaShape(t, tg.urlFor(fresh)))

			require.NoError(t, applySQLSchema(tg.sqlConfig(upgraded, 1, 1), tc.kind, tc.dir, tc.old, logger))
			hist := schemaHistory(t, tg.urlFor(upgraded))
			require.Equal(t, "0 -> 0.0", hist[0])
			require.Equal(t, tc.old, hist[len(hist)-1][strings.LastIndex(hist[len(hist)-1], " ")+1:])
			require.NoError(t, applySQLSchema(tg.sqlConfig(upgraded, 1, 1), tc.kind, tc.dir, "", logger))
			hist = schemaHistory(t, tg.urlFor(upgraded))
			require.Equal(t, tc.old+" -> "+nextAfter(t, tc.dir, tc.old), hist[len(hist)-len(stepsAfter(t, tc.dir, tc.old))])
			require.Equal(t, newest(t, tc.dir), hist[len(hist)-1][strings.LastIndex(hist[len(hist)-1], " ")+1:])

			require.Equal(t, before, schemaShape(t, tg.urlFor(upgraded)), "schema.sql and the versioned steps disagree")
		})
	}
}

func newest(t *testing.T, dir string) string {
	v, err := newestSchemaVersion(dir)
	require.NoError(t, err)
	return v
}

func stepsAfter(t *testing.T, dir, version string) []schemaStep {
	steps, err := schemaSteps(dir, version, "")
	require.NoError(t, err)
	require.NotEmpty(t, steps)
	return steps
}

func nextAfter(t *testing.T, dir, version string) string {
	return stepsAfter(t, dir, version)[0].manifest.CurrVersion
}

// localPostgres returns the maintenance URL of the local Postgres, skipping
// the test when none answers.
func localPostgres(t *testing.T) string {
	t.Helper()
	const admin = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Skipf("no Postgres at 127.0.0.1:5432: %v", err)
		}
		t.Fatalf("Postgres at 127.0.0.1:5432 answered but refused: %v", err)
	}
	require.NoError(t, conn.Close(ctx))
	return admin
}

func dropDatabase(t *testing.T, admin, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("dropping %s: %v", name, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("dropping %s: %v", name, err)
	}
}

func query(t *testing.T, url, sql string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}

// schemaHistory lists the recorded steps, oldest first, as "old -> new".
func schemaHistory(t *testing.T, url string) []string {
	return query(t, url, `SELECT old_version || ' -> ' || new_version FROM schema_update_history ORDER BY update_time`)
}

// schemaShape describes every column and index of the public schema.
//
// It leaves out what the versioned steps (as of server 1.32.1) leave behind
// and schema.sql never had, none of which the server uses: the table
// cluster_metadata, replaced by cluster_metadata_info in version 1.7, and
// column defaults ('Json' encodings, version 0) of the queue tables, which
// the server always writes explicitly.
func schemaShape(t *testing.T, url string) []string {
	return query(t, url, `
		SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable ||
		       ' generated=' || coalesce(generation_expression, '') || ' len=' || coalesce(character_maximum_length::text, '')
		FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name NOT LIKE 'schema_%' AND table_name <> 'cluster_metadata'
		UNION ALL
		SELECT 'index ' || indexdef FROM pg_indexes
		WHERE schemaname = 'public' AND tablename NOT LIKE 'schema_%' AND tablename <> 'cluster_metadata'
		ORDER BY 1`)
}
