// Command omnichat is the omnichannel support inbox: one binary that runs
// the whole product (dev), or its parts in production (api, worker, migrate).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/omnichat/omnichat/app"
)

const usage = `omnichat — an omnichannel support inbox

Usage: omnichat <command>

Commands:
  dev      run everything in one process: embedded Temporal (unless
           TEMPORAL_ADDRESS is set) with its Web UI, migrations, worker, API,
           widget and landing page
  api      serve the HTTP API against TEMPORAL_ADDRESS and DATABASE_URL
  worker   run the session workflows and activities
  migrate  apply database migrations and register Temporal search attributes
  temporal run only the embedded Temporal server and its Web UI (for api and
           worker processes of their own on one machine)
  version  print the version

Configuration is read from the environment; see README.md.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var mode app.Mode
	switch cmd := os.Args[1]; cmd {
	case "dev", "api", "worker", "migrate", "temporal":
		mode = app.Mode(cmd)
	case "version":
		fmt.Println(app.Version)
		return
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "omnichat: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err := run(mode); err != nil {
		fmt.Fprintln(os.Stderr, "omnichat:", err)
		os.Exit(1)
	}
}

func run(mode app.Mode) error {
	cfg, err := app.ConfigFromEnv()
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	started := time.Now()
	stack, err := app.Start(ctx, cfg, mode, log)
	if err != nil {
		return err
	}
	if mode == app.Migrate {
		log.Info("migrations applied and search attributes registered")
		return stack.Close(context.Background())
	}
	switch mode {
	case app.Dev:
		printBanner(stack, time.Since(started))
	case app.Temporal:
		log.Info("temporal server started", "frontend", stack.Embedded.FrontendAddress(), "ui", stack.Embedded.UIAddress(), "health", stack.URL())
	default:
		log.Info("omnichat started", "mode", mode, "http", stack.URL(), "version", app.Version)
	}
	waitErr := stack.Wait(ctx)
	stop()
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(waitErr, stack.Close(shutdown))
}

func newLogger(cfg app.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func printBanner(s *app.Stack, took time.Duration) {
	fmt.Printf("\nomnichat %s is running (started in %s)\n\n", app.Version, took.Round(100*time.Millisecond))
	fmt.Printf("  Inbox, API, widget:  %s\n", s.URL())
	fmt.Printf("  API reference:       %s/api/v1/openapi.yaml\n", s.URL())
	if s.Embedded != nil && s.Embedded.UIAddress() != "" {
		fmt.Printf("  Temporal Web UI:     http://%s\n", s.Embedded.UIAddress())
		fmt.Printf("  Temporal frontend:   %s\n", s.Embedded.FrontendAddress())
	}
	fmt.Printf("  Metrics:             %s/metrics\n", s.URL())
	fmt.Printf("  Postgres:            %s\n", s.DB.Source)
	switch {
	case s.AdminPassword != "":
		fmt.Printf("  Admin sign-in:       admin@omnichat.local / %s\n", s.AdminPassword)
	case s.Config.AdminEmail != "":
		fmt.Printf("  Admin sign-in:       %s (OMNICHAT_ADMIN_PASSWORD)\n", s.Config.AdminEmail)
	}
	fmt.Printf("  Live-chat channel:   %s\n\n", s.WebChatChannelID)
	fmt.Printf("Open %s and write in the chat bubble; then sign in:\n", s.URL())
	fmt.Printf("  curl -s %s/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"…\",\"password\":\"…\"}'\n\n", s.URL())
}
