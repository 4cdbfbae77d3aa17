// Package monitortest runs monitor test scripts: load or generate series,
// define a monitor, advance time and expect states, incidents and
// notifications — in the spirit of Prometheus' promqltest, for every monitor
// kind including the anomaly and forecast maths.
//
//	load 1m                                  # promqltest series notation
//	  cpu{pod="a"} 0.1 0.1 0.9x3 0.2x2
//	gen 5m 8d                                # generated history
//	  req{svc="a"} sine base=200 amp=80 period=1d noise=5 seed=1 spike=7d23h,20m,400
//	  disk{dev="sda"} line start=50 slope=4/1d noise=0.3 seed=2
//	monitor                                  # a monitor definition in YAML, indented
//	  kind: threshold
//	  query: cpu
//	  critical: 0.8
//	eval 4m                                  # evaluate every interval up to 4m
//	  {pod="a"} alerting critical            # a series' state (labels match as a subset)
//	  {pod="a"} message ~ above              # its message contains a text
//	  {dev="sda"} crossing 3d12h ± 10%        # a forecast's predicted crossing (from the start)
//	  notifications 1                        # notifications queued so far
//	  incidents 1 open 1                     # incidents so far, of which open
package monitortest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"vigil/internal/monitor"
	"vigil/internal/store/metrics"
)

// Start is time zero of every script (a Monday, so weekly profiles line up).
var Start = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// Script is a parsed test script.
type Script struct {
	Series  []metrics.Series
	Monitor *monitor.Monitor
	Evals   []Eval
}

// Eval is one `eval` block.
type Eval struct {
	Line   int
	At     time.Duration
	Checks []Check
}

// Check is one expectation.
type Check struct {
	Line     int
	Kind     string // state, message, crossing, notifications, incidents
	Match    map[string]string
	State    string
	Severity string
	Text     string
	At       time.Duration
	Tol      float64 // crossing tolerance as a fraction of (At − eval time)
	N, Open  int
}

const maxPoints = 200_000

// Parse reads a script.
func Parse(src string) (*Script, error) {
	if !utfOK(src) {
		return nil, errors.New("script is not valid UTF-8")
	}
	if len(src) > 1<<20 {
		return nil, errors.New("script is larger than 1 MiB")
	}
	sc := &Script{}
	lines := strings.Split(src, "\n")
	points := 0
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(stripComment(lines[i]), " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("line %d: indented line outside a block", i+1)
		}
		f := strings.Fields(line)
		var body []string
		var bodyLines []int
		for i+1 < len(lines) {
			next := strings.TrimRight(stripComment(lines[i+1]), " \t\r")
			if strings.TrimSpace(next) != "" && next[0] != ' ' && next[0] != '\t' {
				break
			}
			i++
			if strings.TrimSpace(next) != "" {
				body = append(body, next)
				bodyLines = append(bodyLines, i+1)
			}
		}
		switch f[0] {
		case "load":
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: want `load <step>`", i+1)
			}
			step, err := dur(f[1])
			if err != nil || step <= 0 {
				return nil, fmt.Errorf("line %d: bad step %q", i+1, f[1])
			}
			for k, b := range body {
				if n := expansion(b); n < 0 || points+n > maxPoints {
					return nil, fmt.Errorf("line %d: more than %d points", bodyLines[k], maxPoints)
				}
				lb, vals, err := parser.NewParser(parser.Options{}).ParseSeriesDesc(strings.TrimSpace(b))
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", bodyLines[k], err)
				}
				s := metrics.Series{Labels: lb}
				for j, v := range vals {
					if !v.Omitted {
						s.Samples = append(s.Samples, metrics.Sample{T: Start.Add(time.Duration(j) * step).UnixMilli(), V: v.Value})
					}
				}
				points += len(s.Samples)
				sc.Series = append(sc.Series, s)
			}
		case "gen":
			if len(f) != 3 {
				return nil, fmt.Errorf("line %d: want `gen <step> <length>`", i+1)
			}
			step, err1 := dur(f[1])
			length, err2 := dur(f[2])
			if err1 != nil || err2 != nil || step <= 0 || length <= 0 {
				return nil, fmt.Errorf("line %d: bad step or length", i+1)
			}
			if n := int(length / step); n > maxPoints || points+n*len(body) > maxPoints {
				return nil, fmt.Errorf("line %d: more than %d points", i+1, maxPoints)
			}
			for k, b := range body {
				s, err := generate(strings.TrimSpace(b), step, length)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", bodyLines[k], err)
				}
				points += len(s.Samples)
				sc.Series = append(sc.Series, s)
			}
		case "monitor":
			if sc.Monitor != nil {
				return nil, fmt.Errorf("line %d: one monitor per script", i+1)
			}
			ms, err := monitor.ParseFile([]byte(dedent(body)))
			if err != nil || len(ms) != 1 {
				return nil, fmt.Errorf("line %d: monitor: %v", i+1, orErr(err, "want exactly one monitor"))
			}
			sc.Monitor = ms[0]
			if sc.Monitor.Name == "" {
				sc.Monitor.Name = "test"
			}
		case "eval":
			if len(f) != 2 {
				return nil, fmt.Errorf("line %d: want `eval <time>`", i+1)
			}
			at, err := dur(f[1])
			if err != nil || at < 0 {
				return nil, fmt.Errorf("line %d: bad time %q", i+1, f[1])
			}
			ev := Eval{Line: i + 1, At: at}
			for k, b := range body {
				c, err := parseCheck(strings.TrimSpace(b))
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", bodyLines[k], err)
				}
				c.Line = bodyLines[k]
				ev.Checks = append(ev.Checks, c)
			}
			if n := len(sc.Evals); n > 0 && at < sc.Evals[n-1].At {
				return nil, fmt.Errorf("line %d: eval times must not go back", i+1)
			}
			sc.Evals = append(sc.Evals, ev)
		default:
			return nil, fmt.Errorf("line %d: unknown command %q (load, gen, monitor, eval)", i+1, f[0])
		}
		if points > maxPoints {
			return nil, fmt.Errorf("more than %d points", maxPoints)
		}
	}
	if sc.Monitor == nil {
		return nil, errors.New("no monitor block")
	}
	return sc, nil
}

func orErr(err error, s string) error {
	if err != nil {
		return err
	}
	return errors.New(s)
}

func utfOK(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func stripComment(s string) string {
	// A '#' starts a comment unless it sits inside a quoted string.
	inQ := false
	for i, r := range s {
		switch r {
		case '"':
			inQ = !inQ
		case '#':
			if !inQ {
				return s[:i]
			}
		}
	}
	return s
}

func dedent(body []string) string {
	indent := -1
	for _, b := range body {
		n := len(b) - len(strings.TrimLeft(b, " \t"))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	var out []string
	for _, b := range body {
		out = append(out, b[indent:])
	}
	return strings.Join(out, "\n") + "\n"
}

func dur(s string) (time.Duration, error) {
	var d monitor.Duration
	if err := d.UnmarshalText([]byte(s)); err != nil {
		return 0, err
	}
	return d.D(), nil
}

// splitLabels cuts a leading `{…}` or `name{…}` selector off s.
func splitLabels(s string) (map[string]string, string, error) {
	end := strings.Index(s, "}")
	if !strings.HasPrefix(s, "{") || end < 0 {
		return nil, s, nil
	}
	lb, err := parser.NewParser(parser.Options{}).ParseMetric(s[:end+1])
	if err != nil {
		return nil, "", fmt.Errorf("bad labels %q: %w", s[:end+1], err)
	}
	return lb.Map(), strings.TrimSpace(s[end+1:]), nil
}

func parseCheck(s string) (Check, error) {
	match, rest, err := splitLabels(s)
	if err != nil {
		return Check{}, err
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return Check{}, fmt.Errorf("empty check %q", s)
	}
	atoi := func(x string) (int, error) {
		n, err := strconv.Atoi(x)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad count %q", x)
		}
		return n, nil
	}
	if match == nil {
		switch f[0] {
		case "notifications":
			if len(f) != 2 {
				return Check{}, errors.New("want `notifications <n>`")
			}
			n, err := atoi(f[1])
			return Check{Kind: "notifications", N: n}, err
		case "incidents":
			c := Check{Kind: "incidents", Open: -1}
			if len(f) != 2 && len(f) != 4 {
				return Check{}, errors.New("want `incidents <n> [open <m>]`")
			}
			if c.N, err = atoi(f[1]); err != nil {
				return c, err
			}
			if len(f) == 4 {
				if f[2] != "open" {
					return c, errors.New("want `incidents <n> open <m>`")
				}
				c.Open, err = atoi(f[3])
			}
			return c, err
		}
		return Check{}, fmt.Errorf("unknown check %q (a check on a series starts with {labels})", f[0])
	}
	switch f[0] {
	case "ok", "pending", "alerting", "learning", "absent":
		c := Check{Kind: "state", Match: match, State: f[0]}
		if len(f) == 2 {
			c.Severity = f[1]
		} else if len(f) > 2 {
			return c, errors.New("want `{labels} <state> [severity]`")
		}
		return c, nil
	case "message":
		if len(f) < 3 || f[1] != "~" {
			return Check{}, errors.New("want `{labels} message ~ <text>`")
		}
		return Check{Kind: "message", Match: match, Text: strings.Trim(strings.Join(f[2:], " "), `"`)}, nil
	case "crossing":
		// crossing <time> ± <p>%
		if len(f) != 4 || (f[2] != "±" && f[2] != "+-") || !strings.HasSuffix(f[3], "%") {
			return Check{}, errors.New("want `{labels} crossing <time> ± <percent>%`")
		}
		at, err := dur(f[1])
		if err != nil {
			return Check{}, err
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(f[3], "%"), 64)
		if err != nil || p < 0 || p > 100 {
			return Check{}, fmt.Errorf("bad tolerance %q", f[3])
		}
		return Check{Kind: "crossing", Match: match, At: at, Tol: p / 100}, nil
	}
	return Check{}, fmt.Errorf("unknown series check %q", f[0])
}

// generate makes `<series> sine|line key=value…`.
func generate(s string, step, length time.Duration) (metrics.Series, error) {
	end := strings.Index(s, "}")
	if end < 0 {
		return metrics.Series{}, errors.New("want `name{labels} sine|line key=value…`")
	}
	lb, err := parser.NewParser(parser.Options{}).ParseMetric(s[:end+1])
	if err != nil {
		return metrics.Series{}, fmt.Errorf("bad series %q: %w", s[:end+1], err)
	}
	f := strings.Fields(s[end+1:])
	if len(f) == 0 || (f[0] != "sine" && f[0] != "line") {
		return metrics.Series{}, errors.New("want a shape: sine or line")
	}
	p := map[string]string{}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return metrics.Series{}, fmt.Errorf("bad parameter %q", kv)
		}
		p[k] = v
	}
	num := func(k string, def float64) (float64, error) {
		v, ok := p[k]
		if !ok {
			return def, nil
		}
		delete(p, k)
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("bad %s=%q", k, v)
		}
		return x, nil
	}
	base, e1 := num("base", 0)
	amp, e2 := num("amp", 0)
	noise, e3 := num("noise", 0)
	seed, e4 := num("seed", 1)
	start, e5 := num("start", 0)
	if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
		return metrics.Series{}, err
	}
	period := 24 * time.Hour
	if v, ok := p["period"]; ok {
		delete(p, "period")
		if period, err = dur(v); err != nil || period <= 0 {
			return metrics.Series{}, fmt.Errorf("bad period %q", v)
		}
	}
	var slopePerMs float64
	if v, ok := p["slope"]; ok { // slope=4/1d
		delete(p, "slope")
		a, per, ok := strings.Cut(v, "/")
		x, err := strconv.ParseFloat(a, 64)
		d, derr := dur(per)
		if !ok || err != nil || derr != nil || d <= 0 {
			return metrics.Series{}, fmt.Errorf("bad slope %q (e.g. 4/1d)", v)
		}
		slopePerMs = x / float64(d.Milliseconds())
	}
	type spike struct {
		at, dur time.Duration
		add     float64
	}
	var spikes []spike
	if v, ok := p["spike"]; ok { // spike=7d23h,20m,400
		delete(p, "spike")
		parts := strings.Split(v, ",")
		if len(parts) != 3 {
			return metrics.Series{}, fmt.Errorf("bad spike %q (at,duration,add)", v)
		}
		at, err1 := dur(parts[0])
		d, err2 := dur(parts[1])
		add, err3 := strconv.ParseFloat(parts[2], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return metrics.Series{}, fmt.Errorf("bad spike %q", v)
		}
		spikes = append(spikes, spike{at, d, add})
	}
	for k := range p {
		return metrics.Series{}, fmt.Errorf("unknown parameter %q", k)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	out := metrics.Series{Labels: lb}
	for t := time.Duration(0); t < length; t += step {
		var v float64
		if f[0] == "sine" {
			v = base + amp*math.Sin(2*math.Pi*float64(t)/float64(period))
		} else {
			v = start + slopePerMs*float64(t.Milliseconds())
		}
		v += r.NormFloat64() * noise
		for _, sp := range spikes {
			if t >= sp.at && t < sp.at+sp.dur {
				v += sp.add
			}
		}
		out.Samples = append(out.Samples, metrics.Sample{T: Start.Add(t).UnixMilli(), V: v})
	}
	return out, nil
}

var repeatRe = regexp.MustCompile(`x(\d+)`)

// expansion bounds how many values a promqltest series line expands to, so a
// line like `1x100000000` is refused before it is expanded (-1: too many).
func expansion(line string) int {
	n := len(strings.Fields(line))
	for _, m := range repeatRe.FindAllStringSubmatch(line, -1) {
		if len(m[1]) > 7 {
			return -1
		}
		r, _ := strconv.Atoi(m[1])
		n += r + 1
		if n > maxPoints {
			return -1
		}
	}
	return n
}
