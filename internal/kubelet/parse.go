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
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

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
	ts := opts.Time.UnixMilli()
	var (
		out  []metrics.Series
		lset labels.Labels
		b    = labels.NewBuilder(labels.EmptyLabels())
		st   = labels.NewSymbolTable()
		p    = textparse.NewPromParser(body, st, false)
		kept = map[string]bool{} // per family name, so keep runs once per family
	)
	for {
		et, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse exposition: %w", err)
		}
		if et != textparse.EntrySeries {
			continue // HELP, TYPE, comments; classic histograms and summaries arrive as plain series
		}
		raw, _, v := p.Series()
		name := metricName(raw)
		if name == "" { // quoted name inside the braces
			p.Labels(&lset)
			name = lset.Get(labels.MetricName)
		}
		k, seen := kept[name]
		if !seen {
			k = keep(name)
			kept[name] = k
		}
		if !k {
			continue
		}
		if len(out) >= maxSeries {
			return nil, fmt.Errorf("exposition has more than %d series", maxSeries)
		}
		p.Labels(&lset)
		if n, dup := lset.HasDuplicateLabelNames(); dup {
			return nil, fmt.Errorf("metric %s: duplicate label %q", name, n)
		}
		b.Reset(labels.EmptyLabels())
		lset.Range(func(l labels.Label) {
			if l.Value != "" { // an empty label is no label, as in Prometheus
				b.Set(l.Name, l.Value)
			}
		})
		// As Prometheus does without honor_labels: the target's own node label is kept aside.
		if nv := b.Get("node"); nv != "" {
			b.Set("exported_node", nv)
		}
		if opts.Node != "" {
			b.Set("node", opts.Node)
		}
		out = append(out, metrics.Series{Labels: b.Labels(), Samples: []metrics.Sample{{T: ts, V: v}}})
	}
	return out, nil
}

// metricName is the name at the start of a series line: `name{...} v` or `name v`.
func metricName(raw []byte) string {
	if i := bytes.IndexAny(raw, "{ \t"); i >= 0 {
		raw = raw[:i]
	}
	return string(raw)
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
