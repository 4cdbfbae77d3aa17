package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"
)

const maxFileSize = 4 << 20

// ParseFile reads monitors from YAML or JSON: one monitor, a list, or {monitors: [...]}.
func ParseFile(data []byte) ([]*Monitor, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("file is not valid UTF-8")
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse YAML: %w", err)
	}
	js = bytes.TrimSpace(js)
	var out []*Monitor
	switch {
	case len(js) == 0 || string(js) == "null":
		return nil, nil
	case js[0] == '[':
		if err := yaml.UnmarshalStrict(data, &out); err != nil {
			return nil, fmt.Errorf("monitors: %w", err)
		}
	default:
		var probe map[string]any
		if err := yaml.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
		if _, ok := probe["monitors"]; ok {
			var doc struct {
				Monitors []*Monitor `json:"monitors"`
			}
			if err := yaml.UnmarshalStrict(data, &doc); err != nil {
				return nil, fmt.Errorf("monitors: %w", err)
			}
			out = doc.Monitors
		} else {
			m := &Monitor{}
			if err := yaml.UnmarshalStrict(data, m); err != nil {
				return nil, fmt.Errorf("monitor: %w", err)
			}
			out = []*Monitor{m}
		}
	}
	for i, m := range out {
		if m == nil {
			return nil, fmt.Errorf("monitor %d is empty", i+1)
		}
	}
	return out, nil
}

// LoadDir reads every *.yaml, *.yml and *.json file of dir (not recursively).
func LoadDir(dir string) ([]*Monitor, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("monitors dir: %w", err)
	}
	var out []*Monitor
	var errs []error
	for _, ent := range ents {
		ext := strings.ToLower(filepath.Ext(ent.Name()))
		if ent.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		p := filepath.Join(dir, ent.Name())
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms, err := ParseFile(data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		for _, m := range ms {
			m.Source = "file:" + ent.Name()
		}
		out = append(out, ms...)
	}
	return out, errors.Join(errs...)
}

// ImportPrometheusRules turns a Prometheus rule file's alerting rules into
// threshold monitors. `expr > N` style rules keep their threshold; any other
// expression alerts whenever it returns a series.
func ImportPrometheusRules(data []byte) ([]*Monitor, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("file is larger than %d bytes", maxFileSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("file is not valid UTF-8")
	}
	var doc struct {
		Groups []struct {
			Name     string `json:"name"`
			Interval string `json:"interval"`
			Rules    []struct {
				Alert         string            `json:"alert"`
				Record        string            `json:"record"`
				Expr          string            `json:"expr"`
				For           string            `json:"for"`
				KeepFiringFor string            `json:"keep_firing_for"`
				Labels        map[string]string `json:"labels"`
				Annotations   map[string]string `json:"annotations"`
			} `json:"rules"`
			Limit int `json:"limit"`
		} `json:"groups"`
	}
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		return nil, fmt.Errorf("parse rule file: %w", err)
	}
	if len(doc.Groups) == 0 {
		return nil, errors.New("no rule groups (expected `groups: - name: … rules: - alert: …`)")
	}
	var out []*Monitor
	var errs []error
	ids := map[string]bool{}
	for _, g := range doc.Groups {
		interval := Duration(time.Minute)
		if g.Interval != "" {
			if err := interval.UnmarshalText([]byte(g.Interval)); err != nil {
				errs = append(errs, fmt.Errorf("group %s: %w", g.Name, err))
				continue
			}
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue // recording rules are not monitors
			}
			m := &Monitor{Name: r.Alert, Kind: KindThreshold, Interval: interval, Labels: map[string]string{}, Source: "import"}
			m.ID = slug(g.Name + "-" + r.Alert)
			for i := 2; ids[m.ID]; i++ {
				m.ID = fmt.Sprintf("%s-%d", slug(g.Name+"-"+r.Alert), i)
			}
			ids[m.ID] = true
			for k, v := range r.Labels {
				m.Labels[k] = v
			}
			m.Description = firstNonEmpty(r.Annotations["description"], r.Annotations["summary"])
			if r.For != "" {
				if err := m.For.UnmarshalText([]byte(r.For)); err != nil {
					errs = append(errs, fmt.Errorf("rule %s: %w", r.Alert, err))
					continue
				}
			}
			if r.KeepFiringFor != "" {
				if err := m.ResolveFor.UnmarshalText([]byte(r.KeepFiringFor)); err != nil {
					errs = append(errs, fmt.Errorf("rule %s: %w", r.Alert, err))
					continue
				}
			}
			if s := r.Annotations["summary"]; s != "" && !strings.Contains(s, "{{") {
				m.Notify.Subject = "[{{upper .Severity}}] " + s
			}
			expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %s: expr: %w", r.Alert, err))
				continue
			}
			q, op, thr, ok := splitComparison(expr)
			if !ok {
				// Alert whenever the expression returns a series, whatever its value.
				q, op, thr = "("+r.Expr+") * 0 + 1", "above", 0.5
			}
			m.Query, m.Op = q, op
			t := thr
			if strings.EqualFold(r.Labels["severity"], "warning") {
				m.Warning = &t
			} else {
				m.Critical = &t
			}
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errors.Join(errs...)
}

// splitComparison recognises `<expr> > N` (and <, >=, <=, and N on the left).
func splitComparison(e parser.Expr) (query, op string, thr float64, ok bool) {
	for {
		p, isParen := e.(*parser.ParenExpr)
		if !isParen {
			break
		}
		e = p.Expr
	}
	b, isBin := e.(*parser.BinaryExpr)
	if !isBin || b.ReturnBool || b.VectorMatching != nil && (len(b.VectorMatching.MatchingLabels) > 0 || b.VectorMatching.On) {
		return "", "", 0, false
	}
	num := func(x parser.Expr) (float64, bool) {
		for {
			p, isParen := x.(*parser.ParenExpr)
			if !isParen {
				break
			}
			x = p.Expr
		}
		n, ok := x.(*parser.NumberLiteral)
		if !ok || math.IsNaN(n.Val) {
			return 0, false
		}
		return n.Val, true
	}
	above := map[parser.ItemType]bool{parser.GTR: true, parser.GTE: true}
	below := map[parser.ItemType]bool{parser.LSS: true, parser.LTE: true}
	if !above[b.Op] && !below[b.Op] {
		return "", "", 0, false
	}
	if v, isNum := num(b.RHS); isNum && b.LHS.Type() == parser.ValueTypeVector {
		op = "above"
		if below[b.Op] {
			op = "below"
		}
		return b.LHS.String(), op, v, true
	}
	if v, isNum := num(b.LHS); isNum && b.RHS.Type() == parser.ValueTypeVector {
		op = "below" // N > x means x < N
		if below[b.Op] {
			op = "above"
		}
		return b.RHS.String(), op, v, true
	}
	return "", "", 0, false
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
