package devserver

import (
	"bytes"
	"context"
	"crypto/md5" // #nosec G501 -- a manifest checksum, as temporal-sql-tool records it
	stdsql "database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	serverschema "go.temporal.io/server/schema"

	"github.com/omnichat/omnichat/pglocal"
)

const (
	// visibilitySuffix names the visibility database after the main one.
	visibilitySuffix = "_visibility"

	// Embedded schema directories (go.temporal.io/server/schema), the same
	// files temporalio/admin-tools ships under /etc/temporal/schema.
	pgMainSchema       = "postgresql/v12/temporal"
	pgVisibilitySchema = "postgresql/v12/visibility"

	// Connection pool limits of the server's Postgres stores. Every one of the
	// four services (frontend, history, matching, worker) opens its own pool
	// to each of the two databases, so the worst case is 4 × (15 + 5) = 80
	// connections: below Postgres's default max_connections of 100 with room
	// left for omnichat's own pool, psql and benchmarks. On a 2-core machine
	// more concurrent statements would only queue inside Postgres; under a
	// load of 50 concurrent conversations the whole server used about 30
	// main and 8 visibility connections, and throughput did not differ
	// measurably from limits of 20/10 (which could reach 120). Idle limits
	// equal the maximum: a pool never keeps more than it needed at its peak,
	// and bursts do not pay for reconnecting (one Postgres fork each).
	// Visibility writes are asynchronous (history's visibility queue), so a
	// small visibility pool only adds lag under extreme load.
	pgMaxConns               = 15
	pgMaxIdleConns           = 15
	pgVisibilityMaxConns     = 5
	pgVisibilityMaxIdleConns = 5

	// pgApplicationName tags the server's connections in pg_stat_activity
	// unless the URL sets application_name itself.
	pgApplicationName = "omnichat-temporal"

	// pgSchemaLockKey is the advisory lock (per database) held while a schema
	// is applied, so that two processes starting on a new database at once
	// do not interleave their statements.
	pgSchemaLockKey = 7233_0001
)

// postgresTarget is a parsed Config.Postgres.
type postgresTarget struct {
	url       *url.URL // as given, for pglocal.EnsureDatabase
	addr      string   // host:port
	user      string
	password  string
	database  string
	connAttrs map[string]string // URL query parameters passed on to the driver
}

// parsePostgresURL reads the parts of a Postgres URL the server's SQL plugin
// takes separately. pgx fills in what the URL leaves out (user, port) the way
// libpq would.
func parsePostgresURL(raw string) (*postgresTarget, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("devserver: Postgres must be a URL like postgres://user:pass@host:5432/dbname?sslmode=disable")
	}
	pc, err := pgx.ParseConfig(raw) // pgx redacts the password in its errors
	if err != nil {
		return nil, fmt.Errorf("devserver: Postgres: %w", err)
	}
	if pc.Host == "" || strings.HasPrefix(pc.Host, "/") {
		return nil, errors.New("devserver: Postgres must name a TCP host (the server's SQL plugin cannot use a Unix socket)")
	}
	if pc.Database == "" {
		return nil, errors.New("devserver: Postgres URL must name a database (postgres://host/dbname)")
	}
	// Postgres truncates identifiers to 63 bytes; the visibility database's
	// name must survive that intact.
	if len(pc.Database)+len(visibilitySuffix) > 63 {
		return nil, fmt.Errorf("devserver: Postgres database name %q is too long (at most %d bytes, to leave room for %q)",
			pc.Database, 63-len(visibilitySuffix), visibilitySuffix)
	}
	t := &postgresTarget{
		url:       u,
		addr:      net.JoinHostPort(pc.Host, strconv.Itoa(int(pc.Port))),
		user:      pc.User,
		password:  pc.Password,
		database:  pc.Database,
		connAttrs: map[string]string{},
	}
	for k, vs := range u.Query() {
		switch k {
		case "host", "port", "user", "password", "dbname", "database":
			// Already in addr/user/password/database.
		default:
			t.connAttrs[k] = vs[len(vs)-1]
		}
	}
	if _, ok := t.connAttrs["application_name"]; !ok {
		t.connAttrs["application_name"] = pgApplicationName
	}
	if _, ok := t.connAttrs["sslmode"]; !ok {
		// The plugin would default to "disable"; "prefer" is what libpq,
		// pgx and so omnichat's own pool use for the same URL.
		t.connAttrs["sslmode"] = "prefer"
	}
	return t, nil
}

// sqlConfig returns the server's persistence config for one database.
func (t *postgresTarget) sqlConfig(database string, maxConns, maxIdle int) *config.SQL {
	return &config.SQL{
		PluginName:        pgplugin.PluginNamePGX,
		ConnectProtocol:   "tcp",
		ConnectAddr:       t.addr,
		User:              t.user,
		Password:          t.password,
		DatabaseName:      database,
		ConnectAttributes: t.connAttrs,
		MaxConns:          maxConns,
		MaxIdleConns:      maxIdle,
	}
}

// urlFor is the given URL pointed at another database on the same server.
func (t *postgresTarget) urlFor(database string) string {
	u := *t.url
	u.Path = "/" + database
	u.RawPath = ""
	q := u.Query()
	q.Del("dbname")
	q.Del("database")
	u.RawQuery = q.Encode()
	return u.String()
}

// preparePostgres makes the two databases ready for the server: created when
// missing, schemas applied or upgraded, shard count checked, namespace
// registered. It returns the persistence config.
func preparePostgres(ctx context.Context, cfg Config) (config.Persistence, error) {
	t, err := parsePostgresURL(cfg.Postgres)
	if err != nil {
		return config.Persistence{}, err
	}
	mainCfg := t.sqlConfig(t.database, pgMaxConns, pgMaxIdleConns)
	visCfg := t.sqlConfig(t.database+visibilitySuffix, pgVisibilityMaxConns, pgVisibilityMaxIdleConns)

	for _, db := range []struct {
		sql    *config.SQL
		kind   sqlplugin.DbKind
		schema string
	}{
		{mainCfg, sqlplugin.DbKindMain, pgMainSchema},
		{visCfg, sqlplugin.DbKindVisibility, pgVisibilitySchema},
	} {
		if err := pglocal.EnsureDatabase(ctx, t.urlFor(db.sql.DatabaseName)); err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: %w", err)
		}
		if err := applySQLSchema(db.sql, db.kind, db.schema, "", cfg.Logger); err != nil {
			return config.Persistence{}, fmt.Errorf("devserver: schema of Postgres database %q: %w", db.sql.DatabaseName, err)
		}
	}
	shards, err := prepareStore(ctx, mainCfg, cfg, defaultPostgresShards, "Postgres database "+strconv.Quote(t.database))
	if err != nil {
		return config.Persistence{}, err
	}

	const mainStore, visStore = "postgres-default", "postgres-visibility"
	return config.Persistence{
		DefaultStore:     mainStore,
		VisibilityStore:  visStore,
		NumHistoryShards: shards,
		DataStores: map[string]config.DataStore{
			mainStore: {SQL: mainCfg},
			visStore:  {SQL: visCfg},
		},
	}, nil
}

// schemaManifest is a versioned/vX.Y/manifest.json of the server's schemas.
type schemaManifest struct {
	CurrVersion          string
	MinCompatibleVersion string
	Description          string
	SchemaUpdateCqlFiles []string
	AllowNoCqlFiles      bool
}

// applySQLSchema brings a database's schema to the newest version the server
// module embeds (go.temporal.io/server/schema, the same files temporalio/
// admin-tools ships), the way temporal-sql-tool does, recording every step in
// schema_version and schema_update_history:
//
//   - a new database (no recorded version) gets <schemaDir>/schema.sql, the
//     complete current schema, at the newest version: `setup-schema
//     --schema-name <schemaDir> -v <newest>`. That is 1 to 3 seconds faster
//     than replaying every step from 0.0 (mostly the visibility schema,
//     whose steps rebuild indexes and generated columns several times);
//   - an existing database gets every versioned step newer than its version,
//     in order: `update-schema -d <schemaDir>/versioned`. On an up-to-date
//     database that reads one row and changes nothing.
//
// target is for tests: a new database is set up as `setup-schema -v 0.0` and
// then updated to target only, as an old database would be.
//
// It reimplements tools/common/schema's SetupTask and UpdateTask (the same
// steps, checks and tolerance of half-applied steps) because those packages
// import github.com/urfave/cli, which is not in this module's go.sum.
func applySQLSchema(sqlCfg *config.SQL, kind sqlplugin.DbKind, schemaDir, target string, logger *slog.Logger) error {
	// One connection, so that the session advisory lock covers every statement.
	adminCfg := *sqlCfg
	adminCfg.MaxConns, adminCfg.MaxIdleConns = 1, 1
	db, err := sql.NewSQLAdminDB(kind, &adminCfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if err := db.Exec("SELECT pg_advisory_lock($1)", pgSchemaLockKey); err != nil {
		return fmt.Errorf("locking: %w", err)
	}
	defer func() { _ = db.Exec("SELECT pg_advisory_unlock($1)", pgSchemaLockKey) }()

	if err := db.CreateSchemaVersionTables(); err != nil {
		return fmt.Errorf("creating schema version tables: %w", err)
	}
	current, err := db.ReadSchemaVersion(sqlCfg.DatabaseName)
	if err != nil && !errors.Is(err, stdsql.ErrNoRows) {
		// Not "new": setting up a database that has a schema would record
		// the newest version without applying the steps in between.
		return fmt.Errorf("reading schema version: %w", err)
	}
	if current == "" {
		// setup-schema
		initial, stmts := "0.0", []string(nil)
		if target == "" {
			if initial, err = newestSchemaVersion(schemaDir); err != nil {
				return err
			}
			if stmts, err = readSchemaFile(path.Join(schemaDir, "schema.sql")); err != nil {
				return err
			}
		}
		if err := execSchemaStatements(db, stmts); err != nil {
			return fmt.Errorf("creating schema %s: %w", initial, err)
		}
		if err := db.UpdateSchemaVersion(sqlCfg.DatabaseName, initial, initial); err != nil {
			return err
		}
		if err := db.WriteSchemaUpdateLog("0", initial, "", "initial version"); err != nil {
			return err
		}
		if initial != "0.0" {
			logger.Info("temporal: created schema", "database", sqlCfg.DatabaseName, "schema", schemaDir, "version", initial)
		}
		current = initial
	}

	// update-schema
	steps, err := schemaSteps(schemaDir, current, target)
	if err != nil {
		return err
	}
	from := current
	for _, step := range steps {
		if err := execSchemaStatements(db, step.stmts); err != nil {
			return fmt.Errorf("applying version %s: %w", step.manifest.CurrVersion, err)
		}
		if err := db.UpdateSchemaVersion(sqlCfg.DatabaseName, step.manifest.CurrVersion, step.manifest.MinCompatibleVersion); err != nil {
			return fmt.Errorf("recording version %s: %w", step.manifest.CurrVersion, err)
		}
		if err := db.WriteSchemaUpdateLog(current, step.manifest.CurrVersion, step.md5, step.manifest.Description); err != nil {
			return fmt.Errorf("recording version %s: %w", step.manifest.CurrVersion, err)
		}
		current = step.manifest.CurrVersion
	}
	if len(steps) > 0 && from != "0.0" {
		logger.Info("temporal: upgraded schema", "database", sqlCfg.DatabaseName, "schema", schemaDir, "from", from, "to", current)
	}
	if target == "" {
		// The check the server itself makes at start, failing here with the
		// database named.
		if err := db.VerifyVersion(); err != nil {
			return err
		}
	}
	return nil
}

// execSchemaStatements runs schema statements. Like the tool, it skips those
// that fail because their object already exists (or, for a drop, is gone): a
// setup or step that a crash interrupted half way then completes on the next
// start instead of failing forever.
func execSchemaStatements(db sqlplugin.AdminDB, stmts []string) error {
	for _, stmt := range stmts {
		if err := db.Exec(stmt); err != nil {
			msg := err.Error()
			if strings.Contains(msg, "already exist") || strings.Contains(msg, "not found") {
				continue
			}
			return fmt.Errorf("%w (statement: %.80q)", err, stmt)
		}
	}
	return nil
}

func readSchemaFile(name string) ([]string, error) {
	content, err := fs.ReadFile(serverschema.Assets(), name)
	if err != nil {
		return nil, err
	}
	stmts, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(content)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return stmts, nil
}

// newestSchemaVersion is the version of the last versioned step, which
// schema.sql is kept equal to.
func newestSchemaVersion(schemaDir string) (string, error) {
	steps, err := schemaSteps(schemaDir, "0.0", "")
	if err != nil {
		return "", err
	}
	if len(steps) == 0 {
		return "", fmt.Errorf("no versioned schema in %s", schemaDir)
	}
	return steps[len(steps)-1].manifest.CurrVersion, nil
}

type schemaStep struct {
	manifest schemaManifest
	md5      string
	stmts    []string
}

// schemaSteps reads the versioned steps after current up to target ("" = all)
// from the embedded schema files, in version order.
func schemaSteps(schemaDir, current, target string) ([]schemaStep, error) {
	fsys := serverschema.Assets()
	dir := path.Join(schemaDir, "versioned")
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	cur, err := parseSchemaVersion(current)
	if err != nil {
		return nil, fmt.Errorf("database schema version: %w", err)
	}
	var tgt []int
	if target != "" {
		if tgt, err = parseSchemaVersion(target); err != nil {
			return nil, err
		}
	}
	type versionDir struct {
		name string
		v    []int
	}
	var dirs []versionDir
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "v") {
			continue
		}
		v, err := parseSchemaVersion(e.Name()[1:])
		if err != nil {
			continue // the tool skips such directories too
		}
		if slices.Compare(v, cur) <= 0 || (tgt != nil && slices.Compare(v, tgt) > 0) {
			continue
		}
		dirs = append(dirs, versionDir{e.Name(), v})
	}
	slices.SortFunc(dirs, func(a, b versionDir) int { return slices.Compare(a.v, b.v) })

	steps := make([]schemaStep, 0, len(dirs))
	for _, d := range dirs {
		p := path.Join(dir, d.name)
		raw, err := fs.ReadFile(fsys, path.Join(p, "manifest.json"))
		if err != nil {
			return nil, err
		}
		var m schemaManifest
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s/manifest.json: %w", p, err)
		}
		if mv, err := parseSchemaVersion(m.CurrVersion); err != nil || slices.Compare(mv, d.v) != 0 {
			return nil, fmt.Errorf("%s/manifest.json: CurrVersion %q does not match the directory", p, m.CurrVersion)
		}
		sum := md5.Sum(raw) // #nosec G401
		step := schemaStep{manifest: m, md5: hex.EncodeToString(sum[:])}
		for _, f := range m.SchemaUpdateCqlFiles {
			stmts, err := readSchemaFile(path.Join(p, f))
			if err != nil {
				return nil, err
			}
			for _, s := range stmts {
				if !hasAnyPrefix(s, "CREATE", "ALTER", "INSERT", "DROP", "DO") {
					return nil, fmt.Errorf("%s/%s: statement not allowed in a schema update: %.60q", p, f, s)
				}
			}
			step.stmts = append(step.stmts, stmts...)
		}
		if len(step.stmts) == 0 && !m.AllowNoCqlFiles {
			return nil, fmt.Errorf("%s: no statements", p)
		}
		steps = append(steps, step)
	}
	if tgt != nil && (len(dirs) == 0 || slices.Compare(dirs[len(dirs)-1].v, tgt) != 0) && slices.Compare(cur, tgt) < 0 {
		return nil, fmt.Errorf("schema version %s not found in %s", target, dir)
	}
	return steps, nil
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// parseSchemaVersion parses "1.19" (or "1.19.0") into comparable numbers.
func parseSchemaVersion(s string) ([]int, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	v := make([]int, 3)
	if len(parts) > 3 {
		return nil, fmt.Errorf("invalid version %q", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("invalid version %q", s)
		}
		v[i] = n
	}
	return v, nil
}
