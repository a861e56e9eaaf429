package pglocal

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func postmasterUID(t *testing.T, dataDir string) uint32 {
	t.Helper()
	info, err := readPidFile(filepath.Join(dataDir, "postmaster.pid"))
	require.NoError(t, err)
	fi, err := os.Stat("/proc/" + strconv.Itoa(info.pid))
	require.NoError(t, err)
	return fi.Sys().(*syscall.Stat_t).Uid
}

// TestPrivateClusterAsRootRunsUnprivileged covers the root path in the plain
// layout: the cluster sits in DataDir/postgres and the server is not root.
func TestPrivateClusterAsRootRunsUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dataDir := reachableDir(t)
	db := startForTest(t, systemConfig(t, dataDir))
	data := filepath.Join(dataDir, "postgres", "data")
	uid := postmasterUID(t, data)
	require.NotZero(t, uid, "postgres must not run as root")
	fi, err := os.Stat(data)
	require.NoError(t, err)
	require.Equal(t, uid, fi.Sys().(*syscall.Stat_t).Uid, "cluster owned by the server user")
	lfi, err := os.Lstat(filepath.Join(dataDir, "postgres"))
	require.NoError(t, err)
	require.True(t, lfi.IsDir(), "no relocation needed")
	require.NoError(t, db.Stop(context.Background()))
}

// TestPrivateClusterAsRootRelocatesUnreachableDataDir: t.TempDir is 0700, so
// the server user cannot enter it, as with a data folder under /root.
func TestPrivateClusterAsRootRelocatesUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dataDir := filepath.Join(t.TempDir(), ".omnichat")
	pc := systemConfig(t, dataDir)
	base := pc.relocations[0]
	db := startForTest(t, pc)

	link := filepath.Join(dataDir, "postgres")
	target, err := os.Readlink(link)
	require.NoError(t, err, "DataDir/postgres is a symlink to the relocated cluster")
	require.True(t, strings.HasPrefix(target, base+string(filepath.Separator)+"omnichat-pg-"), target)
	require.NotZero(t, postmasterUID(t, filepath.Join(target, "data")))
	exec1(t, db.URL, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
	require.NoError(t, db.Stop(context.Background()))

	// The next start follows the symlink, even with other bases configured.
	pc.relocations = []string{reachableDir(t)}
	db2 := startForTest(t, pc)
	require.Equal(t, int64(7), query[int64](t, db2.URL, "SELECT x FROM t"))
	require.NoError(t, db2.Stop(context.Background()))
}

// A planted symlink under the predictable relocation name in a shared base
// must not redirect root's writes.
func TestRelocationRefusesPlantedSymlink(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	acct, err := serverAccount("/nonexistent")
	require.NoError(t, err)
	base := reachableDir(t)
	elsewhere := reachableDir(t)
	planted := filepath.Join(base, "omnichat-pg-planted")
	require.NoError(t, os.Symlink(elsewhere, planted))
	_, err = relocationDir(planted, acct)
	require.ErrorContains(t, err, "not a folder owned by root")

	theirs := filepath.Join(base, "omnichat-pg-theirs")
	require.NoError(t, os.Mkdir(theirs, 0o777))
	require.NoError(t, os.Chown(theirs, int(acct.uid), int(acct.gid)))
	_, err = relocationDir(theirs, acct)
	require.ErrorContains(t, err, "not a folder owned by root")
}

func TestCanTraverse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to build the permission layout")
	}
	acct := &account{name: "nobody", uid: 65534, gid: 65534}
	open := reachableDir(t)
	require.True(t, canTraverse(open, acct))
	closed := filepath.Join(open, "closed")
	require.NoError(t, os.Mkdir(closed, 0o700))
	require.False(t, canTraverse(closed, acct))
	require.True(t, canTraverse(closed, nil), "nil account is ourselves")
	require.NoError(t, os.Chown(closed, 65534, 0))
	require.True(t, canTraverse(closed, acct), "owner bits apply to the owner")
}
