// Package kubelet reads a kubelet's resource metrics (/metrics/resource and
// /metrics/cadvisor, Prometheus text format) and turns them into series with a
// node label, keeping the kubelet's and cAdvisor's metric names so existing
// dashboards and PromQL habits carry over.
package kubelet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"vigil/internal/store/metrics"
)

// DefaultMaxBytes bounds one exposition; a kubelet with 110 pods serves a few MB of cAdvisor text.
const DefaultMaxBytes = 64 << 20

// DefaultMaxSeries bounds the series taken from one exposition.
const DefaultMaxSeries = 200_000

// ErrTooLarge is returned when an exposition exceeds the configured size.
var ErrTooLarge = errors.New("exposition too large")

// ParseOptions say how to turn one exposition into series.
type ParseOptions struct {
	Node string    // set as the node label on every series
	Time time.Time // timestamp of every sample (the scrape time)
	// Keep selects metric families by name; nil keeps DefaultKeep's.
	Keep      func(name string) bool
	MaxBytes  int64 // 0 = DefaultMaxBytes
	MaxSeries int   // 0 = DefaultMaxSeries
}

// keptPrefixes are the resource families of /metrics/resource and
// /metrics/cadvisor worth storing; the rest (spec_*, tasks_state, Go runtime,
// HTTP handler figures) is large and rarely queried.
var keptPrefixes = []string{
	"container_cpu_", "container_memory_", "container_network_", "container_fs_",
	"container_oom_events_total", "container_start_time_seconds", "container_processes",
	"container_threads", "container_file_descriptors", "container_sockets",
	"container_last_seen", "container_ulimits_soft",
	"pod_", "node_", "machine_cpu_cores", "machine_memory_bytes",
	"scrape_error", "resource_scrape_error",
}

// DefaultKeep reports whether a family is one vigil stores by default.
func DefaultKeep(name string) bool {
	for _, p := range keptPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Parse reads a Prometheus text exposition and returns its kept families as
// series stamped with opts.Time and labelled with opts.Node. Malformed text,
// invalid UTF-8 and oversized input are errors: a partial scrape would make
// counters look like resets.
func Parse(r io.Reader, opts ParseOptions) ([]metrics.Series, error) {
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	maxSeries := opts.MaxSeries
	if maxSeries <= 0 {
		maxSeries = DefaultMaxSeries
	}
	keep := opts.Keep
	if keep == nil {
		keep = DefaultKeep
	}
	body, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read exposition: %w", err)
	}
	if int64(len(body)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("exposition is not valid UTF-8 (at byte %d)", firstInvalidUTF8(body))
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse exposition: %w", err)
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		if keep(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names) // stable output for tests and for the append order
	ts := opts.Time.UnixMilli()
	var out []metrics.Series
	b := labels.NewBuilder(labels.EmptyLabels())
	add := func(name string, m *dto.Metric, v float64, extra ...string) error {
		if len(out) >= maxSeries {
			return fmt.Errorf("exposition has more than %d series", maxSeries)
		}
		b.Reset(labels.EmptyLabels())
		for _, lp := range m.GetLabel() {
			n := lp.GetName()
			if n == "" || n == labels.MetricName {
				return fmt.Errorf("metric %s: invalid label name %q", name, n)
			}
			if b.Get(n) != "" {
				return fmt.Errorf("metric %s: duplicate label %q", name, n)
			}
			if lp.GetValue() != "" {
				b.Set(n, lp.GetValue())
			}
		}
		// As Prometheus does without honor_labels: the target's own node label wins.
		if v := b.Get("node"); v != "" {
			b.Set("exported_node", v)
		}
		if opts.Node != "" {
			b.Set("node", opts.Node)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			b.Set(extra[i], extra[i+1])
		}
		b.Set(labels.MetricName, name)
		out = append(out, metrics.Series{Labels: b.Labels(), Samples: []metrics.Sample{{T: ts, V: v}}})
		return nil
	}
	for _, name := range names {
		mf := fams[name]
		for _, m := range mf.GetMetric() {
			var err error
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				err = add(name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				err = add(name, m, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				err = add(name, m, m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					if err = add(name, m, q.GetValue(), "quantile", formatFloat(q.GetQuantile())); err != nil {
						break
					}
				}
				if err == nil {
					err = add(name+"_sum", m, s.GetSampleSum())
				}
				if err == nil {
					err = add(name+"_count", m, float64(s.GetSampleCount()))
				}
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, bk := range h.GetBucket() {
					if err = add(name+"_bucket", m, float64(bk.GetCumulativeCount()), "le", formatFloat(bk.GetUpperBound())); err != nil {
						break
					}
				}
				if err == nil {
					err = add(name+"_sum", m, h.GetSampleSum())
				}
				if err == nil {
					err = add(name+"_count", m, float64(h.GetSampleCount()))
				}
			default:
				err = fmt.Errorf("metric %s: unsupported type %s", name, mf.GetType())
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
