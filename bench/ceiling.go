package main

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The ceiling of this design: how fast the same Temporal server takes
// SignalWithStart to new workflows and signals to running ones, with a
// workflow that does nothing else. Ingest can only approach it.

const ceilingQueue = "bench-ceiling"

// noopWorkflow takes signals until it gets a negative one.
func noopWorkflow(ctx workflow.Context, once bool) error {
	ch := workflow.GetSignalChannel(ctx, "s")
	for {
		var v int
		ch.Receive(ctx, &v)
		if once || v < 0 {
			return nil
		}
	}
}

type ceiling struct {
	SignalWithStart float64
	Signal          float64
}

func measureCeiling(ctx context.Context, c client.Client, conc int, d time.Duration) (ceiling, error) {
	w := worker.New(c, ceilingQueue, worker.Options{})
	w.RegisterWorkflowWithOptions(noopWorkflow, workflow.RegisterOptions{Name: "BenchNoop"})
	if err := w.Start(); err != nil {
		return ceiling{}, err
	}
	defer w.Stop()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var out ceiling

	// SignalWithStart, each to a new workflow that ends with its signal.
	var seq atomic.Int64
	out.SignalWithStart = rate(ctx, conc, d, func(ctx context.Context) error {
		id := "bench-sws-" + run + "-" + strconv.FormatInt(seq.Add(1), 10)
		_, err := c.SignalWithStartWorkflow(ctx, id, "s", 1, client.StartWorkflowOptions{
			ID: id, TaskQueue: ceilingQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, "BenchNoop", true)
		return err
	})

	// Signals spread over running workflows.
	const targets = 200
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = "bench-sig-" + run + "-" + strconv.Itoa(i)
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: ceilingQueue}, "BenchNoop", false); err != nil {
			return out, err
		}
	}
	var n atomic.Int64
	out.Signal = rate(ctx, conc, d, func(ctx context.Context) error {
		return c.SignalWorkflow(ctx, ids[n.Add(1)%targets], "", "s", 1)
	})
	for _, id := range ids {
		_ = c.SignalWorkflow(ctx, id, "", "s", -1)
	}
	return out, nil
}

// rate runs call from conc goroutines for d and returns successes per second.
func rate(ctx context.Context, conc int, d time.Duration, call func(context.Context) error) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if call(ctx) == nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds()
}
