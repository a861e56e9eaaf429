package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/omnichat/omnichat/channel/whatsapp/whatsapptest"
)

// waChannel is a WhatsApp channel the harness created, with what it takes
// to deliver to it as Meta does.
type waChannel struct {
	ID, WebhookURL, PhoneID, Secret string
}

// load delivers signed WhatsApp webhooks from simulated customers, as the
// platform does: a delivery answered with an error is delivered again.
type load struct {
	channels  []waChannel
	customers int
	prefix    string // makes customer and message ids unique to the run
	seq       atomic.Int64

	accepted  atomic.Int64 // deliveries answered 200
	failed    atomic.Int64 // deliveries still failing after every retry
	retried   atomic.Int64 // attempts beyond the first
	duplicate bool         // deliver each webhook twice
	sentAt    sync.Map     // platform message id -> time.Time of the first attempt
	ack       *samples
}

func newLoad(channels []waChannel, customers int, prefix string) *load {
	return &load{channels: channels, customers: customers, prefix: prefix, ack: &samples{}}
}

// customer returns the platform id and channel of customer i.
func (l *load) customer(i int) (string, waChannel) {
	return l.prefix + strconv.Itoa(1_000_000_000+i), l.channels[i%len(l.channels)]
}

// deliver sends one message from customer i and returns once the platform
// would consider it delivered (200), retrying errors like Meta does.
func (l *load) deliver(ctx context.Context, i int, text string) error {
	from, ch := l.customer(i)
	id := "wamid." + l.prefix + "-" + strconv.FormatInt(l.seq.Add(1), 10)
	now := time.Now()
	body := whatsapptest.Delivery(ch.PhoneID, []whatsapptest.Message{{From: from, Name: "Customer " + strconv.Itoa(i), ID: id, Text: text, At: now}}, nil)
	l.sentAt.Store(id, now)
	times := 1
	if l.duplicate {
		times = 2
	}
	for t := range times {
		if err := l.post(ctx, ch, body, t == 0); err != nil {
			return err
		}
	}
	return nil
}

func (l *load) post(ctx context.Context, ch waChannel, body []byte, measure bool) error {
	backoff := 50 * time.Millisecond
	for attempt := 0; attempt < 60; attempt++ {
		if attempt > 0 {
			l.retried.Add(1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
		}
		start := time.Now()
		resp, err := whatsapptest.Post(httpClient, ch.WebhookURL, body, ch.Secret)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			if measure {
				l.ack.add(time.Since(start))
				l.accepted.Add(1)
			}
			return nil
		}
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusBadRequest {
			return fmt.Errorf("delivery refused: %d", resp.StatusCode)
		}
	}
	l.failed.Add(1)
	return fmt.Errorf("delivery failed after retries")
}

// closedLoop runs conc senders, each delivering as fast as answers come,
// for d; it returns the rate of accepted deliveries.
func (l *load) closedLoop(ctx context.Context, conc int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	before := l.accepted.Load()
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
			for ctx.Err() == nil {
				_ = l.deliver(ctx, r.IntN(l.customers), "closed-loop message")
			}
		}()
	}
	wg.Wait()
	return float64(l.accepted.Load()-before) / time.Since(start).Seconds()
}

// openLoop starts deliveries at rate per second for d whatever the answers
// (as customers write, regardless of how fast omnichat is), and waits for
// them. maxInFlight bounds the goroutines.
func (l *load) openLoop(ctx context.Context, rate float64, d time.Duration, text string) {
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, 2048)
	var wg sync.WaitGroup
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	start := time.Now()
	for n := 0; ; n++ {
		next := start.Add(time.Duration(n) * interval)
		if next.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			_ = l.deliver(ctx, i, text)
		}(r.IntN(l.customers))
	}
	wg.Wait()
}

// warm has every customer write once, so their sessions exist.
func (l *load) warm(ctx context.Context, conc int) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				_ = l.deliver(ctx, i, "hello")
			}
		}()
	}
	for i := range l.customers {
		work <- i
	}
	close(work)
	wg.Wait()
}
