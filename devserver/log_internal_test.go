package devserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/server/common/log/tag"
)

func TestLogGateDropsStartAndStopNoise(t *testing.T) {
	var buf bytes.Buffer
	l := newServerLogger(slog.New(slog.NewTextHandler(&buf, nil)), slog.LevelWarn)
	shard := serviceerror.NewUnavailable("shard status unknown")
	canceled := fmt.Errorf("UpdateTaskQueue operation failed: %w", context.Canceled)
	flattened := serviceerror.NewUnavailable("Failed to commit transaction. Error: context canceled")

	// Starting: shard acquisition noise is dropped, other errors are not.
	l.Error("Queue reader unable to retrieve tasks", tag.Error(shard))
	l.With(tag.NewStringTag("component", "x")).Error("failed", tag.Error(canceled))
	require.NotContains(t, buf.String(), "Queue reader")
	require.Contains(t, buf.String(), "failed")

	// Running: nothing is dropped.
	buf.Reset()
	l.gate.starting.Store(false)
	l.Error("Queue reader unable to retrieve tasks", tag.Error(shard))
	require.Contains(t, buf.String(), "Queue reader")

	// Stopping: errors caused by the stop are dropped, others get through.
	buf.Reset()
	l.gate.state.Store(gateStopping)
	l.Error("commit", tag.Error(canceled))
	l.Error("commit", tag.Error(flattened))
	l.Error("rollback", tag.Error(errors.New("conn closed")))
	l.Warn("warning")
	require.Empty(t, buf.String())
	l.Error("disk full", tag.Error(errors.New("no space left on device")))
	require.Contains(t, buf.String(), "disk full")
}
