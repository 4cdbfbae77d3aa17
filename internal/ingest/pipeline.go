package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"vigil/internal/store/logs"
	"vigil/internal/store/metrics"
)

// Rules configure the log pipeline. Namespace patterns are shell globs
// (path.Match), e.g. "kube-*".
type Rules struct {
	// Include keeps only the namespaces matching one of these; empty keeps all.
	Include []string `json:"include,omitempty"`
	// Exclude drops the namespaces matching one of these.
	Exclude []string `json:"exclude,omitempty"`
	// Redact adds regular expressions whose matches are masked, per namespace glob.
	Redact []RedactRule `json:"redact,omitempty"`
	// NoBuiltinRedaction turns off masking of passwords, tokens, keys and card numbers.
	NoBuiltinRedaction bool `json:"noBuiltinRedaction,omitempty"`
	// RateLimit is the lines per second kept per container (0: unlimited);
	// RateBurst how many may arrive at once (default: one second's worth).
	RateLimit int `json:"rateLimit,omitempty"`
	RateBurst int `json:"rateBurst,omitempty"`
	// NamespaceRateLimits override RateLimit per namespace glob.
	NamespaceRateLimits map[string]int `json:"namespaceRateLimits,omitempty"`
	// Retention keeps the logs of the namespaces matching a glob for a
	// shorter time than the store's retention ("2d", "36h"); when several
	// match, the shortest wins.
	Retention map[string]string `json:"retention,omitempty"`
}

// ParseRetention reads a retention: a Go duration ("36h") or whole days ("2d").
// It must be at least an hour.
func ParseRetention(s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, fmt.Errorf("retention %q: use hours (36h) or days (2d)", s)
	}
	if d < time.Hour {
		return 0, fmt.Errorf("retention %q: must be at least 1h", s)
	}
	return d, nil
}

// RedactRule masks Pattern in the namespaces matching Namespace (all when empty).
type RedactRule struct {
	Namespace string `json:"namespace,omitempty"`
	Pattern   string `json:"pattern"`
}

type compiledRules struct {
	Rules
	redact []compiledRedact
}

type compiledRedact struct {
	ns string
	re *regexp.Regexp
}

// Compile checks rules and prepares them for the pipeline.
func (r Rules) compile() (*compiledRules, error) {
	c := &compiledRules{Rules: r}
	globs := append(append([]string{}, r.Include...), r.Exclude...)
	for ns := range r.NamespaceRateLimits {
		globs = append(globs, ns)
	}
	for ns, v := range r.Retention {
		if ns == "" {
			return nil, fmt.Errorf("retention: the namespace pattern is empty")
		}
		if _, err := ParseRetention(v); err != nil {
			return nil, fmt.Errorf("retention of %q: %w", ns, err)
		}
		globs = append(globs, ns)
	}
	for _, rr := range r.Redact {
		globs = append(globs, rr.Namespace)
		re, err := regexp.Compile(rr.Pattern)
		if err != nil {
			return nil, fmt.Errorf("redaction pattern %q: %w", rr.Pattern, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("redaction pattern %q matches the empty string", rr.Pattern)
		}
		c.redact = append(c.redact, compiledRedact{ns: rr.Namespace, re: re})
	}
	for _, g := range globs {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("namespace pattern %q: %w", g, err)
		}
	}
	if r.RateLimit < 0 || r.RateBurst < 0 {
		return nil, fmt.Errorf("rate limit and burst must not be negative")
	}
	for ns, l := range r.NamespaceRateLimits {
		if l < 0 {
			return nil, fmt.Errorf("rate limit for %q must not be negative", ns)
		}
	}
	return c, nil
}

// Validate reports whether rules can be used.
func (r Rules) Validate() error { _, err := r.compile(); return err }

func matchAny(globs []string, ns string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, ns); ok {
			return true
		}
	}
	return false
}

// keep reports whether a namespace's lines are stored. Lines without a
// namespace (host logs) are always kept.
func (c *compiledRules) keep(ns string) bool {
	if ns == "" {
		return true
	}
	if len(c.Include) > 0 && !matchAny(c.Include, ns) {
		return false
	}
	return !matchAny(c.Exclude, ns)
}

func (c *compiledRules) rateFor(ns string) int {
	for g, l := range c.NamespaceRateLimits {
		if ok, _ := path.Match(g, ns); ok {
			return l
		}
	}
	return c.RateLimit
}

func (c *compiledRules) redactor(ns string) *Redactor {
	r := &Redactor{Builtin: !c.NoBuiltinRedaction}
	for _, cr := range c.redact {
		if cr.ns == "" {
			r.Extra = append(r.Extra, cr.re)
		} else if ok, _ := path.Match(cr.ns, ns); ok {
			r.Extra = append(r.Extra, cr.re)
		}
	}
	return r
}

// Pipeline turns decoded log records into what is stored: JSON lines become
// fields, every line gets a level when one can be told, secrets are masked,
// namespaces are filtered, each container is rate limited (and what was
// dropped is reported), and records gain their node's zone.
type Pipeline struct {
	rules atomic.Pointer[compiledRules]
	// Zone returns the zone of a node ("" when unknown); may be nil.
	Zone func(node string) string
	// ReportInterval is how often dropped-line reports are written.
	ReportInterval time.Duration
	Log            *slog.Logger

	mu      sync.Mutex
	buckets map[bucketKey]*bucket

	Excluded    atomic.Int64 // lines dropped by include/exclude rules
	RateDropped atomic.Int64 // lines dropped by rate limits
	Redacted    atomic.Int64 // lines in which something was masked
}

type bucketKey struct{ ns, pod, container, node, file string }

type bucket struct {
	tokens   float64
	last     time.Time
	dropped  int64 // since the last report
	total    int64 // since start, for the counter metric
	limit    int
	reported bool // total changed since the metric was last written
}

// NewPipeline returns a pipeline with built-in redaction and no limits.
func NewPipeline() *Pipeline {
	p := &Pipeline{buckets: map[bucketKey]*bucket{}}
	c, _ := Rules{}.compile()
	p.rules.Store(c)
	return p
}

// SetRules replaces the rules; invalid rules are refused and the old ones kept.
func (p *Pipeline) SetRules(r Rules) error {
	c, err := r.compile()
	if err != nil {
		return err
	}
	p.rules.Store(c)
	return nil
}

// Rules returns the rules in use.
func (p *Pipeline) Rules() Rules { return p.rules.Load().Rules }

// Process transforms records in place and returns the ones to store.
func (p *Pipeline) Process(records []logs.Record, now time.Time) []logs.Record {
	rules := p.rules.Load()
	out := records[:0]
	var redactors map[string]*Redactor
	for _, r := range records {
		var k bucketKey
		msgIdx, hasLevel, hasZone := -1, false, false
		for i, f := range r.Fields {
			switch f.Name {
			case "namespace":
				k.ns = f.Value
			case "pod":
				k.pod = f.Value
			case "container":
				k.container = f.Value
			case "node":
				k.node = f.Value
			case "file":
				k.file = f.Value
			case "_msg":
				msgIdx = i
			case "level":
				hasLevel = true
			case "zone":
				hasZone = true
			}
		}
		if !rules.keep(k.ns) {
			p.Excluded.Add(1)
			continue
		}
		if limit := rules.rateFor(k.ns); limit > 0 && !p.allow(k, limit, rules.RateBurst, now) {
			continue
		}
		rd := redactors[k.ns]
		if rd == nil {
			rd = rules.redactor(k.ns)
			if redactors == nil {
				redactors = map[string]*Redactor{}
			}
			redactors[k.ns] = rd
		}
		redacted := false
		if msgIdx >= 0 {
			msg := r.Fields[msgIdx].Value
			masked, changed := rd.Redact(msg)
			if changed {
				r.Fields[msgIdx].Value, redacted = masked, true
			}
			if jf, ok := ParseJSONLine(msg); ok {
				// Values are parts of the line: when the line held nothing to
				// mask, neither do they.
				for i := 0; changed && i < len(jf); i++ {
					if rd.Builtin && secretName(jf[i].Name) {
						jf[i].Value = Mask
						continue
					}
					jf[i].Value, _ = rd.Redact(jf[i].Value)
				}
				if !hasLevel {
					if l := LevelFromFields(jf); l != "" {
						r.Fields = append(r.Fields, logs.Field{Name: "level", Value: l})
						hasLevel = true
					}
				}
				for _, f := range jf {
					if !hasField(r.Fields, f.Name) {
						r.Fields = append(r.Fields, f)
					}
				}
			}
			if !hasLevel {
				if l := DetectLevel(msg); l != "" {
					r.Fields = append(r.Fields, logs.Field{Name: "level", Value: l})
				}
			}
		}
		if redacted {
			p.Redacted.Add(1)
		}
		if !hasZone && k.node != "" && p.Zone != nil {
			if z := p.Zone(k.node); z != "" {
				r.Fields = append(r.Fields, logs.Field{Name: "zone", Value: z})
			}
		}
		out = append(out, r)
	}
	clear(records[len(out):])
	return out
}

// allow takes a token from the container's bucket.
func (p *Pipeline) allow(k bucketKey, limit, burst int, now time.Time) bool {
	if burst <= 0 {
		burst = limit
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buckets[k]
	if b == nil {
		b = &bucket{tokens: float64(burst), last: now}
		p.buckets[k] = b
	}
	b.limit = limit
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(float64(burst), b.tokens+el*float64(limit))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.dropped++
	b.total++
	b.reported = true
	p.RateDropped.Add(1)
	return false
}

// DroppedMetric is the counter series of lines dropped by rate limits.
const DroppedMetric = "vigil_log_lines_dropped_total"

// Run writes, every ReportInterval until ctx ends, one log row into each
// rate-limited container's stream saying how many lines were dropped, and
// the per-container counter DroppedMetric into the metrics store.
func (p *Pipeline) Run(ctx context.Context, store logs.Store, ms metrics.Store) {
	every := p.ReportInterval
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.report(context.WithoutCancel(ctx), store, ms, every, time.Now())
			return
		case now := <-t.C:
			p.report(ctx, store, ms, every, now)
		}
	}
}

func (p *Pipeline) report(ctx context.Context, store logs.Store, ms metrics.Store, every time.Duration, now time.Time) {
	var recs []logs.Record
	var series []metrics.Series
	p.mu.Lock()
	for k, b := range p.buckets {
		if b.dropped > 0 {
			msg := fmt.Sprintf("vigil: rate limit of %d lines/s exceeded: dropped %d lines of this container in the last %s", b.limit, b.dropped, every)
			recs = append(recs, logs.Record{Time: now, Fields: dropFields(k, msg, b.dropped, b.limit)})
			b.dropped = 0
		}
		if b.reported && ms != nil {
			lb := labels.NewBuilder(labels.EmptyLabels())
			lb.Set(labels.MetricName, DroppedMetric)
			lb.Set("reason", "rate_limit")
			for n, v := range map[string]string{"namespace": k.ns, "pod": k.pod, "container": k.container, "node": k.node, "file": k.file} {
				if v != "" {
					lb.Set(n, v)
				}
			}
			series = append(series, metrics.Series{Labels: lb.Labels(), Samples: []metrics.Sample{{T: now.UnixMilli(), V: float64(b.total)}}})
			b.reported = false
		}
		// Forget idle containers so the map does not grow with pod churn.
		if b.dropped == 0 && now.Sub(b.last) > 10*every {
			delete(p.buckets, k)
		}
	}
	p.mu.Unlock()
	if len(recs) > 0 && store != nil {
		if err := store.Write(ctx, recs); err != nil && p.Log != nil {
			p.Log.Warn("write rate-limit report", "err", err)
		}
	}
	if len(series) > 0 {
		if _, err := ms.Write(ctx, series); err != nil && p.Log != nil {
			p.Log.Warn("write rate-limit counter", "err", err)
		}
	}
}

func dropFields(k bucketKey, msg string, n int64, limit int) []logs.Field {
	fs := []logs.Field{{Name: "_msg", Value: msg}, {Name: "level", Value: "warn"},
		{Name: "vigil.dropped_lines", Value: strconv.FormatInt(n, 10)}, {Name: "vigil.rate_limit", Value: strconv.Itoa(limit)}}
	for n, v := range map[string]string{"namespace": k.ns, "pod": k.pod, "container": k.container, "node": k.node, "file": k.file} {
		if v != "" {
			fs = append(fs, logs.Field{Name: n, Value: v})
		}
	}
	return fs
}

// MarshalRules and UnmarshalRules are the stored JSON form.
func MarshalRules(r Rules) ([]byte, error) { return json.Marshal(r) }

// UnmarshalRules decodes and validates stored or posted rules.
func UnmarshalRules(b []byte) (Rules, error) {
	var r Rules
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Rules{}, fmt.Errorf("decode log pipeline rules: %w", err)
	}
	return r, r.Validate()
}
