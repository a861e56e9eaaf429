package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// httpClient keeps many connections open to one host: the load comes from
// many simulated customers at once.
var httpClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	},
}

// api calls omnichat's HTTP API as one agent.
type api struct {
	base  string
	token string
}

func (a *api) do(ctx context.Context, method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil && len(raw) > 0 {
		return resp.StatusCode, json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

func login(ctx context.Context, base, email, password string) (*api, error) {
	a := &api{base: base}
	var res struct{ Token string }
	if _, err := a.do(ctx, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}, &res); err != nil {
		return nil, err
	}
	a.token = res.Token
	return a, nil
}

type event struct {
	Type string
	Data map[string]any
	At   time.Time
}

// stream reads an SSE stream until ctx ends, stamping each event on arrival.
// Like the inbox, it reconnects when the server ends the stream (it drops a
// listener that falls too far behind); drops counts those reconnections.
func (a *api) stream(ctx context.Context, path string, out chan<- event, drops *atomic.Int64) error {
	body, err := a.openStream(ctx, path)
	if err != nil {
		return err
	}
	go func() {
		for {
			a.readStream(ctx, body, out)
			if ctx.Err() != nil {
				return
			}
			drops.Add(1)
			for {
				if body, err = a.openStream(ctx, path); err == nil {
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	}()
	return nil
}

func (a *api) openStream(ctx context.Context, path string) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", a.base+path+"?token="+a.token, nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("stream %s: %d", path, resp.StatusCode)
	}
	return resp.Body, nil
}

func (a *api) readStream(ctx context.Context, body io.ReadCloser, out chan<- event) {
	defer body.Close()
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var typ string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			typ = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			at := time.Now()
			var d map[string]any
			_ = json.Unmarshal([]byte(line[len("data: "):]), &d)
			select {
			case out <- event{typ, d, at}:
			case <-ctx.Done():
				return
			}
		}
	}
}
