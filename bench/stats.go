package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// samples collects latencies from many goroutines.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) n() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

// quantile is the q-quantile (0..1) in milliseconds, nearest-rank.
func (s *samples) quantile(q float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return math.NaN()
	}
	d := slices.Clone(s.d)
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	i = max(0, min(i, len(d)-1))
	return ms(d[i])
}

func (s *samples) max() float64 { return s.quantile(1) }

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())/10) / 100 }
