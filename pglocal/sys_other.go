//go:build !unix

package pglocal

import (
	"os"
	"os/exec"
)

// account is never set off unix: there is no root to step down from, and
// Postgres on Windows drops administrator rights by itself.
type account struct{ name string }

func (a *account) String() string { return "the current user" }

// oNoFollow has no portable equivalent here, and no root to protect.
const oNoFollow = 0

func serverAccount(string) (*account, error) { return nil, nil }

func runAs(*exec.Cmd, *account) {}

func chownTree(string, *account) error { return nil }

func chownPath(string, *account) error { return nil }

func ownedBy(string, *account) bool { return true }

func canTraverse(string, *account) bool { return true }

type postmasterState int

const (
	pmDead postmasterState = iota
	pmOurs
	pmForeign
	pmAliveUnknown
)

func inspectPostmaster(pid int, _ string) postmasterState {
	if pid <= 0 {
		return pmDead
	}
	// On Windows FindProcess opens the process and fails when it is gone.
	p, err := os.FindProcess(pid)
	if err != nil {
		return pmDead
	}
	p.Release()
	return pmAliveUnknown
}
