package metrics

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkBuckets are the histogram buckets of the SDK's timers (seconds): task
// and request latencies run from sub-millisecond polls to minute-long activities.
var sdkBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// SDKHandler returns a client.MetricsHandler that records the Temporal SDK's
// metrics (task latencies, poll counts, activity outcomes…) on the registry.
// The SDK tags one metric differently at different places, which Prometheus
// vectors cannot hold, so the series are kept here and every series of a
// metric is exported with the union of its label names.
func (m *Metrics) SDKHandler() client.MetricsHandler {
	c := &sdkCollector{families: map[string]*sdkFamily{}}
	m.Registry.MustRegister(c)
	return &sdkHandler{c: c, tags: map[string]string{}}
}

type sdkKind int

const (
	sdkCounter sdkKind = iota
	sdkGauge
	sdkTimer
)

type sdkCollector struct {
	mu       sync.Mutex
	families map[string]*sdkFamily
}

type sdkFamily struct {
	name   string
	kind   sdkKind
	keys   map[string]struct{}
	series map[string]*sdkSeries
}

type sdkSeries struct {
	labels  map[string]string
	value   float64
	buckets []uint64
	count   uint64
	sum     float64
}

// series returns the series of name and tags, creating it on first use.
func (c *sdkCollector) series(name string, kind sdkKind, tags map[string]string, sig string) *sdkSeries {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := name + "|" + kindSuffix(kind)
	f := c.families[key]
	if f == nil {
		f = &sdkFamily{name: promName(name, kind), kind: kind, keys: map[string]struct{}{}, series: map[string]*sdkSeries{}}
		c.families[key] = f
	}
	s := f.series[sig]
	if s == nil {
		s = &sdkSeries{labels: tags}
		if kind == sdkTimer {
			s.buckets = make([]uint64, len(sdkBuckets))
		}
		f.series[sig] = s
		for k := range tags {
			f.keys[k] = struct{}{}
		}
	}
	return s
}

func (c *sdkCollector) update(s *sdkSeries, fn func(*sdkSeries)) {
	c.mu.Lock()
	fn(s)
	c.mu.Unlock()
}

// Describe sends nothing: the SDK's metrics are known only as they appear,
// which makes this an unchecked collector.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect exports every series.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.families {
		keys := make([]string, 0, len(f.keys))
		for k := range f.keys {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		desc := prometheus.NewDesc(f.name, "Temporal SDK metric "+f.name+".", labelNames(keys), nil)
		for _, s := range f.series {
			values := make([]string, len(keys))
			for i, k := range keys {
				values[i] = s.labels[k]
			}
			var m prometheus.Metric
			var err error
			switch f.kind {
			case sdkCounter:
				m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, s.value, values...)
			case sdkGauge:
				m, err = prometheus.NewConstMetric(desc, prometheus.GaugeValue, s.value, values...)
			case sdkTimer:
				cum := map[float64]uint64{}
				var run uint64
				for i, b := range sdkBuckets {
					run += s.buckets[i]
					cum[b] = run
				}
				m, err = prometheus.NewConstHistogram(desc, s.count, s.sum, cum, values...)
			}
			if err == nil {
				ch <- m
			}
		}
	}
}

type sdkHandler struct {
	c    *sdkCollector
	tags map[string]string
}

func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		merged[k] = v
	}
	for k, v := range tags {
		merged[k] = v
	}
	return &sdkHandler{c: h.c, tags: merged}
}

func (h *sdkHandler) signature() string {
	keys := make([]string, 0, len(h.tags))
	for k := range h.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(h.tags[k])
		b.WriteByte(',')
	}
	return b.String()
}

func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	s := h.c.series(name, sdkCounter, h.tags, h.signature())
	return counterFunc(func(d int64) { h.c.update(s, func(s *sdkSeries) { s.value += float64(d) }) })
}

func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	s := h.c.series(name, sdkGauge, h.tags, h.signature())
	return gaugeFunc(func(v float64) { h.c.update(s, func(s *sdkSeries) { s.value = v }) })
}

func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	s := h.c.series(name, sdkTimer, h.tags, h.signature())
	return timerFunc(func(d time.Duration) {
		sec := d.Seconds()
		h.c.update(s, func(s *sdkSeries) {
			s.count++
			s.sum += sec
			for i, b := range sdkBuckets {
				if sec <= b {
					s.buckets[i]++
					break
				}
			}
		})
	})
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }

func kindSuffix(k sdkKind) string {
	return [...]string{"counter", "gauge", "timer"}[k]
}

// promName makes an SDK metric name a valid Prometheus name; timers are
// exported in seconds and say so.
func promName(name string, kind sdkKind) string {
	var b strings.Builder
	for i, r := range name {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	n := b.String()
	if kind == sdkTimer && !strings.HasSuffix(n, "_seconds") {
		n += "_seconds"
	}
	return n
}

func labelNames(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = promName(k, sdkCounter)
	}
	return out
}
