package pglocal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// freePort asks the kernel for an unused loopback port. The port is released
// before Postgres binds it, so another program can take it in between; the
// caller retries with a new port when Postgres reports the address in use.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether port can be bound on loopback right now.
func portFree(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// choosePort reuses the port recorded in file when it is still free, so the
// URL of a private cluster stays the same across restarts (handy for psql
// sessions and external tools); otherwise it picks and records a new one.
func choosePort(file string, avoid int, acct *account) (int, error) {
	if b, err := readOwnFile(file); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 && p != avoid && portFree(p) {
			return p, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	p, err := freePort()
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	if err := writeFileAs(file, []byte(strconv.Itoa(p)+"\n"), 0o644, acct); err != nil {
		return 0, err
	}
	return p, nil
}
