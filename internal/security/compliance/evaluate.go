package compliance

import (
	"context"
	"fmt"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// Object is one input to evaluate: a Kubernetes object, a node's settings or
// a Terraform block, already converted for the policy engine.
type Object struct {
	Target    string `json:"target"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// File and Line locate the object in a source file (IaC), Lines maps a
	// field path ("spec.containers[0].image") to its line there.
	File  string         `json:"file,omitempty"`
	Line  int            `json:"line,omitempty"`
	Lines map[string]int `json:"-"`

	input ast.Value
}

// NewObject converts input (JSON-like: maps, slices, strings, numbers,
// bools) once, so evaluation does not pay for it again.
func NewObject(target, kind, namespace, name string, input map[string]any) (Object, error) {
	input["target"] = target
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return Object{}, fmt.Errorf("convert %s %s/%s: %w", kind, namespace, name, err)
	}
	return Object{Target: target, Kind: kind, Namespace: namespace, Name: name, input: v}, nil
}

// Finding is one failed (or undecidable) check with its evidence.
type Finding struct {
	ControlID string `json:"control"`
	Title     string `json:"title"`
	Severity  string `json:"severity"`
	// Status is "fail", or "unknown" when the value depends on something
	// only known later (a Terraform variable).
	Status    string     `json:"status"`
	Message   string     `json:"message"`
	Kind      string     `json:"kind"`
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name"`
	Path      string     `json:"path,omitempty"`
	File      string     `json:"file,omitempty"`
	Line      int        `json:"line,omitempty"`
	Exception *Exception `json:"exception,omitempty"`
}

// Key identifies a finding across runs (for report diffs).
func (f Finding) Key() string {
	return strings.Join([]string{f.ControlID, f.Kind, f.Namespace, f.Name, f.File, f.Path, f.Message}, "\x00")
}

// Tally counts checks of one control or one object.
type Tally struct {
	Passed   int `json:"passed"`
	Failed   int `json:"failed"`
	Unknown  int `json:"unknown"`
	Excepted int `json:"excepted"`
}

// ObjectResult is the outcome for one object.
type ObjectResult struct {
	Target    string         `json:"target"`
	Kind      string         `json:"kind"`
	Namespace string         `json:"namespace,omitempty"`
	Name      string         `json:"name"`
	Passed    int            `json:"passed"`
	Failed    map[string]int `json:"failed"` // failed controls by severity
}

// Result is the outcome of one evaluation.
type Result struct {
	Time     time.Time         `json:"time"`
	Findings []Finding         `json:"findings"`
	Controls map[string]*Tally `json:"controls"` // by control id, only controls that applied
	Objects  []ObjectResult    `json:"objects"`
}

// Options narrow an evaluation.
type Options struct {
	// Selected control ids (from Select); nil means all.
	Selected   map[string]bool
	Exceptions []Exception
	Now        time.Time
	// Workers evaluating in parallel; 0 means GOMAXPROCS.
	Workers int
}

type rawFinding struct {
	pkg, status, msg, path string
}

// Evaluate checks every object against the controls that target it.
func (e *Engine) Evaluate(ctx context.Context, objs []Object, opt Options) (*Result, error) {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	raw := make([][]rawFinding, len(objs))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			txn, err := e.store.NewTransaction(ctx)
			if err != nil {
				errs[w] = fmt.Errorf("policy store: %w", err)
			} else {
				defer e.store.Abort(ctx, txn)
			}
			for i := range next {
				if errs[w] != nil {
					continue
				}
				raw[i], errs[w] = e.evalOne(ctx, objs[i], txn)
			}
		}()
	}
feed:
	for i := range objs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	res := &Result{Time: opt.Now, Controls: map[string]*Tally{}}
	for i, o := range objs {
		or := ObjectResult{Target: o.Target, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Failed: map[string]int{}}
		outcome := map[string]string{} // control id → worst status on this object
		skipped := map[string]bool{}
		for _, rf := range raw[i] {
			c := e.byPkg[rf.pkg]
			if c == nil || (opt.Selected != nil && !opt.Selected[c.ID]) {
				continue
			}
			if rf.status == "skip" {
				skipped[c.ID] = true
				continue
			}
			f := Finding{ControlID: c.ID, Title: c.Title, Severity: c.Severity, Status: rf.status, Message: rf.msg,
				Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Path: rf.path, File: o.File, Line: o.lineOf(rf.path)}
			for j := range opt.Exceptions {
				if opt.Exceptions[j].Matches(f, opt.Now) {
					x := opt.Exceptions[j]
					f.Exception = &x
					break
				}
			}
			res.Findings = append(res.Findings, f)
			st := rf.status
			if f.Exception != nil {
				st = "excepted"
			}
			if rank(st) > rank(outcome[c.ID]) {
				outcome[c.ID] = st
			}
		}
		for _, c := range e.controls {
			if opt.Selected != nil && !opt.Selected[c.ID] || !hasTarget(c, o.Target) || skipped[c.ID] && outcome[c.ID] == "" {
				continue
			}
			t := res.Controls[c.ID]
			if t == nil {
				t = &Tally{}
				res.Controls[c.ID] = t
			}
			switch outcome[c.ID] {
			case "fail":
				t.Failed++
				or.Failed[c.Severity]++
			case "unknown":
				t.Unknown++
			case "excepted":
				t.Excepted++
				or.Passed++
			default:
				t.Passed++
				or.Passed++
			}
		}
		res.Objects = append(res.Objects, or)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool {
		a, b := res.Findings[i], res.Findings[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.ControlID != b.ControlID {
			return a.ControlID < b.ControlID
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return res, nil
}

func rank(status string) int {
	switch status {
	case "fail":
		return 3
	case "unknown":
		return 2
	case "excepted":
		return 1
	}
	return 0
}

func hasTarget(c Control, t string) bool {
	for _, x := range c.Targets {
		if x == t {
			return true
		}
	}
	return false
}

func (e *Engine) evalOne(ctx context.Context, o Object, txn storage.Transaction) ([]rawFinding, error) {
	var out []rawFinding
	str := func(v ast.Value) string {
		if s, ok := v.(ast.String); ok {
			return string(s)
		}
		return ""
	}
	x := ast.Var("x")
	err := topdown.NewQuery(e.query).WithCompiler(e.compiler).WithStore(e.store).WithTransaction(txn).
		WithInput(ast.NewTerm(o.input)).WithTime(time.Now()).
		Iter(ctx, func(qr topdown.QueryResult) error {
			doc, ok := qr[x].Value.(ast.Object)
			if !ok {
				return nil
			}
			if set, ok := doc.Get(ast.StringTerm("findings")).Value.(ast.Set); ok {
				set.Foreach(func(t *ast.Term) {
					tup, ok := t.Value.(*ast.Array)
					if !ok || tup.Len() != 3 {
						return
					}
					f := rawFinding{pkg: str(tup.Elem(0).Value), status: str(tup.Elem(1).Value)}
					if d, ok := tup.Elem(2).Value.(ast.Object); ok {
						if m := d.Get(ast.StringTerm("msg")); m != nil {
							f.msg = str(m.Value)
						}
						if p := d.Get(ast.StringTerm("path")); p != nil {
							f.path = str(p.Value)
						}
					}
					out = append(out, f)
				})
			}
			if skip := doc.Get(ast.StringTerm("skip")); skip != nil {
				if set, ok := skip.Value.(ast.Set); ok {
					set.Foreach(func(t *ast.Term) {
						out = append(out, rawFinding{pkg: str(t.Value), status: "skip"})
					})
				}
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("evaluate %s %s/%s: %w", o.Kind, o.Namespace, o.Name, err)
	}
	return out, nil
}

// lineOf finds the line of path, or of its nearest ancestor that has one.
func (o Object) lineOf(p string) int {
	for p != "" {
		if l, ok := o.Lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return o.Line
}

// Exception accepts the risk of a finding for a while.
type Exception struct {
	ID      int64  `json:"id,omitempty"`
	Control string `json:"control"`
	// Namespace, Kind and Name select objects; empty matches any, and
	// shell globs (web-*) are allowed.
	Namespace string    `json:"namespace,omitempty"`
	Kind      string    `json:"kind,omitempty"`
	Name      string    `json:"name,omitempty"`
	Reason    string    `json:"reason"`
	Owner     string    `json:"owner"`
	Expires   time.Time `json:"expires"`
	Created   time.Time `json:"created,omitzero"`
}

// Validate checks that the exception names a control, says why and who, and expires.
func (x Exception) Validate(e *Engine, now time.Time) error {
	var problems []string
	if _, ok := e.byID[x.Control]; !ok {
		problems = append(problems, fmt.Sprintf("unknown control %q", x.Control))
	}
	if strings.TrimSpace(x.Reason) == "" {
		problems = append(problems, "reason is required")
	}
	if strings.TrimSpace(x.Owner) == "" {
		problems = append(problems, "owner is required")
	}
	if x.Expires.IsZero() {
		problems = append(problems, "expires is required")
	} else if !x.Expires.After(now) {
		problems = append(problems, "expires is in the past")
	}
	for _, g := range []string{x.Namespace, x.Kind, x.Name} {
		if _, err := path.Match(g, ""); err != nil {
			problems = append(problems, fmt.Sprintf("bad pattern %q", g))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("exception: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Matches tells whether x covers f at time now.
func (x Exception) Matches(f Finding, now time.Time) bool {
	if x.Control != f.ControlID || !now.Before(x.Expires) {
		return false
	}
	match := func(pat, s string) bool {
		if pat == "" || pat == "*" {
			return true
		}
		ok, _ := path.Match(pat, s)
		return ok
	}
	return match(x.Namespace, f.Namespace) && match(x.Kind, f.Kind) && match(x.Name, f.Name)
}

// FrameworkScore is the share of passed checks among a framework's controls.
type FrameworkScore struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	Score          float64        `json:"score"` // 0–100
	Passed         int            `json:"passed"`
	Failed         int            `json:"failed"`
	Controls       int            `json:"controls"`
	FailedControls int            `json:"failedControls"`
	BySeverity     map[string]int `json:"failedBySeverity"` // failed checks by severity
}

// Scores computes each framework's score over the controls that applied.
// Excepted checks count as passed; unknown ones count as neither.
func (e *Engine) Scores(r *Result) []FrameworkScore {
	var out []FrameworkScore
	for _, fw := range Frameworks {
		s := FrameworkScore{ID: fw.ID, Name: fw.Name, BySeverity: map[string]int{Low: 0, Medium: 0, High: 0, Critical: 0}}
		for id, t := range r.Controls {
			c := e.byID[id]
			if c == nil || !c.InFramework(fw.ID) {
				continue
			}
			s.Controls++
			s.Passed += t.Passed + t.Excepted
			s.Failed += t.Failed
			s.BySeverity[c.Severity] += t.Failed
			if t.Failed > 0 {
				s.FailedControls++
			}
		}
		if s.Controls == 0 {
			continue
		}
		if n := s.Passed + s.Failed; n > 0 {
			s.Score = float64(int(1000*float64(s.Passed)/float64(n))) / 10
		} else {
			s.Score = 100
		}
		out = append(out, s)
	}
	return out
}
