package deploy

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Change is one field that differs between the desired and the live state.
type Change struct {
	// Path names the field: spec.replicas, spec.template.spec.containers[name=server].image.
	Path string `json:"path"`
	// Op is "changed" (both have it, values differ), "missing" (desired has it, live
	// does not) or "added" (only live has it; symmetric comparisons only).
	Op      string `json:"op"`
	Desired any    `json:"desired,omitempty"`
	Live    any    `json:"live,omitempty"`
}

// String describes a drift: what the desired state says and what is live.
func (c Change) String() string {
	switch c.Op {
	case "missing":
		return fmt.Sprintf("%s: desired %s, absent live", c.Path, show(c.Desired))
	case "added":
		return fmt.Sprintf("%s: absent in desired, live %s", c.Path, show(c.Live))
	}
	return fmt.Sprintf("%s: desired %s, live %s", c.Path, show(c.Desired), show(c.Live))
}

// Transition describes the change as applying it would make it: from the
// live value to the desired one.
func (c Change) Transition() string {
	switch c.Op {
	case "missing":
		return fmt.Sprintf("%s: (absent) → %s", c.Path, show(c.Desired))
	case "added":
		return fmt.Sprintf("%s: %s → (absent)", c.Path, show(c.Live))
	}
	return fmt.Sprintf("%s: %s → %s", c.Path, show(c.Live), show(c.Desired))
}

// Before/after of a CompareAll(old, new) result, e.g. chart values.
func (c Change) BeforeAfter() string {
	switch c.Op {
	case "missing":
		return fmt.Sprintf("%s: %s → (unset)", c.Path, show(c.Desired))
	case "added":
		return fmt.Sprintf("%s: (unset) → %s", c.Path, show(c.Live))
	}
	return fmt.Sprintf("%s: %s → %s", c.Path, show(c.Desired), show(c.Live))
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// maxDepth bounds recursion on hostile input (objects nest far less than this).
const maxDepth = 64

// CompareDesired reports how live differs from desired, looking only at fields the
// desired object sets: whatever the cluster fills in (status, managedFields,
// defaults, server-set metadata) is not drift. A desired zero value (false, 0, "",
// empty list or map) matches an absent live field, since the API server drops
// those.
func CompareDesired(desired, live map[string]any) []Change {
	d := differ{subset: true}
	for _, k := range sortedKeys(desired) {
		if ignoredTop[k] {
			continue
		}
		if k == "metadata" {
			dm, _ := desired[k].(map[string]any)
			lm, _ := live[k].(map[string]any)
			for _, mk := range sortedKeys(dm) {
				if ignoredMeta[mk] {
					continue
				}
				lv, ok := lm[mk]
				d.walk("metadata."+mk, dm[mk], lv, ok, 1)
			}
			continue
		}
		lv, ok := live[k]
		d.walk(k, desired[k], lv, ok, 0)
	}
	return d.out
}

// CompareAll reports every difference between a and b in both directions
// (a is reported as Desired, b as Live), e.g. a resource's state before and
// after a change made outside Terraform.
func CompareAll(a, b any) []Change {
	d := differ{}
	d.walk("", a, b, true, 0)
	return d.out
}

var ignoredTop = map[string]bool{"status": true}

var ignoredMeta = map[string]bool{
	"managedFields": true, "resourceVersion": true, "uid": true, "generation": true,
	"creationTimestamp": true, "selfLink": true, "deletionTimestamp": true, "deletionGracePeriodSeconds": true,
}

type differ struct {
	subset bool
	out    []Change
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (d *differ) walk(path string, want, got any, present bool, depth int) {
	if depth > maxDepth {
		if !reflect.DeepEqual(want, got) {
			d.out = append(d.out, Change{Path: path, Op: "changed", Desired: want, Live: got})
		}
		return
	}
	if !present || got == nil {
		if want == nil || (d.subset && isZero(want)) {
			return
		}
		d.leaves(path, want, "missing", depth)
		return
	}
	if want == nil {
		if d.subset || isZero(got) {
			return
		}
		d.leaves(path, got, "added", depth)
		return
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			d.out = append(d.out, Change{Path: path, Op: "changed", Desired: want, Live: got})
			return
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			d.walk(join(path, k), w[k], gv, ok, depth+1)
		}
		if !d.subset {
			for _, k := range sortedKeys(g) {
				if _, ok := w[k]; !ok && g[k] != nil {
					d.leaves(join(path, k), g[k], "added", depth+1)
				}
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			d.out = append(d.out, Change{Path: path, Op: "changed", Desired: want, Live: got})
			return
		}
		d.walkList(path, w, g, depth)
	default:
		if !scalarEqual(want, got) {
			d.out = append(d.out, Change{Path: path, Op: "changed", Desired: want, Live: got})
		}
	}
}

// walkList matches elements by their "name" when every element has one
// (containers, env, ports, volumes), else by position.
func (d *differ) walkList(path string, want, got []any, depth int) {
	if names, ok := byName(want); ok {
		if gotNames, ok2 := byName(got); ok2 || d.subset {
			for _, n := range sortedKeys(names) {
				gv, ok := gotNames[n]
				d.walk(fmt.Sprintf("%s[name=%s]", path, n), names[n], gv, ok, depth+1)
			}
			if !d.subset {
				for _, n := range sortedKeys(gotNames) {
					if _, ok := names[n]; !ok {
						d.out = append(d.out, Change{Path: fmt.Sprintf("%s[name=%s]", path, n), Op: "added", Live: gotNames[n]})
					}
				}
			}
			return
		}
	}
	if len(want) != len(got) {
		d.out = append(d.out, Change{Path: path, Op: "changed", Desired: want, Live: got})
		return
	}
	for i := range want {
		d.walk(fmt.Sprintf("%s[%d]", path, i), want[i], got[i], true, depth+1)
	}
}

// leaves reports a value that only one side has; a symmetric comparison
// reports each leaf of a map on its own, so a new nested value reads
// server.retention.logs rather than server.
func (d *differ) leaves(path string, v any, op string, depth int) {
	if m, ok := v.(map[string]any); ok && !d.subset && len(m) > 0 && depth < maxDepth {
		for _, k := range sortedKeys(m) {
			d.leaves(join(path, k), m[k], op, depth+1)
		}
		return
	}
	c := Change{Path: path, Op: op}
	if op == "added" {
		c.Live = v
	} else {
		c.Desired = v
	}
	d.out = append(d.out, c)
}

func byName(l []any) (map[string]any, bool) {
	if len(l) == 0 {
		return nil, false
	}
	m := make(map[string]any, len(l))
	for _, e := range l {
		em, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := em["name"].(string)
		if !ok || n == "" {
			return nil, false
		}
		if _, dup := m[n]; dup {
			return nil, false
		}
		m[n] = e
	}
	return m, true
}

func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	if f, ok := number(v); ok {
		return f == 0
	}
	return false
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// scalarEqual compares leaf values the way the API server stores them:
// numbers by value, and quantities ("0.5" and "500m") by amount.
func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		if fb, ok := number(b); ok {
			return fa == fb || (math.IsNaN(fa) && math.IsNaN(fb))
		}
		if sb, ok := b.(string); ok {
			// An int-or-string field (e.g. a port) given as a number.
			return strconv.FormatFloat(fa, 'f', -1, 64) == sb
		}
		return false
	}
	sa, okA := a.(string)
	sb, okB := b.(string)
	if okA && okB {
		if sa == sb {
			return true
		}
		qa, errA := resource.ParseQuantity(sa)
		qb, errB := resource.ParseQuantity(sb)
		return errA == nil && errB == nil && qa.Cmp(qb) == 0
	}
	if okA {
		if fb, ok := number(b); ok {
			return strconv.FormatFloat(fb, 'f', -1, 64) == sa
		}
	}
	return reflect.DeepEqual(a, b)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// sensitiveKey says whether a values key probably holds a secret.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	// Names of secrets are not secrets.
	if strings.HasSuffix(k, "name") || strings.HasPrefix(k, "existing") {
		return false
	}
	for _, w := range []string{"password", "token", "secret", "privatekey", "apikey", "accesskey", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Masked is shown instead of a secret value.
const Masked = "********"

// MaskValues returns a copy of chart values with every non-empty value under a
// sensitive-looking key replaced by Masked.
func MaskValues(v any) any {
	return maskValues(v, false, 0)
}

func maskValues(v any, secret bool, depth int) any {
	if depth > maxDepth {
		return Masked
	}
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = maskValues(e, secret || sensitiveKey(k), depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = maskValues(e, secret, depth+1)
		}
		return out
	default:
		if secret && !isZero(v) {
			return Masked
		}
		return v
	}
}
