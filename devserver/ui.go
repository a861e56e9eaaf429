package devserver

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// startUI starts the Temporal Web UI on port and waits until it answers HTTP.
//
// The UI server's Start blocks, and on any error other than a clean close it
// calls its logger's Fatal, which exits the process. The port was checked
// (fixed port) or freshly chosen (port 0) by choosePorts just before, which
// leaves only a tiny window for another process to take it.
func (s *Server) startUI(ctx context.Context, cfg Config, port int) error {
	host := cfg.IP
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		// The UI server joins host and port with "%s:%d".
		host = "[" + host + "]"
	}
	ui := uiserver.NewServer(server_options.WithConfigProvider(&uiconfig.Config{
		TemporalGRPCAddress: s.frontendAddr,
		Host:                host,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		// Plain http on localhost: a Secure CSRF cookie would never be sent
		// back and every write action in the UI would fail.
		CORS:     uiconfig.CORS{CookieInsecure: true},
		HideLogs: true,
		// The dev UI should work offline and not phone home for news.
		DisableNewsFetch: true,
	}))
	s.ui = ui
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		_ = ui.Start() // returns after Stop; other errors never return (Fatal)
	}()

	// A 200 from the health route means the listener is up and the routes
	// are installed.
	url := "http://" + s.uiAddr + "/healthz"
	// No keep-alives: nothing should linger once Start returns.
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	ticker := time.NewTicker(readyPollInterval)
	defer ticker.Stop()
	for {
		err := probeHTTP(ctx, hc, url)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("devserver: waiting for UI on %s: %w (last error: %v)", s.uiAddr, ctx.Err(), err)
		case <-ticker.C:
		}
	}
}

func probeHTTP(ctx context.Context, hc *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
