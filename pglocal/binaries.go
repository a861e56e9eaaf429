package pglocal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// binaries is a directory holding initdb, pg_ctl and postgres of one release.
type binaries struct {
	dir     string
	version string // as printed by postgres -V, e.g. "15.14"
	major   int
}

func (b binaries) path(name string) string {
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join(b.dir, name)
}

// searchDescription is how the "no binaries" error words where it looked; the
// globs are kept rather than expanded so the message stays one line.
const searchDescription = "$PATH, /usr/lib/postgresql/*/bin, /usr/local/pgsql/bin, /opt/homebrew/opt/postgresql*/bin, /usr/pgsql-*/bin"

// searchDirs lists candidate binary directories, best first: whatever the
// operator put on $PATH, then the layouts of Debian/Ubuntu, source builds,
// Homebrew and the PGDG RPMs. It is a variable so tests can pretend the
// machine has no Postgres.
var searchDirs = func() []string {
	var dirs []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		// Relative PATH entries are ignored for the same reason os/exec ignores
		// them: they depend on the working directory.
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	dirs = append(dirs, globByVersion("/usr/lib/postgresql/*/bin")...)
	dirs = append(dirs, "/usr/local/pgsql/bin")
	dirs = append(dirs, globByVersion("/opt/homebrew/opt/postgresql*/bin")...)
	dirs = append(dirs, globByVersion("/usr/pgsql-*/bin")...)
	return dirs
}

var versionInPath = regexp.MustCompile(`(\d+)(?:\.(\d+))?`)

// globByVersion expands pattern with the highest version first, comparing the
// numbers in the paths numerically so that 10 sorts above 9.
func globByVersion(pattern string) []string {
	matches, _ := filepath.Glob(pattern)
	key := func(p string) [2]int {
		m := versionInPath.FindStringSubmatch(p)
		if m == nil {
			return [2]int{1 << 30, 0} // unversioned (e.g. Homebrew's "postgresql") is the current one
		}
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		return [2]int{a, b}
	}
	sort.SliceStable(matches, func(i, j int) bool {
		ki, kj := key(matches[i]), key(matches[j])
		if ki[0] != kj[0] {
			return ki[0] > kj[0]
		}
		return ki[1] > kj[1]
	})
	return matches
}

// hasBinaries reports whether dir holds the three programs a private cluster
// needs. They must sit together: pg_ctl and initdb look for postgres next to
// their own (symlink-resolved) location.
func hasBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		b := binaries{dir: dir}
		fi, err := os.Stat(b.path(name))
		if err != nil || fi.IsDir() || (runtime.GOOS != "windows" && fi.Mode()&0o111 == 0) {
			return false
		}
	}
	return true
}

var postgresVersion = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?`)

// probeVersion runs postgres -V as the server's user: it proves that user can
// run the binaries from where they are, and nothing we execute runs as root.
func probeVersion(ctx context.Context, dir string, acct *account) (binaries, error) {
	b := binaries{dir: dir}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.path("postgres"), "-V")
	cmd.Dir = string(filepath.Separator)
	runAs(cmd, acct)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("%s -V: %w: %s", b.path("postgres"), err, strings.TrimSpace(string(out)))
	}
	m := postgresVersion.FindStringSubmatch(string(out))
	if m == nil {
		return b, fmt.Errorf("%s -V: unexpected output %q", b.path("postgres"), strings.TrimSpace(string(out)))
	}
	b.major, _ = strconv.Atoi(m[1])
	b.version = m[1]
	if m[2] != "" {
		b.version += "." + m[2]
	}
	return b, nil
}

// findBinaries returns the first usable directory in dirs. When wantMajor is
// set (an existing cluster), only that major version will do: a different
// major refuses to open the data directory, and silently initialising a new
// cluster would hide the customer's data.
func findBinaries(ctx context.Context, dirs []string, wantMajor int, acct *account) (binaries, []string, error) {
	var skipped []string
	seen := map[string]bool{}
	for _, d := range dirs {
		if seen[d] || !hasBinaries(d) {
			continue
		}
		seen[d] = true
		b, err := probeVersion(ctx, d, acct)
		if err != nil {
			skipped = append(skipped, err.Error())
			continue
		}
		if wantMajor != 0 && b.major != wantMajor {
			skipped = append(skipped, fmt.Sprintf("%s is PostgreSQL %s", d, b.version))
			continue
		}
		return b, skipped, nil
	}
	return binaries{}, skipped, errNoBinaries
}
