package vuln

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"vigil/internal/security/osv"
	"vigil/internal/version"
)

// Formats lists the output formats of WriteReport.
var Formats = []string{"table", "json", "sarif", "cyclonedx", "spdx"}

// WriteReport writes r in one of Formats.
func WriteReport(w io.Writer, r *Report, format string) error {
	switch format {
	case "table":
		return WriteTable(w, r)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "sarif":
		return writeJSON(w, SARIF(r))
	case "cyclonedx":
		return writeJSON(w, CycloneDX(r))
	case "spdx":
		return writeJSON(w, SPDX(r))
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteTable prints a human summary: target, counts, findings, remediation steps.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Target:\t%s (%s)\n", r.Target, r.Kind)
	if r.Digest != "" {
		fmt.Fprintf(tw, "Digest:\t%s\n", r.Digest)
	}
	if r.OS != "" {
		fmt.Fprintf(tw, "OS:\t%s\n", r.OS)
	}
	byType := map[string]int{}
	for _, p := range r.Packages {
		byType[p.Type]++
	}
	types := make([]string, 0, len(byType))
	for t, n := range byType {
		types = append(types, fmt.Sprintf("%s %d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(tw, "Packages:\t%d (%s)\n", len(r.Packages), strings.Join(types, ", "))
	db := "empty"
	if !r.DB.Updated.IsZero() {
		db = fmt.Sprintf("%d records, updated %s (%s ago)", r.DB.Records, r.DB.Updated.Format("2006-01-02 15:04 MST"), roundAge(secondsDur(r.DB.AgeSeconds)))
		if r.DB.Stale {
			db += " STALE"
		}
	}
	fmt.Fprintf(tw, "Vulnerability DB:\t%s\n", db)
	fmt.Fprintf(tw, "Findings:\t%d (critical %d, high %d, medium %d, low %d, unknown %d)\n\n", len(r.Findings),
		r.Counts[osv.SevCritical], r.Counts[osv.SevHigh], r.Counts[osv.SevMedium], r.Counts[osv.SevLow], r.Counts[osv.SevUnknown])
	if len(r.Findings) > 0 {
		fmt.Fprintln(tw, "SEVERITY\tID\tPACKAGE\tINSTALLED\tFIXED\tLAYER\tSUMMARY")
		for _, f := range r.Findings {
			fixed := f.Fixed
			if fixed == "" {
				fixed = "-"
			}
			layer := "-"
			if f.Layer >= 0 {
				layer = fmt.Sprint(f.Layer)
				if f.BaseLayer {
					layer += " (base)"
				}
			}
			sev := strings.ToUpper(f.Severity)
			if f.Score > 0 {
				sev += fmt.Sprintf(" %.1f", f.Score)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", sev, f.ID, f.Package, f.Version, fixed, layer, clip(f.Summary, 70))
		}
		fmt.Fprintln(tw)
	}
	if len(r.Remediations) > 0 {
		fmt.Fprintln(tw, "Remediation:")
		for i, m := range r.Remediations {
			fmt.Fprintf(tw, "  %d. %s", i+1, m.Text)
			if m.Command != "" {
				fmt.Fprintf(tw, "\n     %s", m.Command)
			}
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(tw, "WARNING: %s\n", warn)
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n]) + "…"
	}
	return s
}

// SARIF renders findings as a SARIF 2.1.0 log (one rule per advisory), the
// format code-scanning dashboards import.
func SARIF(r *Report) map[string]any {
	var rules []map[string]any
	ruleIdx := map[string]int{}
	var results []map[string]any
	for _, f := range r.Findings {
		if _, ok := ruleIdx[f.ID]; !ok {
			ruleIdx[f.ID] = len(rules)
			rule := map[string]any{
				"id":               f.ID,
				"shortDescription": map[string]any{"text": nonEmpty(f.Summary, f.ID)},
				"helpUri":          f.URL,
				"properties":       map[string]any{"security-severity": fmt.Sprintf("%.1f", sarifScore(f)), "tags": []string{"security", "vulnerability", f.Severity}},
			}
			rules = append(rules, rule)
		}
		loc := strings.TrimPrefix(f.Path, "/")
		if loc == "" {
			loc = r.Target
		}
		results = append(results, map[string]any{
			"ruleId":    f.ID,
			"ruleIndex": ruleIdx[f.ID],
			"level":     sarifLevel(f.Severity),
			"message":   map[string]any{"text": fmt.Sprintf("%s %s is affected by %s (%s). %s", f.Package, f.Version, f.ID, f.Severity, f.Remediation)},
			"locations": []map[string]any{{
				"physicalLocation": map[string]any{"artifactLocation": map[string]any{"uri": loc}},
				"logicalLocations": []map[string]any{{"name": f.Package + "@" + f.Version, "kind": "package"}},
			}},
			"properties": map[string]any{"package": f.Package, "installedVersion": f.Version, "fixedVersion": f.Fixed, "layer": f.Layer, "purl": f.PURL},
		})
	}
	if rules == nil {
		rules = []map[string]any{}
	}
	if results == nil {
		results = []map[string]any{}
	}
	return map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []map[string]any{{
			"tool": map[string]any{"driver": map[string]any{
				"name": "vigil", "version": version.Version, "informationUri": "https://github.com/vigil", "rules": rules,
			}},
			"results":    results,
			"properties": map[string]any{"target": r.Target, "digest": r.Digest},
		}},
	}
}

func sarifLevel(sev string) string {
	switch sev {
	case osv.SevCritical, osv.SevHigh:
		return "error"
	case osv.SevMedium:
		return "warning"
	}
	return "note"
}

// sarifScore feeds GitHub-style "security-severity": the CVSS score, or a
// representative score for the level when the feed gave only a word.
func sarifScore(f Finding) float64 {
	if f.Score > 0 {
		return f.Score
	}
	return [...]float64{0, 2.0, 5.5, 8.0, 9.5}[osv.SeverityRank(f.Severity)]
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
