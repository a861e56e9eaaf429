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
//
// Both rates count work done, not calls accepted: the clock stops when the
// no-op workflows have taken every signal (as ingest's does when every
// message is adopted by its session), so a server that accepts signals
// faster than its workers keep up does not flatter the ceiling.

const ceilingQueue = "bench-ceiling"

// noopWorkflow takes signals until it gets a negative one (or its first,
// when once).
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
	// Polled as omnichat's own worker polls (app.StartWorker), so that the
	// ceiling is the server's, not a slower worker's.
	w := worker.New(c, ceilingQueue, worker.Options{
		WorkflowTaskPollerBehavior: worker.NewPollerBehaviorAutoscaling(worker.PollerBehaviorAutoscalingOptions{}),
	})
	w.RegisterWorkflowWithOptions(noopWorkflow, workflow.RegisterOptions{Name: "BenchNoop"})
	if err := w.Start(); err != nil {
		return ceiling{}, err
	}
	defer w.Stop()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var out ceiling

	// SignalWithStart, each to a new workflow that ends with its signal; done
	// when the last of them has ended.
	var seq atomic.Int64
	var runs sync.Map
	start := time.Now()
	n := calls(ctx, conc, d, func(ctx context.Context) error {
		id := "bench-sws-" + run + "-" + strconv.FormatInt(seq.Add(1), 10)
		r, err := c.SignalWithStartWorkflow(ctx, id, "s", 1, client.StartWorkflowOptions{
			ID: id, TaskQueue: ceilingQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, "BenchNoop", true)
		if err == nil {
			runs.Store(id, r)
		}
		return err
	})
	var pending []client.WorkflowRun
	runs.Range(func(_, v any) bool { pending = append(pending, v.(client.WorkflowRun)); return true })
	if err := waitRuns(ctx, conc, pending); err != nil {
		return out, err
	}
	out.SignalWithStart = float64(n) / time.Since(start).Seconds()

	// Signals spread over running workflows; done when each has taken its
	// last, which follows all the others.
	const targets = 200
	pending = pending[:0]
	ids := make([]string, targets)
	for i := range ids {
		ids[i] = "bench-sig-" + run + "-" + strconv.Itoa(i)
		r, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: ceilingQueue}, "BenchNoop", false)
		if err != nil {
			return out, err
		}
		pending = append(pending, r)
	}
	var next atomic.Int64
	start = time.Now()
	n = calls(ctx, conc, d, func(ctx context.Context) error {
		return c.SignalWorkflow(ctx, ids[next.Add(1)%targets], "", "s", 1)
	})
	for _, id := range ids {
		if err := c.SignalWorkflow(ctx, id, "", "s", -1); err != nil {
			return out, err
		}
	}
	if err := waitRuns(ctx, conc, pending); err != nil {
		return out, err
	}
	out.Signal = float64(n) / time.Since(start).Seconds()
	return out, nil
}

// calls runs call from conc goroutines for d and returns how many succeeded.
func calls(ctx context.Context, conc int, d time.Duration, call func(context.Context) error) int64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
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
	return ok.Load()
}

// waitRuns waits, conc at a time, until every run has ended.
func waitRuns(ctx context.Context, conc int, runs []client.WorkflowRun) error {
	work := make(chan client.WorkflowRun)
	errs := make(chan error, conc)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				if err := r.Get(ctx, nil); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for _, r := range runs {
		work <- r
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}
