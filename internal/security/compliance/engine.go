// Package compliance evaluates Kubernetes objects, node settings and
// Terraform blocks against controls written in Rego. Each control carries
// its severity, rationale, remediation and its mapping to the CIS
// Kubernetes Benchmark v1.12, the CIS EKS Benchmark, the NSA-CISA
// Kubernetes Hardening Guide and the Pod Security Standards.
package compliance

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

//go:embed policies
var builtin embed.FS

// Severity levels, lowest first.
const (
	Low      = "low"
	Medium   = "medium"
	High     = "high"
	Critical = "critical"
)

// SeverityRank orders severities: low=1 … critical=4, 0 for anything else.
func SeverityRank(s string) int {
	switch s {
	case Low:
		return 1
	case Medium:
		return 2
	case High:
		return 3
	case Critical:
		return 4
	}
	return 0
}

// Targets: the kinds of input a control can apply to.
const (
	TargetWorkload       = "workload"
	TargetBinding        = "binding"
	TargetRole           = "role"
	TargetNamespace      = "namespace"
	TargetServiceAccount = "serviceaccount"
	TargetNode           = "node"
	TargetTerraform      = "terraform"
)

var knownTargets = []string{TargetWorkload, TargetBinding, TargetRole, TargetNamespace, TargetServiceAccount, TargetNode, TargetTerraform}

// Control is one check and what it means.
type Control struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    string   `json:"severity"`
	Rationale   string   `json:"rationale"`
	Remediation string   `json:"remediation"`
	Targets     []string `json:"targets"`
	CIS         []string `json:"cis,omitempty"`    // CIS Kubernetes Benchmark v1.12 ids
	CISEKS      []string `json:"ciseks,omitempty"` // CIS Amazon EKS Benchmark v1.8 ids
	NSA         []string `json:"nsa,omitempty"`    // NSA-CISA Kubernetes Hardening Guide sections
	PSS         string   `json:"pss,omitempty"`    // Pod Security Standards profile: baseline or restricted
	Custom      bool     `json:"custom,omitempty"`
	pkg         string
}

// Engine holds the compiled controls and one prepared query.
type Engine struct {
	controls []Control
	byID     map[string]*Control
	byPkg    map[string]*Control
	compiler *ast.Compiler
	query    ast.Body
	// store is empty (controls read only their input); each worker keeps
	// one read transaction on it instead of opening one per evaluation.
	store storage.Store
}

// Load compiles the built-in controls plus every *.rego file under
// customDir (when not empty). A custom control lives in a package under
// vigil.controls and defines metadata and deny (and optionally unknown) like
// the built-in ones; a broken or incomplete file is an error.
func Load(ctx context.Context, customDir string) (*Engine, error) {
	modules := map[string]string{}
	err := fs.WalkDir(builtin, "policies", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		b, err := builtin.ReadFile(p)
		if err != nil {
			return err
		}
		modules["builtin/"+p] = string(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read built-in controls: %w", err)
	}
	custom := map[string]bool{}
	if customDir != "" {
		n := 0
		err := filepath.WalkDir(customDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			modules[p] = string(b)
			custom[p] = true
			n++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read custom controls in %s: %w", customDir, err)
		}
		if n == 0 {
			return nil, fmt.Errorf("custom controls: no .rego files in %s", customDir)
		}
	}
	return compile(ctx, modules, custom)
}

func compile(ctx context.Context, modules map[string]string, custom map[string]bool) (*Engine, error) {
	e := &Engine{byID: map[string]*Control{}, byPkg: map[string]*Control{}}
	parsed := map[string]*ast.Module{}
	customPkgs := map[string]bool{}
	for name, src := range modules {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		pkg := m.Package.Path.String()
		if custom[name] {
			if !strings.HasPrefix(pkg, "data.vigil.controls.") {
				return nil, fmt.Errorf("%s: package %s: custom controls must be in a package under vigil.controls", name, strings.TrimPrefix(pkg, "data."))
			}
			customPkgs[strings.TrimPrefix(pkg, "data.vigil.controls.")] = true
		}
		parsed[name] = m
	}
	opts := []func(*rego.Rego){rego.SetRegoVersion(ast.RegoV1)}
	for _, m := range parsed {
		opts = append(opts, rego.ParsedModule(m))
	}
	meta, err := rego.New(append(opts, rego.Query("data.vigil.controls[pkg].metadata = m"))...).Eval(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile controls: %w", err)
	}
	for _, r := range meta {
		pkg, _ := r.Bindings["pkg"].(string)
		if !validPkg(pkg) {
			return nil, fmt.Errorf("control package vigil.controls.%s: use one plain name (letters, digits, _) below vigil.controls", pkg)
		}
		c, err := controlFromMeta(pkg, r.Bindings["m"])
		if err != nil {
			return nil, err
		}
		c.Custom = customPkgs[pkg]
		if prev, dup := e.byID[c.ID]; dup {
			return nil, fmt.Errorf("control %s is defined twice (vigil.controls.%s and vigil.controls.%s)", c.ID, prev.pkg, pkg)
		}
		e.controls = append(e.controls, c)
		e.byID[c.ID] = &e.controls[len(e.controls)-1]
	}
	for p := range customPkgs {
		found := false
		for _, c := range e.controls {
			found = found || c.pkg == p
		}
		if !found {
			return nil, fmt.Errorf("custom control vigil.controls.%s has no metadata", p)
		}
	}
	sort.Slice(e.controls, func(i, j int) bool { return e.controls[i].ID < e.controls[j].ID })
	for i := range e.controls {
		e.byID[e.controls[i].ID] = &e.controls[i]
		e.byPkg[e.controls[i].pkg] = &e.controls[i]
	}
	defined := map[string]bool{} // "pkg.rule" of every rule the modules define
	for _, m := range parsed {
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.vigil.controls.")
		for _, r := range m.Rules {
			defined[pkg+"."+r.Head.Name.String()] = true
			if len(r.Head.Reference) > 0 {
				defined[pkg+"."+r.Head.Reference[0].String()] = true
			}
		}
	}
	evalMod, err := ast.ParseModuleWithOpts("generated/eval.rego", evalModule(e.controls, defined), ast.ParserOptions{RegoVersion: ast.RegoV1})
	if err != nil {
		return nil, fmt.Errorf("generate the evaluation module: %w", err)
	}
	// Evaluation goes straight to the policy engine's evaluator with a
	// compiled query: the rego package's per-call set-up and its conversion
	// of every result to Go values cost more than the controls themselves.
	all := map[string]*ast.Module{"generated/eval.rego": evalMod}
	for name, m := range parsed {
		all[name] = m
	}
	e.compiler = ast.NewCompiler().WithDefaultRegoVersion(ast.RegoV1)
	if e.compiler.Compile(all); e.compiler.Failed() {
		return nil, fmt.Errorf("compile controls: %w", e.compiler.Errors)
	}
	body, err := e.compiler.QueryCompiler().Compile(ast.MustParseBody("x = data.vigil.eval"))
	if err != nil {
		return nil, fmt.Errorf("compile the evaluation query: %w", err)
	}
	e.query = body
	e.store = inmem.New()
	return e, nil
}

func validPkg(p string) bool {
	if p == "" {
		return false
	}
	for i, r := range p {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// evalModule writes the one query the engine prepares: each control's
// deny/unknown/applies referenced statically and guarded by its targets, so
// the policy engine's rule index picks only the controls for an input
// instead of walking every package.
func evalModule(controls []Control, defined map[string]bool) string {
	var b strings.Builder
	b.WriteString("package vigil.eval\n\n")
	for _, c := range controls {
		for _, t := range c.Targets {
			if defined[c.pkg+".deny"] {
				fmt.Fprintf(&b, `findings contains [%[1]q, "fail", d] if {
	input.target == %[2]q
	some d in data.vigil.controls.%[1]s.deny
}

`, c.pkg, t)
			}
			if defined[c.pkg+".unknown"] {
				fmt.Fprintf(&b, `findings contains [%[1]q, "unknown", d] if {
	input.target == %[2]q
	some d in data.vigil.controls.%[1]s.unknown
}

`, c.pkg, t)
			}
			if defined[c.pkg+".applies"] {
				fmt.Fprintf(&b, `skip contains %[1]q if {
	input.target == %[2]q
	data.vigil.controls.%[1]s.applies == false
}

`, c.pkg, t)
			}
		}
	}
	return b.String()
}

// Controls lists all controls, sorted by id.
func (e *Engine) Controls() []Control { return slices.Clone(e.controls) }

// Control returns the control with this id.
func (e *Engine) Control(id string) (Control, bool) {
	c, ok := e.byID[id]
	if !ok {
		return Control{}, false
	}
	return *c, true
}

// Frameworks vigil maps its controls to.
var Frameworks = []Framework{
	{ID: "cis-k8s", Name: "CIS Kubernetes Benchmark v1.12"},
	{ID: "cis-eks", Name: "CIS Amazon EKS Benchmark v1.8"},
	{ID: "nsa-cisa", Name: "NSA-CISA Kubernetes Hardening Guide"},
	{ID: "pss-baseline", Name: "Pod Security Standards: baseline"},
	{ID: "pss-restricted", Name: "Pod Security Standards: restricted"},
}

// Framework is a standard the controls map to.
type Framework struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// InFramework tells whether c belongs to framework fw (restricted includes baseline).
func (c Control) InFramework(fw string) bool {
	switch fw {
	case "cis-k8s":
		return len(c.CIS) > 0
	case "cis-eks":
		return len(c.CISEKS) > 0
	case "nsa-cisa":
		return len(c.NSA) > 0
	case "pss-baseline":
		return c.PSS == "baseline"
	case "pss-restricted":
		return c.PSS == "baseline" || c.PSS == "restricted"
	}
	return false
}

// Refs returns the framework's references of c ("5.2.2", a guide section, "baseline").
func (c Control) Refs(fw string) []string {
	switch fw {
	case "cis-k8s":
		return c.CIS
	case "cis-eks":
		return c.CISEKS
	case "nsa-cisa":
		return c.NSA
	case "pss-baseline", "pss-restricted":
		if c.InFramework(fw) {
			return []string{c.PSS}
		}
	}
	return nil
}

// Select returns the ids of the controls that are in any of frameworks (all
// when empty) and among ids (all when empty). Unknown names are an error,
// never an empty selection that passes.
func (e *Engine) Select(frameworks, ids []string) (map[string]bool, error) {
	var bad []string
	for _, fw := range frameworks {
		if !slices.ContainsFunc(Frameworks, func(f Framework) bool { return f.ID == fw }) {
			bad = append(bad, fmt.Sprintf("unknown framework %q", fw))
		}
	}
	for _, id := range ids {
		if _, ok := e.byID[id]; !ok {
			msg := fmt.Sprintf("unknown control %q", id)
			if near := e.nearest(id); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			bad = append(bad, msg)
		}
	}
	if len(bad) > 0 {
		names := make([]string, len(Frameworks))
		for i, f := range Frameworks {
			names[i] = f.ID
		}
		return nil, fmt.Errorf("%s; frameworks are %s; `vigil scan k8s --list-controls` lists the controls",
			strings.Join(bad, "; "), strings.Join(names, ", "))
	}
	sel := map[string]bool{}
	for _, c := range e.controls {
		if len(ids) > 0 && !slices.Contains(ids, c.ID) {
			continue
		}
		if len(frameworks) > 0 && !slices.ContainsFunc(frameworks, c.InFramework) {
			continue
		}
		sel[c.ID] = true
	}
	if len(sel) == 0 {
		return nil, errors.New("the selected controls and frameworks have no control in common")
	}
	return sel, nil
}

func (e *Engine) nearest(id string) string {
	best, bestD := "", 3
	for _, c := range e.controls {
		if d := editDistance(strings.ToUpper(id), c.ID); d < bestD {
			best, bestD = c.ID, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func controlFromMeta(pkg string, v any) (Control, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Control{}, fmt.Errorf("vigil.controls.%s: metadata must be an object", pkg)
	}
	str := func(k string) string { s, _ := m[k].(string); return s }
	list := func(k string) ([]string, error) {
		raw, ok := m[k]
		if !ok || raw == nil {
			return nil, nil
		}
		arr, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("vigil.controls.%s: metadata.%s must be a list of strings", pkg, k)
		}
		var out []string
		for _, x := range arr {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("vigil.controls.%s: metadata.%s must be a list of strings", pkg, k)
			}
			out = append(out, s)
		}
		return out, nil
	}
	c := Control{ID: str("id"), Title: str("title"), Severity: str("severity"), Rationale: str("rationale"),
		Remediation: str("remediation"), PSS: str("pss"), pkg: pkg}
	var err error
	if c.Targets, err = list("targets"); err != nil {
		return c, err
	}
	if c.CIS, err = list("cis"); err != nil {
		return c, err
	}
	if c.CISEKS, err = list("ciseks"); err != nil {
		return c, err
	}
	if c.NSA, err = list("nsa"); err != nil {
		return c, err
	}
	var problems []string
	if c.ID == "" || c.Title == "" {
		problems = append(problems, "id and title are required")
	}
	if SeverityRank(c.Severity) == 0 {
		problems = append(problems, fmt.Sprintf("severity %q is not low, medium, high or critical", c.Severity))
	}
	if len(c.Targets) == 0 {
		problems = append(problems, "targets is empty")
	}
	for _, t := range c.Targets {
		if !slices.Contains(knownTargets, t) {
			problems = append(problems, fmt.Sprintf("unknown target %q (known: %s)", t, strings.Join(knownTargets, ", ")))
		}
	}
	if c.PSS != "" && c.PSS != "baseline" && c.PSS != "restricted" {
		problems = append(problems, fmt.Sprintf("pss %q is not baseline or restricted", c.PSS))
	}
	if len(problems) > 0 {
		return c, fmt.Errorf("vigil.controls.%s: %s", pkg, strings.Join(problems, "; "))
	}
	return c, nil
}
