//go:build unix

package pglocal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// oNoFollow makes an open fail on a symlink; see readOwnFile.
const oNoFollow = syscall.O_NOFOLLOW

// account is the unprivileged user the server runs as when we are root. nil
// means "run as ourselves", which is the normal non-root case.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
}

func (a *account) String() string {
	if a == nil {
		return "the current user"
	}
	return fmt.Sprintf("%s (uid %d)", a.name, a.uid)
}

// serverAccount picks who runs initdb, pg_ctl and postgres. Postgres refuses
// to run as root, so root hands the work to an unprivileged user:
//   - the owner of an existing cluster, because postgres insists the data
//     directory belongs to the user running it, and the accounts present may
//     have changed since initdb (say the postgresql package was installed
//     after the cluster was created as nobody);
//   - else the "postgres" system user, which distributions create for exactly
//     this and which nothing else should run as;
//   - else "nobody", which exists everywhere.
func serverAccount(existingData string) (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if fi, err := os.Stat(existingData); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 {
			if u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10)); err == nil {
				return accountOf(u)
			}
			// The owner has no passwd entry any more; its numeric ids still work.
			return &account{name: strconv.FormatUint(uint64(st.Uid), 10), uid: st.Uid, gid: st.Gid}, nil
		}
	}
	for _, name := range []string{"postgres", "nobody"} {
		if u, err := user.Lookup(name); err == nil {
			return accountOf(u)
		}
	}
	return nil, errors.New("running as root, and neither a postgres nor a nobody user exists to run Postgres as (Postgres refuses to run as root)")
}

func accountOf(u *user.User) (*account, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	a := &account{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.ParseUint(s, 10, 32); err == nil {
				a.groups = append(a.groups, uint32(g))
			}
		}
	}
	return a, nil
}

func runAs(cmd *exec.Cmd, a *account) {
	if a == nil {
		return
	}
	groups := a.groups
	if groups == nil {
		// Drop root's supplementary groups rather than inherit them.
		groups = []uint32{a.gid}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: groups},
	}
}

// chownTree hands dir and everything below it to a. Links are changed
// themselves, never followed, so a link planted inside cannot redirect the
// chown to a system file.
func chownTree(dir string, a *account) error {
	if a == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(a.uid), int(a.gid))
	})
}

func chownPath(p string, a *account) error {
	if a == nil {
		return nil
	}
	return os.Lchown(p, int(a.uid), int(a.gid))
}

// ownedBy reports whether p belongs to a (trivially true for nil).
func ownedBy(p string, a *account) bool {
	if a == nil {
		return true
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == a.uid
}

// canTraverse reports whether a could reach dir by path: every directory from
// / down to dir must grant it search (x) permission. Owner, group and other
// bits are checked the way the kernel does; ACLs and MAC policies are not
// modelled, and a wrong guess surfaces as initdb's own clear error.
func canTraverse(dir string, a *account) bool {
	if a == nil {
		return true
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		mode := uint32(fi.Mode().Perm())
		var bit uint32
		switch {
		case st.Uid == a.uid:
			bit = 0o100
		case st.Gid == a.gid || containsID(a.groups, st.Gid):
			bit = 0o010
		default:
			bit = 0o001
		}
		if mode&bit == 0 {
			return false
		}
		if p == filepath.Dir(p) {
			return true
		}
	}
}

func containsID(ids []uint32, id uint32) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// postmasterState says what the process named in a postmaster.pid is.
type postmasterState int

const (
	pmDead         postmasterState = iota // no such process: the pid file is stale
	pmOurs                                // a live postmaster of this data directory
	pmForeign                             // a live process, provably not our postmaster (pid reused)
	pmAliveUnknown                        // alive; cannot tell whose it is
)

// inspectPostmaster looks at pid without disturbing it. On Linux the
// postmaster's working directory is its data directory (it chdirs there at
// start), which tells a live server of ours apart from an unrelated process
// that inherited the pid after a reboot or container restart. Elsewhere a live
// pid is reported as unknown and treated cautiously.
func inspectPostmaster(pid int, dataDir string) postmasterState {
	if pid <= 0 {
		return pmDead
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return pmDead
	}
	cwd, err := os.Stat(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, perr := os.Stat("/proc/self/cwd"); perr == nil {
				return pmDead // /proc works, the process is gone
			}
		}
		return pmAliveUnknown
	}
	data, err := os.Stat(dataDir)
	if err != nil {
		return pmAliveUnknown
	}
	if os.SameFile(cwd, data) {
		return pmOurs
	}
	return pmForeign
}
