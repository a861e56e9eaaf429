package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// product is an omnichat process the harness started: `omnichat dev` on a
// fresh data folder and database, or one of the production roles.
type product struct {
	bin  string
	dir  string
	env  []string
	args []string
	cmd  *exec.Cmd
	log  *os.File
	// URL is the HTTP base; TemporalAddr the embedded frontend.
	URL          string
	TemporalAddr string
}

// buildBinary compiles bin/omnichat (seconds when the cache is warm).
func buildBinary(root string) (string, error) {
	bin := filepath.Join(root, "bin", "omnichat")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/omnichat")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return bin, cmd.Run()
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProduct runs `omnichat <role>` with env (on top of a minimal one)
// and waits until /readyz answers.
func startProduct(ctx context.Context, bin, dir, role string, env map[string]string) (*product, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	httpPort := freePort()
	p := &product{bin: bin, dir: dir, args: []string{role}, URL: "http://127.0.0.1:" + strconv.Itoa(httpPort)}
	base := map[string]string{
		"OMNICHAT_HTTP_ADDR":        "127.0.0.1:" + strconv.Itoa(httpPort),
		"OMNICHAT_DATA_DIR":         dir,
		"OMNICHAT_TEMPORAL_UI_PORT": strconv.Itoa(freePort()),
		"OMNICHAT_LOG_LEVEL":        "warn",
	}
	if role == "dev" {
		tp := freePort()
		base["OMNICHAT_TEMPORAL_PORT"] = strconv.Itoa(tp)
		p.TemporalAddr = "127.0.0.1:" + strconv.Itoa(tp)
	}
	for k, v := range env {
		base[k] = v
	}
	if a := base["TEMPORAL_ADDRESS"]; a != "" {
		p.TemporalAddr = a
	}
	for k, v := range base {
		p.env = append(p.env, k+"="+v)
	}
	p.env = append(p.env, "PATH="+os.Getenv("PATH"), "HOME="+os.Getenv("HOME"))
	return p, p.start(ctx)
}

func (p *product) start(ctx context.Context) error {
	logf, err := os.OpenFile(filepath.Join(p.dir, p.args[0]+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.log = logf
	p.cmd = exec.Command(p.bin, p.args...)
	p.cmd.Env = p.env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("omnichat %s exited while starting (%v); see %s", p.args[0], err, logf.Name())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(p.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return fmt.Errorf("omnichat %s not ready after 3 minutes; see %s", p.args[0], logf.Name())
}

// Pid is the process id.
func (p *product) Pid() int { return p.cmd.Process.Pid }

// RSS is the process's resident memory in MB.
func (p *product) RSS() float64 { return rssMB(p.Pid()) }

// Kill stops the process hard (SIGKILL) or politely (SIGTERM) and waits.
func (p *product) Kill(hard bool) {
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	_ = p.cmd.Process.Signal(sig)
	for i := 0; i < 300; i++ {
		if err := p.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.log != nil {
		p.log.Close()
	}
}

// Restart starts the process again with the same configuration.
func (p *product) Restart(ctx context.Context) error { return p.start(ctx) }

// rssMB reads VmRSS of pid from /proc.
func rssMB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}
