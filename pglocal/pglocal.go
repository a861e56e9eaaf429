// Package pglocal decides which Postgres omnichat stores its data in.
//
// The product promises that it runs with no setup: an explicit DATABASE_URL
// wins; otherwise a Postgres already listening on the conventional local port is
// used; otherwise the program runs a private cluster under its data folder, from
// the machine's Postgres binaries or from official builds it downloads. When all
// of that fails the error names every way out, because the operator reading it
// has nothing else to go on.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultLocalURL is where a developer's or a distribution's Postgres usually
// listens, with the trust authentication those setups tend to use.
const DefaultLocalURL = "postgres://postgres@127.0.0.1:5432/omnichat?sslmode=disable"

// localURL is a variable so tests can point the "local" step at a closed port.
var localURL = DefaultLocalURL

// localConnectTimeout is short because a missing local server must not delay
// startup; a firewall that drops packets would otherwise stall for minutes.
const localConnectTimeout = 2 * time.Second

// urlConnectTimeout bounds an explicit DATABASE_URL without connect_timeout, so
// a wrong host fails in seconds instead of the kernel's multi-minute default.
const urlConnectTimeout = 10 * time.Second

// Options says where Postgres may come from.
type Options struct {
	URL     string       // DATABASE_URL as given; "" => the default chain below
	DataDir string       // the product's data folder; a private cluster lives in DataDir/postgres
	Logger  *slog.Logger // nil => discard
	// Download permits fetching Postgres binaries when none are installed (default true in the caller).
	Download bool
}

// Database is a usable Postgres: its URL and, for a private cluster, how to stop it.
type Database struct {
	URL     string
	Private bool   // true when this process started the server
	Source  string // "DATABASE_URL", "local", "private" — for the startup log line
	// Stop stops a private server (fast shutdown); no-op otherwise.
	Stop func(context.Context) error
}

func noStop(context.Context) error { return nil }

// Resolve returns the Postgres the product should use, following the order in
// the package comment. A database that is missing on a reachable server is
// created, so a fresh DATABASE_URL or a fresh local server just works. A
// private server left running by a crashed earlier run is taken over: it is
// reported as Private and Stop stops it, as if this process had started it.
func Resolve(ctx context.Context, opts Options) (*Database, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	if opts.URL != "" {
		if err := EnsureDatabase(ctx, opts.URL); err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return &Database{URL: opts.URL, Source: "DATABASE_URL", Stop: noStop}, nil
	}

	localErr := tryLocal(ctx, localURL)
	if localErr == nil {
		return &Database{URL: localURL, Source: "local", Stop: noStop}, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	log.Info("postgres: no usable local server, using a private cluster", "reason", localErr.Error())

	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = ".omnichat"
	}
	src, srcErr := defaultDownloadSource()
	db, err := startPrivate(ctx, privateConfig{
		dataDir:     dataDir,
		log:         log,
		search:      searchDirs(),
		download:    opts.Download,
		source:      src,
		sourceErr:   srcErr,
		relocations: relocationBases(),
	})
	if err == nil {
		return db, nil
	}
	var nb *noBinariesError
	if errors.As(err, &nb) {
		return nil, fmt.Errorf("no Postgres: %v, %v; set DATABASE_URL, start a Postgres on 127.0.0.1:5432, or install PostgreSQL (apt-get install postgresql)", localErr, nb)
	}
	return nil, fmt.Errorf("no Postgres: %v, and the private cluster under %s failed: %w", localErr, dataDir, err)
}

// localError words the failure of the local step for the final error, which
// must tell "nothing there" apart from "something there that refused us".
type localError struct {
	addr     string
	answered bool
	err      error
}

func (e *localError) Error() string {
	if e.answered {
		return fmt.Sprintf("%s answered but could not be used (%v)", e.addr, e.err)
	}
	return fmt.Sprintf("%s did not answer (%v)", e.addr, e.err)
}

func (e *localError) Unwrap() error { return e.err }

func tryLocal(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return err
	}
	cfg.ConnectTimeout = localConnectTimeout
	addr := serverAddr(cfg)
	err = ensureDatabase(ctx, cfg)
	if err == nil {
		return nil
	}
	var ce *connError
	if errors.As(err, &ce) {
		return &localError{addr: addr, answered: ce.answered, err: ce.err}
	}
	return &localError{addr: addr, answered: true, err: err}
}

// EnsureDatabase connects to the server of url using the maintenance database
// ("postgres") and creates url's database when it does not exist (CREATE
// DATABASE with a properly quoted identifier). Safe under concurrent callers (a
// duplicate_database error is success).
//
// It first connects to url itself: when the database exists that is the only
// connection made, and a role without access to the maintenance database still
// works.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return err
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = urlConnectTimeout
	}
	return ensureDatabase(ctx, cfg)
}

// SQLSTATE codes this package reacts to.
const (
	codeInvalidCatalog    = "3D000" // database does not exist
	codeDuplicateDatabase = "42P04"
	codeUniqueViolation   = "23505" // concurrent CREATE DATABASE can surface as this
	codeObjectInUse       = "55006" // template database busy, e.g. another creator
)

func ensureDatabase(ctx context.Context, cfg *pgx.ConnConfig) error {
	addr := serverAddr(cfg)
	name := cfg.Database
	if name == "" {
		// The server's own default, so we create what a connection would use.
		name = cfg.User
	}

	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err == nil {
		return conn.Close(ctx)
	}
	if !hasCode(err, codeInvalidCatalog) {
		return connectError(addr, err)
	}

	for attempt := 1; ; attempt++ {
		err = createDatabase(ctx, cfg, name)
		if err == nil || hasCode(err, codeDuplicateDatabase) || hasCode(err, codeUniqueViolation) {
			return nil
		}
		if !hasCode(err, codeObjectInUse) || attempt == 5 {
			return fmt.Errorf("postgres at %s: create database %q: %w", addr, name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		}
	}
}

func createDatabase(ctx context.Context, cfg *pgx.ConnConfig, name string) error {
	var conn *pgx.Conn
	var err error
	// template1 exists on every server; "postgres" may have been dropped.
	for _, maint := range []string{"postgres", "template1"} {
		mc := cfg.Copy()
		mc.Database = maint
		conn, err = pgx.ConnectConfig(ctx, mc)
		if err == nil || !hasCode(err, codeInvalidCatalog) {
			break
		}
	}
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}

func hasCode(err error, code string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == code
}

// connError names the server in the product's words: the operator fixing a
// DATABASE_URL needs host:port and the reason, not pgx's layers of context.
type connError struct {
	addr     string
	answered bool // the server spoke (auth failure, missing role, …)
	err      error
}

func (e *connError) Error() string {
	if e.answered {
		return fmt.Sprintf("postgres at %s refused the connection: %v", e.addr, e.err)
	}
	return fmt.Sprintf("postgres at %s did not answer: %v", e.addr, e.err)
}

func (e *connError) Unwrap() error { return e.err }

func connectError(addr string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return &connError{addr: addr, answered: true, err: pgErr}
	}
	return &connError{addr: addr, err: rootCause(err)}
}

// rootCause digs out the network error ("dial tcp 127.0.0.1:5432: connect:
// connection refused") from pgx's wrapping, which repeats the user, database
// and address the caller already names.
func rootCause(err error) error {
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		if u := errors.Unwrap(ce); u != nil {
			return u
		}
	}
	return err
}

func serverAddr(cfg *pgx.ConnConfig) string {
	if len(cfg.Host) > 0 && cfg.Host[0] == '/' {
		return fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}
