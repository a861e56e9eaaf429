package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	"go.uber.org/zap/zapcore"
)

// serverLogger adapts the Temporal server's log.Logger interface to slog.
//
// Tags are kept unconverted until a record is actually emitted: the server logs
// (and attaches tags with With) far more often at debug/info than we ever print,
// and converting a zap field to a plain value is not free.
type serverLogger struct {
	out   *slog.Logger
	level slog.Leveler
	gate  *logGate // shared by all loggers derived through With
	tags  []tag.Tag
}

// logGate silences a server that is shutting down. Stopping produces a burst
// of expected warnings (polls cut off, dial errors to services already gone),
// and the server's worker service never stops some of its internal SDK
// workers, which keep retrying against the dead frontend after Stop returns.
// None of that is actionable, so during Stop only errors get through (except
// those Stop itself causes, see stopErrors), and nothing at all afterwards.
//
// While Start runs, errors the server reports while it takes its history
// shards (startErrors) are dropped too.
type logGate struct {
	state    atomic.Int32
	starting atomic.Bool
}

const (
	gateOpen int32 = iota
	gateStopping
	gateClosed
)

func (g *logGate) allows(level slog.Level) bool {
	switch g.state.Load() {
	case gateOpen:
		return true
	case gateStopping:
		return level >= slog.LevelError
	default:
		return false
	}
}

// quietMessages are server warnings that are expected in this setup and would
// otherwise greet every `omnichat dev` start; they are demoted to debug. Matched
// by prefix so that a reworded tail does not bring them back.
var quietMessages = []string{
	// We deliberately leave the frontend HTTP API (and so Nexus) off.
	"HTTP API port has not been set",
}

func demote(level slog.Level, msg string) slog.Level {
	if level != slog.LevelWarn {
		return level
	}
	for _, prefix := range quietMessages {
		if strings.HasPrefix(msg, prefix) {
			return slog.LevelDebug
		}
	}
	return level
}

var (
	_ log.Logger     = (*serverLogger)(nil)
	_ log.WithLogger = (*serverLogger)(nil)
)

func newServerLogger(out *slog.Logger, level slog.Leveler) *serverLogger {
	g := &logGate{}
	g.starting.Store(true)
	return &serverLogger{out: out, level: level, gate: g}
}

func (l *serverLogger) Debug(msg string, tags ...tag.Tag) { l.emit(slog.LevelDebug, msg, tags) }
func (l *serverLogger) Info(msg string, tags ...tag.Tag)  { l.emit(slog.LevelInfo, msg, tags) }
func (l *serverLogger) Warn(msg string, tags ...tag.Tag)  { l.emit(slog.LevelWarn, msg, tags) }
func (l *serverLogger) Error(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

// DPanic only panics in development builds of zap; the server runs it as an
// error log in production, and so do we.
func (l *serverLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

// Panic logs and panics, as the server expects: code after it assumes it does
// not return.
func (l *serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal logs and then panics instead of exiting: the server calls it for
// conditions such as "cannot bind gRPC port", and an embedded server must not
// take the whole product down with os.Exit. Start recovers fatalError panics
// raised on its own goroutine and returns them as errors; anywhere else the
// panic still stops the process, but with a stack trace.
func (l *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	panic(fatalError{msg: msg, attrs: l.attrs(tags)})
}

// With returns a logger that adds tags to every record; conversion is deferred
// to emit.
func (l *serverLogger) With(tags ...tag.Tag) log.Logger {
	if len(tags) == 0 {
		return l
	}
	merged := make([]tag.Tag, 0, len(l.tags)+len(tags))
	merged = append(merged, l.tags...)
	merged = append(merged, tags...)
	return &serverLogger{out: l.out, level: l.level, gate: l.gate, tags: merged}
}

// SLog lets the server (log.NewSlogLogger) reuse our slog.Logger directly
// instead of wrapping it twice.
func (l *serverLogger) SLog() *slog.Logger { return l.out }

func (l *serverLogger) enabled(level slog.Level) bool {
	return level >= l.level.Level() && l.gate.allows(level) && l.out.Enabled(context.Background(), level)
}

func (l *serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	level = demote(level, msg)
	if !l.enabled(level) {
		return
	}
	if level >= slog.LevelError {
		if l.gate.state.Load() == gateStopping && errorTagContains(stopErrors, l.tags, tags) {
			return
		}
		if l.gate.starting.Load() && errorTagContains(startErrors, l.tags, tags) {
			return
		}
	}
	l.out.LogAttrs(context.Background(), level, msg, l.attrs(tags)...)
}

func (l *serverLogger) attrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(l.tags)+len(tags))
	for _, t := range l.tags {
		attrs = append(attrs, tagAttr(t))
	}
	for _, t := range tags {
		attrs = append(attrs, tagAttr(t))
	}
	return attrs
}

// stopErrors are texts of errors that Stop itself causes: it cancels
// in-flight calls and closes shards and database connections underneath
// running work. With Postgres (and several shards) each of those surfaces as
// error lines (polls, commits, rollbacks, queue readers, system workflow
// starts) that say nothing about a real problem.
var stopErrors = []string{
	context.Canceled.Error(), // "context canceled"
	"operation was canceled",
	"conn closed",
	"shard status unknown",
	"transaction has already been committed or rolled back",
}

// startErrors are texts of errors the server logs while it starts, before it
// owns its history shards: each shard's queue readers poll before the shard
// is acquired and log "Queue reader unable to retrieve tasks" once per queue
// (four lines per shard), then succeed on their retry. Seen with Postgres and
// several shards, on fresh stores and restarts alike.
var startErrors = []string{
	"shard status unknown",
}

// errorTagContains reports whether one of the tags is an error whose text
// contains one of texts (or, for "context canceled", wraps
// context.Canceled). The server often flattens errors into a service error's
// message, so the text is what counts.
func errorTagContains(texts []string, tagSets ...[]tag.Tag) bool {
	for _, tags := range tagSets {
		for _, t := range tags {
			zt, ok := t.(tag.ZapTag)
			if !ok || zt.Field().Type != zapcore.ErrorType {
				continue
			}
			err, ok := zt.Field().Interface.(error)
			if !ok || err == nil {
				continue
			}
			if errors.Is(err, context.Canceled) && slices.Contains(texts, context.Canceled.Error()) {
				return true
			}
			text := err.Error()
			for _, s := range texts {
				if strings.Contains(text, s) {
					return true
				}
			}
		}
	}
	return false
}

// tagAttr converts one server tag. Almost all tags wrap a zap.Field; encoding it
// into a map gives a plain value for any field type (durations, protos, errors).
// The field's own key is looked up explicitly because some encoders add extra
// keys (an error may add "errorVerbose").
func tagAttr(t tag.Tag) slog.Attr {
	if zt, ok := t.(tag.ZapTag); ok {
		enc := zapcore.NewMapObjectEncoder()
		zt.Field().AddTo(enc)
		if v, ok := enc.Fields[zt.Key()]; ok {
			return slog.Any(zt.Key(), v)
		}
	}
	return slog.Any(t.Key(), t.Value())
}

// fatalError is the panic value of serverLogger.Fatal.
type fatalError struct {
	msg   string
	attrs []slog.Attr
}

func (e fatalError) Error() string {
	if len(e.attrs) == 0 {
		return "temporal server: " + e.msg
	}
	return fmt.Sprintf("temporal server: %s %v", e.msg, e.attrs)
}
