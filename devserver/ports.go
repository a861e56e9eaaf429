package devserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
)

// freePorts returns n distinct TCP ports that are currently free on ip.
//
// All n listeners are held open until every port has been chosen, so the kernel
// cannot hand out the same ephemeral port twice within one call. The ports are
// released before returning; another process could in principle grab one before
// the server binds it, which is the unavoidable race of any free-port helper.
// Ports from the ephemeral range are unlikely to be reused that quickly.
func freePorts(ip string, n int) ([]int, error) {
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("finding a free port on %s: %w", ip, err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// checkBindable reports whether a fixed, user-chosen port can be listened on.
// It exists so that "address already in use" becomes an error from Start: the
// Temporal server and the UI server both treat a failed bind as fatal and would
// otherwise end the process.
func checkBindable(ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// dialHost turns a bind address into one a client on this machine can dial:
// the unspecified addresses (0.0.0.0, ::) are not dialable everywhere.
func dialHost(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return ip
	case parsed.IsUnspecified() && parsed.To4() != nil:
		return "127.0.0.1"
	case parsed.IsUnspecified():
		return "::1"
	default:
		return ip
	}
}

func validateIP(ip string) error {
	if net.ParseIP(ip) == nil {
		// The server's BindOnIP only accepts literal IPs; a host name would be a
		// fatal error deep inside it.
		return errors.New("devserver: IP must be a literal IP address, got " + strconv.Quote(ip))
	}
	return nil
}
