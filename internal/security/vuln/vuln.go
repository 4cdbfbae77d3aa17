// Package vuln matches a software inventory against the offline OSV
// database and explains each finding: severity, the fixed version, the layer
// the package came from, and the command that fixes it.
package vuln

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/osv-scalibr/semantic"

	"vigil/internal/security/inventory"
	"vigil/internal/security/osv"
	"vigil/internal/security/vulndb"
)

// Finding is one vulnerability in one package.
type Finding struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases,omitempty"`
	Summary  string   `json:"summary,omitempty"`
	Severity string   `json:"severity"`
	Score    float64  `json:"score,omitempty"`
	Vector   string   `json:"vector,omitempty"`
	// SeverityFrom names the alias (e.g. a GHSA record) the severity was
	// taken from when the advisory itself carries none.
	SeverityFrom string `json:"severityFrom,omitempty"`
	Package      string `json:"package"`
	Version      string `json:"version"`
	Ecosystem    string `json:"ecosystem"`
	Type         string `json:"type"`
	// Source is the source package of an OS package (what the advisory names).
	Source string `json:"source,omitempty"`
	PURL   string `json:"purl,omitempty"`
	Path   string `json:"path"`
	Layer  int    `json:"layer"`
	// BaseLayer is set when the package came with the base image.
	BaseLayer   bool   `json:"baseLayer,omitempty"`
	Fixed       string `json:"fixed,omitempty"`
	Remediation string `json:"remediation"`
	URL         string `json:"url,omitempty"`

	unrated int // osv.UnratedRank, orders findings without a severity
}

// Remediation is the step for one package that clears all its findings.
type Remediation struct {
	// Package is the package, or for OS packages the source package whose
	// binary packages (Packages) are upgraded together.
	Package   string   `json:"package"`
	Packages  []string `json:"packages,omitempty"`
	Type      string   `json:"type"`
	Path      string   `json:"path"`
	From      string   `json:"from"`
	To        string   `json:"to,omitempty"` // "" when no fix is known for some finding
	Layer     int      `json:"layer"`
	BaseLayer bool     `json:"baseLayer,omitempty"`
	Findings  int      `json:"findings"`
	Severity  string   `json:"severity"` // the highest
	Command   string   `json:"command,omitempty"`
	Text      string   `json:"text"`
}

// DBInfo is what the report says about the data it was matched against.
type DBInfo struct {
	Updated    time.Time `json:"updated,omitzero"`
	AgeSeconds int64     `json:"ageSeconds"`
	Stale      bool      `json:"stale"`
	Records    int       `json:"records"`
	Ecosystems []string  `json:"ecosystems"`
}

// Report is the result of scanning one target.
type Report struct {
	Target       string              `json:"target"`
	Kind         string              `json:"kind"` // tarball, oci-layout, registry, directory
	Digest       string              `json:"digest,omitempty"`
	OS           string              `json:"os,omitempty"`
	ScannedAt    time.Time           `json:"scannedAt"`
	DurationMS   int64               `json:"durationMs"`
	DB           DBInfo              `json:"db"`
	Layers       []inventory.Layer   `json:"layers,omitempty"`
	Packages     []inventory.Package `json:"packages"`
	Findings     []Finding           `json:"findings"`
	Remediations []Remediation       `json:"remediations"`
	Counts       map[string]int      `json:"counts"`
	// Warnings name what the scan could not check, e.g. an ecosystem without
	// data: its packages are unchecked, never reported clean.
	Warnings []string `json:"warnings,omitempty"`
}

// Build matches inv against db and assembles the report.
func Build(inv *inventory.Inventory, db *vulndb.DB, now time.Time) *Report {
	r := &Report{
		OS: inv.OS, ScannedAt: now.UTC(), Layers: inv.Layers, Packages: inv.Packages,
		DB: DBInfo{
			Updated: db.Meta.Updated, AgeSeconds: int64(db.Meta.Age(now).Seconds()), Stale: db.Meta.Stale(now),
			Records: db.Records(),
		},
	}
	for e := range db.Meta.Ecosystems {
		r.DB.Ecosystems = append(r.DB.Ecosystems, e)
	}
	slices.Sort(r.DB.Ecosystems)
	r.Findings, r.Warnings = Match(inv, db)
	if r.DB.Stale {
		if r.DB.Updated.IsZero() {
			r.Warnings = append(r.Warnings, "the vulnerability database is empty: run `vigil vulndb update` or `vigil vulndb import`")
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("the vulnerability database is %s old (stale after %s): run `vigil vulndb update`", roundAge(now.Sub(r.DB.Updated)), roundAge(vulndb.StaleAfter)))
		}
	}
	r.Remediations = Remediations(r.Findings, inv)
	r.Counts = Count(r.Findings)
	if r.Packages == nil {
		r.Packages = []inventory.Package{}
	}
	return r
}

func roundAge(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	return d.Round(time.Minute).String()
}

// Count tallies findings by severity (every level present, zero or not).
func Count(fs []Finding) map[string]int {
	c := map[string]int{osv.SevCritical: 0, osv.SevHigh: 0, osv.SevMedium: 0, osv.SevLow: 0, osv.SevUnknown: 0}
	for _, f := range fs {
		c[f.Severity]++
	}
	return c
}

// lookupName is the name advisories use for a package: distributions publish
// advisories per source package; Go's database calls the standard library "stdlib".
func lookupNames(p inventory.Package) []string {
	switch p.Type {
	case "deb", "apk":
		if p.SourceName != "" && p.SourceName != p.Name {
			return []string{p.SourceName, p.Name}
		}
	case "golang":
		if p.Name == "go" {
			return []string{"stdlib"}
		}
	}
	return []string{p.Name}
}

// matchVersion is the version advisories compare against.
func matchVersion(p inventory.Package) string {
	if p.Type == "deb" && p.SourceVersion != "" {
		return p.SourceVersion
	}
	return p.Version
}

// Match finds the vulnerabilities of every package. Each ecosystem is matched
// on its own: an ecosystem without data yields a warning and never hides
// the findings of the others.
func Match(inv *inventory.Inventory, db *vulndb.DB) ([]Finding, []string) {
	var out []Finding
	missing := map[string]int{}
	layerBase := map[int]bool{}
	for _, l := range inv.Layers {
		layerBase[l.Index] = l.Base
	}
	for _, p := range inv.Packages {
		if p.Ecosystem == "" || p.Version == "" || p.Version == "(devel)" {
			continue
		}
		if !db.HasEcosystem(p.Ecosystem) {
			missing[osv.BaseEcosystem(p.Ecosystem)]++
			continue
		}
		ver := matchVersion(p)
		seen := map[string]bool{}
		for _, name := range lookupNames(p) {
			for _, e := range db.Lookup(p.Ecosystem, name) {
				if seen[e.Record.ID] || !osv.EcosystemMatches(e.Affected.Package.Ecosystem, p.Ecosystem) {
					continue
				}
				m, err := e.Affected.Check(p.Ecosystem, ver)
				if err != nil || !m.Affected {
					continue
				}
				seen[e.Record.ID] = true
				rate := db.Rate(e)
				f := Finding{
					ID: e.Record.ID, Aliases: e.Record.Aliases, Summary: summary(e.Record),
					Severity: rate.Severity, Score: rate.Score, Vector: rate.Vector, SeverityFrom: rate.From,
					Package: p.Name, Version: p.Version, Ecosystem: p.Ecosystem, Type: p.Type, PURL: p.PURL, Source: p.SourceName,
					Path: p.Path, Layer: p.Layer, BaseLayer: layerBase[p.Layer] && p.Layer >= 0, Fixed: m.Fixed,
					URL: advisoryURL(e.Record),
				}
				if !rate.Rated() {
					f.unrated = e.Record.UnratedRank(e.Affected)
				}
				f.Remediation = remediationText(f, inv)
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if c := worseFirst(a.Severity, a.Score, b.Severity, b.Score); c != 0 {
			return c
		}
		// Unrated: reviewed and precise advisories first, then those with a fix.
		if c := b.unrated - a.unrated; c != 0 {
			return c
		}
		if af, bf := a.Fixed != "", b.Fixed != ""; af != bf {
			if af {
				return -1
			}
			return 1
		}
		if c := strings.Compare(a.Package, b.Package); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var warns []string
	ecos := make([]string, 0, len(missing))
	for e := range missing {
		ecos = append(ecos, e)
	}
	slices.Sort(ecos)
	for _, e := range ecos {
		warns = append(warns, fmt.Sprintf("no vulnerability data for ecosystem %s: %d packages were not checked (import or update its archive)", e, missing[e]))
	}
	if out == nil {
		out = []Finding{}
	}
	return out, warns
}

func summary(r *osv.Record) string {
	if r.Summary != "" {
		return r.Summary
	}
	d := r.Details
	if i := strings.IndexAny(d, "\n"); i > 0 {
		d = d[:i]
	}
	if len(d) > 200 {
		d = d[:200] + "…"
	}
	return d
}

func advisoryURL(r *osv.Record) string {
	for _, ref := range r.References {
		if ref.Type == "ADVISORY" {
			return ref.URL
		}
	}
	if strings.HasPrefix(r.ID, "GO-") {
		return "https://pkg.go.dev/vuln/" + r.ID
	}
	return "https://osv.dev/vulnerability/" + r.ID
}

func layerPhrase(f Finding, inv *inventory.Inventory) string {
	if f.Layer < 0 {
		return ""
	}
	cmd := ""
	for _, l := range inv.Layers {
		if l.Index == f.Layer {
			cmd = l.Command
		}
	}
	s := fmt.Sprintf(" in layer %d", f.Layer)
	if cmd != "" {
		s += fmt.Sprintf(" (%s)", shorten(cmd, 80))
	}
	return s
}

func shorten(s string, n int) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "/bin/sh -c"))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// fixCommand is the package manager command that installs the fix.
func fixCommand(typ, name, path, fixed string) string {
	switch typ {
	case "deb":
		return "apt-get update && apt-get install --only-upgrade " + name
	case "apk":
		return "apk upgrade " + name
	case "rpm":
		return "dnf upgrade " + name
	case "golang":
		if name == "go" {
			return fmt.Sprintf("rebuild %s with Go %s or later", path, fixed)
		}
		if fixed == "" {
			return ""
		}
		return fmt.Sprintf("go get %s@v%s && go mod tidy, then rebuild %s", name, strings.TrimPrefix(fixed, "v"), path)
	case "npm":
		return fmt.Sprintf("npm install %s@%s", name, fixed)
	case "pypi":
		return fmt.Sprintf("pip install '%s>=%s'", name, fixed)
	case "maven":
		return fmt.Sprintf("set %s to %s in pom.xml or build.gradle", name, fixed)
	}
	return ""
}

func remediationText(f Finding, inv *inventory.Inventory) string {
	where := layerPhrase(f, inv)
	name := f.Package
	if f.Type == "golang" && name == "go" {
		name = "the Go standard library"
	}
	if f.Fixed == "" {
		return fmt.Sprintf("No fixed version of %s is known yet (%s %s%s). Track %s; until then reduce exposure (remove the package if unused, restrict network access).", name, f.Package, f.Version, where, f.ID)
	}
	cmd := fixCommand(f.Type, f.Package, f.Path, f.Fixed)
	s := fmt.Sprintf("Upgrade %s from %s to %s%s", name, f.Version, f.Fixed, where)
	if cmd != "" {
		s += ": `" + cmd + "`"
	}
	s += "."
	if f.BaseLayer {
		s += " The package comes from the base image: rebuild on a newer tag of the base image that ships the fix, rather than patching on top of it."
	}
	return s
}

// Remediations groups findings per package into one step that clears them
// all: upgrade to the highest of the fixed versions.
func Remediations(fs []Finding, inv *inventory.Inventory) []Remediation {
	type key struct{ typ, name, ver, path string }
	idx := map[key]int{}
	var out []Remediation
	noFix := map[key]bool{}
	ids := map[key]map[string]bool{}
	for _, f := range fs {
		name := f.Package
		if (f.Type == "deb" || f.Type == "apk") && f.Source != "" {
			name = f.Source
		}
		k := key{f.Type, name, f.Version, f.Path}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			ids[k] = map[string]bool{}
			out = append(out, Remediation{Package: name, Type: f.Type, Path: f.Path, From: f.Version, Layer: f.Layer, BaseLayer: f.BaseLayer, Severity: f.Severity})
		}
		r := &out[i]
		if !slices.Contains(r.Packages, f.Package) {
			r.Packages = append(r.Packages, f.Package)
		}
		if !ids[k][f.ID] {
			ids[k][f.ID] = true
			r.Findings++
		}
		if osv.SeverityRank(f.Severity) > osv.SeverityRank(r.Severity) {
			r.Severity = f.Severity
		}
		if f.Fixed == "" {
			noFix[k] = true
			continue
		}
		if r.To == "" || higher(f.Ecosystem, f.Fixed, r.To) {
			r.To = f.Fixed
		}
	}
	for k, i := range idx {
		r := &out[i]
		name := r.Package
		if r.Type == "golang" && name == "go" {
			name = "the Go standard library"
		}
		slices.Sort(r.Packages)
		if len(r.Packages) > 1 || (len(r.Packages) == 1 && r.Packages[0] != r.Package) {
			name = fmt.Sprintf("%s (%s)", r.Package, strings.Join(r.Packages, ", "))
		}
		f := Finding{Type: r.Type, Package: r.Package, Path: r.Path, Layer: r.Layer, Version: r.From, Fixed: r.To, BaseLayer: r.BaseLayer}
		where := layerPhrase(f, inv)
		switch {
		case r.To == "":
			r.Text = fmt.Sprintf("%s %s%s: no fixed version is known for its %s yet.", name, r.From, where, plural(r.Findings, "finding"))
		default:
			r.Command = fixCommand(r.Type, strings.Join(r.Packages, " "), r.Path, r.To)
			r.Text = fmt.Sprintf("Upgrade %s from %s to %s%s to fix %s", name, r.From, r.To, where, plural(r.Findings, "finding"))
			if noFix[k] {
				r.Text += " (some have no fix yet)"
			}
			r.Text += "."
			if r.BaseLayer {
				r.Text += " It comes from the base image: move to a newer base image tag."
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Remediation) int {
		if c := osv.SeverityRank(b.Severity) - osv.SeverityRank(a.Severity); c != 0 {
			return c
		}
		return b.Findings - a.Findings
	})
	if out == nil {
		out = []Remediation{}
	}
	return out
}

func higher(eco, a, b string) bool {
	va, err := semantic.Parse(a, eco)
	if err != nil {
		return false
	}
	c, err := va.CompareStr(b)
	return err == nil && c > 0
}

// Threshold reports whether any finding is at or above the named severity.
func (r *Report) Threshold(sev string) (int, error) {
	rank := osv.SeverityRank(sev)
	if rank == 0 {
		return 0, fmt.Errorf("unknown severity %q (want low, medium, high or critical)", sev)
	}
	n := 0
	for _, f := range r.Findings {
		if osv.SeverityRank(f.Severity) >= rank {
			n++
		}
	}
	return n, nil
}

func secondsDur(s int64) time.Duration { return time.Duration(s) * time.Second }

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// worseFirst orders by severity, then score, the worst first.
func worseFirst(sevA string, scoreA float64, sevB string, scoreB float64) int {
	if c := osv.SeverityRank(sevB) - osv.SeverityRank(sevA); c != 0 {
		return c
	}
	return cmp.Compare(scoreB, scoreA)
}
