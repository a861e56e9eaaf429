package pglocal

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// A private cluster lives in DataDir/postgres:
//
//	postgres/data          the cluster (PGDATA)
//	postgres/run           the unix socket folder
//	postgres/port          the TCP port last used, reused when free
//	postgres/postgres.log  server log (pg_ctl -l)
//	postgres/setup.lock    held while a process sets the cluster up
//
// Downloaded binaries live in DataDir/postgres-bin/<version>.
//
// When we run as root and the server's unprivileged user cannot enter DataDir
// (say it is under /root, mode 0700), both folders live elsewhere and
// DataDir/postgres and DataDir/postgres-bin are symlinks to them; see placeDir.
const (
	clusterDirName  = "postgres"
	binariesDirName = "postgres-bin"
	privateDatabase = "omnichat"
)

// relocationBases are, in order of preference, where root keeps a cluster the
// server user could not reach inside DataDir. /var/lib comes first because it
// survives reboots; the temp folder is often a tmpfs or swept by
// systemd-tmpfiles, which would silently lose the product's data, so it is
// only a last resort. A variable so tests can use a folder they clean up.
var relocationBases = func() []string {
	return []string{"/var/lib/omnichat", os.TempDir()}
}

type privateConfig struct {
	dataDir     string
	log         *slog.Logger
	search      []string // binary folders to try before downloading
	download    bool
	source      downloadSource
	sourceErr   error // why there is no source for this platform
	relocations []string
}

var errNoBinaries = errors.New("no Postgres binaries found")

// noBinariesError is the "nothing to run" failure; Resolve turns it into the
// message that lists every way out.
type noBinariesError struct {
	skipped     []string // binaries found but unusable, and why
	disabled    bool
	downloadErr error
}

func (e *noBinariesError) Error() string {
	var b strings.Builder
	b.WriteString("no Postgres binaries found (looked in " + searchDescription)
	if len(e.skipped) > 0 {
		b.WriteString("; unusable: " + strings.Join(e.skipped, "; "))
	}
	b.WriteString(")")
	if e.disabled {
		b.WriteString(", and downloading is disabled")
	} else {
		fmt.Fprintf(&b, ", and downloading failed (%v)", e.downloadErr)
	}
	return b.String()
}

func (e *noBinariesError) Unwrap() error { return errNoBinaries }

// startPrivate starts (or adopts) the private cluster under pc.dataDir and
// returns its URL with database omnichat created.
func startPrivate(ctx context.Context, pc privateConfig) (*Database, error) {
	if pc.log == nil {
		pc.log = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(pc.dataDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	// Binaries are settled before anything is created, so a machine without
	// Postgres gets the "no Postgres" error and no stray folders. The version
	// of an existing cluster is read through DataDir/postgres, symlink or not.
	acct, err := serverAccount(filepath.Join(dataDir, clusterDirName, "data"))
	if err != nil {
		return nil, err
	}
	major, err := existingMajor(filepath.Join(dataDir, clusterDirName, "data"))
	if err != nil {
		return nil, err
	}
	bins, err := pc.binaries(ctx, dataDir, acct, major)
	if err != nil {
		return nil, err
	}

	root, err := placeDir(dataDir, clusterDirName, acct, pc.relocations, pc.log)
	if err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, filepath.Join(root, "setup.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	c := &cluster{
		root:    root,
		data:    filepath.Join(root, "data"),
		sockDir: filepath.Join(root, "run"),
		acct:    acct,
		log:     pc.log,
	}
	// Another process may have created the cluster while we looked for
	// binaries; it used the same search, but check rather than assume.
	if major, err = existingMajor(c.data); err != nil {
		return nil, err
	}
	if major != 0 && major != bins.major {
		return nil, fmt.Errorf("%s was created by PostgreSQL %d, but the binaries found are PostgreSQL %s (%s)", c.data, major, bins.version, bins.dir)
	}
	pc.log.Info("postgres: private cluster", "dir", c.data, "binaries", bins.dir, "version", bins.version, "run_as", acct.String())

	if db, err := c.adopt(ctx, bins); db != nil || err != nil {
		return db, err
	}
	if major == 0 {
		if err := c.initdb(ctx, bins); err != nil {
			return nil, err
		}
	}
	return c.start(ctx, bins)
}

// binaries finds installed binaries, then earlier downloads, then downloads.
func (pc privateConfig) binaries(ctx context.Context, dataDir string, acct *account, wantMajor int) (binaries, error) {
	dirs := slices.Clone(pc.search)
	// Earlier downloads, by their real path: when DataDir/postgres-bin is a
	// symlink out of a folder the server user cannot enter, the link path
	// would not work for it.
	if binRoot, err := filepath.EvalSymlinks(filepath.Join(dataDir, binariesDirName)); err == nil {
		if pc.source.version != "" {
			dirs = append(dirs, filepath.Join(binRoot, pc.source.version, "bin"))
		}
		cached, _ := filepath.Glob(filepath.Join(binRoot, "*", "bin"))
		for _, d := range cached {
			if isComplete(filepath.Dir(d)) {
				dirs = append(dirs, d)
			}
		}
	}
	b, skipped, err := findBinaries(ctx, dirs, wantMajor, acct)
	if err == nil {
		return b, nil
	}
	nb := &noBinariesError{skipped: skipped}
	switch {
	case !pc.download:
		nb.disabled = true
		return b, nb
	case pc.sourceErr != nil:
		nb.downloadErr = pc.sourceErr
		return b, nb
	}
	fail := func(err error) (binaries, error) {
		nb.downloadErr = err
		return binaries{}, nb
	}
	if v, _, _ := strings.Cut(pc.source.version, "."); wantMajor != 0 && v != strconv.Itoa(wantMajor) {
		// Spare the download: that build could not open this cluster anyway.
		return fail(fmt.Errorf("the downloadable build is PostgreSQL %s, but the cluster was created by PostgreSQL %d", pc.source.version, wantMajor))
	}
	binRoot, err := placeDir(dataDir, binariesDirName, acct, pc.relocations, pc.log)
	if err != nil {
		return fail(err)
	}
	dir, err := fetchBinaries(ctx, binRoot, pc.source, pc.log)
	if err != nil {
		return fail(err)
	}
	if err := chownTree(dir, acct); err != nil {
		return fail(err)
	}
	if b, err = probeVersion(ctx, filepath.Join(dir, "bin"), acct); err != nil {
		return fail(fmt.Errorf("the downloaded binaries do not run here: %w", err))
	}
	if wantMajor != 0 && b.major != wantMajor {
		return fail(fmt.Errorf("the downloadable build is PostgreSQL %s, but the cluster was created by PostgreSQL %d", b.version, wantMajor))
	}
	return b, nil
}

// placeDir returns the real folder behind DataDir/name, creating it owned by
// acct.
//
// Postgres must reach its files by path as the unprivileged user, so root
// cannot simply keep the cluster in a folder that user cannot enter, and
// loosening the permissions of someone's /root is not ours to do. When DataDir
// is not traversable for acct the folder goes to the first usable relocation
// base (see relocationBases), named after a hash of DataDir so two data
// folders never share a cluster, and DataDir/name becomes a symlink to it. The
// symlink is also the record: later runs follow it, so the cluster stays put
// even if the set of bases or the hash ever changed, and an operator listing
// DataDir sees where the data is.
func placeDir(dataDir, name string, acct *account, bases []string, log *slog.Logger) (string, error) {
	link := filepath.Join(dataDir, name)
	fi, err := os.Lstat(link)
	switch {
	case err == nil && fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(link)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(dataDir, target)
		}
		if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
			// Typically a temp folder emptied by a reboot. Whatever was there is
			// gone; start over rather than refuse to run.
			log.Warn("postgres: relocated folder is missing, recreating it empty", "link", link, "target", target)
		}
		return ensureDir(target, acct)
	case err == nil && fi.IsDir():
		if canTraverse(dataDir, acct) {
			return ensureDir(link, acct)
		}
		if entries, rerr := os.ReadDir(link); rerr != nil || len(entries) > 0 {
			return "", fmt.Errorf("%s cannot be used by %s, which Postgres runs as: a parent folder does not let it in; make the parent folders searchable (chmod o+x) or set OMNICHAT_DATA_DIR to a folder outside it", link, acct)
		}
		if err := os.Remove(link); err != nil {
			return "", err
		}
	case err == nil:
		return "", fmt.Errorf("%s exists and is not a folder", link)
	case !errors.Is(err, fs.ErrNotExist):
		return "", err
	default:
		if canTraverse(dataDir, acct) {
			return ensureDir(link, acct)
		}
	}

	sum := sha256.Sum256([]byte(dataDir))
	id := "omnichat-pg-" + hex.EncodeToString(sum[:8])
	var errs []error
	for _, base := range bases {
		dir, err := relocationDir(filepath.Join(base, id), acct)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		target, err := ensureDir(filepath.Join(dir, name), acct)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Symlink(target, link); err != nil {
			if errors.Is(err, fs.ErrExist) {
				// Another process relocated first; use what its link says.
				return placeDir(dataDir, name, acct, nil, log)
			}
			return "", err
		}
		log.Info("postgres: data folder is not reachable by the server user; keeping the folder elsewhere",
			"run_as", acct.String(), "link", link, "target", target)
		return target, nil
	}
	return "", fmt.Errorf("%s cannot be reached by %s, which Postgres runs as, and no other place worked: %w", dataDir, acct, errors.Join(errs...))
}

// relocationDir creates dir as a root-owned folder anyone may enter. It must
// be a real folder we own: in a world-writable base such as /tmp another user
// could have planted a symlink or a folder of their own under the predictable
// name, to redirect or read the cluster.
func relocationDir(dir string, acct *account) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() || !ownedBy(dir, &account{} /* uid 0 */) {
		return "", fmt.Errorf("%s is not a folder owned by root", dir)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	if !canTraverse(dir, acct) {
		return "", fmt.Errorf("%s is not reachable by %s", dir, acct)
	}
	return dir, nil
}

// ensureDir creates dir (mode 0700) and hands it to acct when it is not
// theirs yet; the recursive chown only happens on that first hand-over.
func ensureDir(dir string, acct *account) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if !ownedBy(dir, acct) {
		if err := chownTree(dir, acct); err != nil {
			return "", err
		}
	}
	return dir, nil
}

type cluster struct {
	root, data, sockDir string
	acct                *account
	log                 *slog.Logger

	mu      sync.Mutex
	stopped bool
}

func (c *cluster) logFile() string  { return filepath.Join(c.root, "postgres.log") }
func (c *cluster) portFile() string { return filepath.Join(c.root, "port") }
func (c *cluster) pidFile() string  { return filepath.Join(c.data, "postmaster.pid") }

// existingMajor returns the major version recorded in the cluster at data, 0
// when there is no cluster yet.
func existingMajor(data string) (int, error) {
	b, err := readOwnFile(filepath.Join(data, "PG_VERSION"))
	if err == nil {
		v, _, _ := strings.Cut(strings.TrimSpace(string(b)), ".")
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n, nil
		}
		return 0, fmt.Errorf("%s: unreadable PG_VERSION %q", data, b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	entries, err := os.ReadDir(data)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	if len(entries) > 0 {
		// Never initdb over files we do not understand.
		return 0, fmt.Errorf("%s is not empty but holds no Postgres cluster (no PG_VERSION); move it away to start a new cluster", data)
	}
	return 0, nil
}

// childEnv keeps PG* variables of the operator's shell (PGDATA, PGPORT, …)
// from steering our server, and fixes the locale so initdb's behaviour and
// messages do not depend on the caller's LANG.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

func (c *cluster) command(ctx context.Context, bins binaries, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bins.path(name), args...)
	// The server user may not be able to enter our working directory.
	cmd.Dir = c.root
	cmd.Env = childEnv()
	runAs(cmd, c.acct)
	return cmd
}

func (c *cluster) run(ctx context.Context, bins binaries, name string, args ...string) error {
	out, err := c.command(ctx, bins, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, lastLines(out, 15))
	}
	return nil
}

// initdb creates the cluster in a scratch folder and renames it into place, so
// a crash halfway never leaves a data folder that looks like a cluster but is
// not one.
func (c *cluster) initdb(ctx context.Context, bins binaries) error {
	tmp := c.data + ".initdb"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	var errs []error
	// C.UTF-8 gives proper Unicode character classes (upper/lower on accented
	// names) with the stable, byte-order collation of C; not every system has
	// it, and plain C always works.
	for _, locale := range []string{"C.UTF-8", "C"} {
		err := c.run(ctx, bins, "initdb", "-D", tmp, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale="+locale)
		if err == nil {
			if err := c.ensureInclude(tmp); err != nil {
				return err
			}
			// An empty data folder (made by hand, say) is replaced.
			if err := os.Remove(c.data); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			c.log.Info("postgres: created cluster", "dir", c.data, "locale", locale)
			return os.Rename(tmp, c.data)
		}
		errs = append(errs, err)
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

const includeLine = "include_if_exists = 'omnichat.conf'"

// ensureInclude makes postgresql.conf read omnichat.conf, which start rewrites
// with the port and listen settings. A config file instead of pg_ctl -o keeps
// paths out of the shell command line pg_ctl builds.
func (c *cluster) ensureInclude(dataDir string) error {
	conf := filepath.Join(dataDir, "postgresql.conf")
	b, err := readOwnFile(conf)
	if err != nil {
		return err
	}
	if bytes.Contains(b, []byte(includeLine)) {
		return nil
	}
	b = fmt.Appendf(b, "\n# Added by omnichat: listen settings, rewritten at every start.\n%s\n", includeLine)
	return writeFileAs(conf, b, 0o600, c.acct)
}

// maxSocketPath is the shortest sun_path among supported systems (macOS: 104
// bytes including the terminating NUL).
const maxSocketPath = 103

func (c *cluster) writeConf(port int) error {
	socketDir := c.sockDir
	if len(filepath.Join(c.sockDir, ".s.PGSQL."+strconv.Itoa(port))) > maxSocketPath {
		// TCP is what the product uses; the socket is a convenience for psql.
		c.log.Info("postgres: data folder path too long for a unix socket, listening on TCP only", "dir", c.sockDir)
		socketDir = ""
	} else if _, err := ensureDir(c.sockDir, c.acct); err != nil {
		return err
	}
	quote := func(s string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
	}
	conf := fmt.Sprintf(`# Written by omnichat at every start of its private cluster; edits are overwritten.
# Loopback TCP and a private socket folder only: the cluster trusts every local connection.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = %s
`, port, quote(socketDir))
	file := filepath.Join(c.data, "omnichat.conf")
	return writeFileAs(file, []byte(conf), 0o600, c.acct)
}

// rotateLog keeps the server log from growing without bound across restarts.
func (c *cluster) rotateLog() {
	if fi, err := os.Stat(c.logFile()); err == nil && fi.Size() > 10<<20 {
		_ = os.Rename(c.logFile(), c.logFile()+".1")
	}
}

func (c *cluster) logSince(offset int64) string {
	b, err := readOwnFile(c.logFile())
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	return lastLines(b[offset:], 15)
}

func (c *cluster) start(ctx context.Context, bins binaries) (*Database, error) {
	if err := c.ensureInclude(c.data); err != nil {
		return nil, err
	}
	c.rotateLog()
	avoid := 0
	for attempt := 1; ; attempt++ {
		port, err := choosePort(c.portFile(), avoid, c.acct)
		if err != nil {
			return nil, err
		}
		if err := c.writeConf(port); err != nil {
			return nil, err
		}
		var offset int64
		if fi, err := os.Stat(c.logFile()); err == nil {
			offset = fi.Size()
		}
		// -w waits until the server accepts connections, including any crash
		// recovery after an unclean stop; -t bounds that wait generously.
		err = c.run(ctx, bins, "pg_ctl", "start", "-D", c.data, "-l", c.logFile(), "-w", "-t", "300", "-s")
		if err != nil {
			logTail := c.logSince(offset)
			if attempt < 3 && (strings.Contains(logTail, "could not bind") || strings.Contains(logTail, "already in use")) {
				// Someone took the port between our check and the bind.
				avoid = port
				continue
			}
			if logTail != "" {
				return nil, fmt.Errorf("%w; server log %s: %s", err, c.logFile(), logTail)
			}
			return nil, err
		}
		c.log.Info("postgres: started private cluster", "port", port)
		db, err := c.database(ctx, bins, port)
		if err != nil {
			_ = c.stop(context.WithoutCancel(ctx), bins)
			return nil, err
		}
		return db, nil
	}
}

func privateURL(port int) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, privateDatabase)
}

// database creates omnichat on the running server and wraps it for Resolve.
func (c *cluster) database(ctx context.Context, bins binaries, port int) (*Database, error) {
	url := privateURL(port)
	var err error
	// pg_ctl -w already waited for "ready"; the retries cover a server that is
	// still finishing startup when adopted.
	for i := 0; i < 20; i++ {
		if err = EnsureDatabase(ctx, url); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, err
	}
	return &Database{
		URL:     url,
		Private: true,
		Source:  "private",
		Stop:    func(ctx context.Context) error { return c.stop(ctx, bins) },
	}, nil
}

// stop does a fast shutdown: sessions are cut, everything committed is
// flushed, and the next start needs no recovery. Calling it twice is fine.
func (c *cluster) stop(ctx context.Context, bins binaries) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	err := c.run(ctx, bins, "pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "120", "-s")
	if err != nil {
		if _, serr := os.Stat(c.pidFile()); !errors.Is(serr, fs.ErrNotExist) {
			return err
		}
		// No pid file: the server is already down, which is what we wanted.
	}
	c.stopped = true
	c.log.Info("postgres: stopped private cluster", "dir", c.data)
	return nil
}

type pidFileInfo struct {
	pid  int
	port int
}

// readPidFile parses postmaster.pid: line 1 is the pid, line 4 the port.
func readPidFile(file string) (pidFileInfo, error) {
	b, err := readOwnFile(file)
	if err != nil {
		return pidFileInfo{}, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, strings.TrimSpace(sc.Text()))
	}
	var info pidFileInfo
	if len(lines) > 0 {
		info.pid, _ = strconv.Atoi(lines[0])
	}
	if len(lines) > 3 {
		info.port, _ = strconv.Atoi(lines[3])
	}
	if info.pid <= 0 {
		return info, fmt.Errorf("%s: no pid in it", file)
	}
	return info, nil
}

// adopt deals with a postmaster.pid left by an earlier run, typically a
// crash of omnichat (pg_ctl detaches the server, so it outlives us). A live
// server of this cluster is reused as is; a stale file is left for Postgres,
// which removes it and recovers from the WAL. What must never happen is a
// second server on the same files, so the pid file of a live process is only
// removed once that process is proven to be something else. It returns a nil
// Database when the caller should start the server.
func (c *cluster) adopt(ctx context.Context, bins binaries) (*Database, error) {
	info, err := readPidFile(c.pidFile())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		// Empty or torn: a server crashed while starting. Postgres refuses to
		// start over such a file, so clear it once nothing can still be
		// writing it; we hold the setup lock, so no omnichat is.
		if fi, serr := os.Stat(c.pidFile()); serr == nil && time.Since(fi.ModTime()) > 30*time.Second {
			c.log.Warn("postgres: removing unreadable postmaster.pid", "file", c.pidFile(), "err", err)
			return nil, os.Remove(c.pidFile())
		}
		return nil, fmt.Errorf("%w; another server may be starting on %s right now", err, c.data)
	}

	state := inspectPostmaster(info.pid, c.data)
	switch state {
	case pmDead:
		c.log.Info("postgres: previous server did not shut down cleanly; it will recover on start", "pid", info.pid)
		return nil, nil
	case pmForeign:
		// Postgres would mistake that process for a running server and refuse
		// to start.
		c.log.Warn("postgres: postmaster.pid names an unrelated process (pid reused); removing it", "pid", info.pid)
		return nil, os.Remove(c.pidFile())
	}

	// A live server, or at least a live pid: give it time to finish starting or
	// stopping, and reuse it when it answers as this cluster.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if info.port > 0 && c.answers(ctx, info.port) {
			c.log.Info("postgres: reusing private cluster left running", "pid", info.pid, "port", info.port)
			if err := writeFileAs(c.portFile(), []byte(strconv.Itoa(info.port)+"\n"), 0o644, c.acct); err != nil {
				return nil, err
			}
			return c.database(ctx, bins, info.port)
		}
		if inspectPostmaster(info.pid, c.data) == pmDead {
			return nil, nil
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if fresh, err := readPidFile(c.pidFile()); err == nil {
			info = fresh
		} else if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}

	if state != pmOurs {
		// Signalling a pid we cannot identify could hit an unrelated program.
		return nil, fmt.Errorf("%s names process %d, which is alive but does not answer as this cluster; stop it, or remove the file if it is not a Postgres server", c.pidFile(), info.pid)
	}
	c.log.Warn("postgres: previous server does not answer; restarting it", "pid", info.pid)
	if err := c.run(ctx, bins, "pg_ctl", "stop", "-D", c.data, "-m", "fast", "-w", "-t", "120", "-s"); err != nil {
		return nil, fmt.Errorf("the private cluster left running (pid %d) neither answers nor stops: %w", info.pid, err)
	}
	return nil, nil
}

// answers reports whether a server on port is this cluster. Checking the data
// directory keeps us from adopting whatever else took the port meanwhile.
func (c *cluster) answers(ctx context.Context, port int) bool {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		return false
	}
	cfg.ConnectTimeout = 2 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		return false
	}
	a, err1 := os.Stat(dir)
	b, err2 := os.Stat(c.data)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
