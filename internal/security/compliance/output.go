package compliance

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Where tells where a finding is: file:line for IaC, the object otherwise.
func (f Finding) Where() string {
	if f.File != "" {
		if f.Line > 0 {
			return fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		return f.File
	}
	if f.Namespace != "" {
		return fmt.Sprintf("%s %s/%s", f.Kind, f.Namespace, f.Name)
	}
	return fmt.Sprintf("%s %s", f.Kind, f.Name)
}

// WriteTable prints findings for a terminal, worst first.
func WriteTable(w io.Writer, findings []Finding) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tSTATUS\tCONTROL\tWHERE\tFIELD\tMESSAGE")
	for _, f := range findings {
		st := f.Status
		if f.Exception != nil {
			st = "excepted"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(f.Severity), st, f.ControlID, f.Where(), f.Path, f.Message)
	}
	return tw.Flush()
}

// WriteJSON writes a report document.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// SARIF 2.1.0, the subset code-scanning services read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID     string           `json:"ruleId"`
	RuleIndex  int              `json:"ruleIndex"`
	Level      string           `json:"level"`
	Message    sarifText        `json:"message"`
	Locations  []sarifLocation  `json:"locations,omitempty"`
	Properties map[string]any   `json:"properties,omitempty"`
	Suppress   []map[string]any `json:"suppressions,omitempty"`
}

type sarifLocation struct {
	Physical *sarifPhysical `json:"physicalLocation,omitempty"`
	Logical  []sarifLogical `json:"logicalLocations,omitempty"`
}

type sarifPhysical struct {
	Artifact map[string]string `json:"artifactLocation"`
	Region   map[string]int    `json:"region,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLevel(sev string) string {
	switch sev {
	case Critical, High:
		return "error"
	case Medium:
		return "warning"
	}
	return "note"
}

// securitySeverity is the numeric score code-scanning UIs sort by.
func securitySeverity(sev string) string {
	return map[string]string{Critical: "9.5", High: "8.0", Medium: "5.5", Low: "3.0"}[sev]
}

// WriteSARIF writes findings as a SARIF 2.1.0 log.
func WriteSARIF(w io.Writer, e *Engine, findings []Finding, version string) error {
	var ids []string
	for _, f := range findings {
		if !slices.Contains(ids, f.ControlID) {
			ids = append(ids, f.ControlID)
		}
	}
	slices.Sort(ids)
	index := map[string]int{}
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "vigil", Version: version, InformationURI: "https://github.com/vigil"}}, Results: []sarifResult{}}
	for i, id := range ids {
		index[id] = i
		c, _ := e.Control(id)
		tags := []string{"security"}
		for _, fw := range Frameworks {
			for _, ref := range c.Refs(fw.ID) {
				tags = append(tags, fw.ID+":"+ref)
			}
		}
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: id, Name: c.Title, ShortDescription: sarifText{c.Title}, FullDescription: sarifText{c.Rationale},
			Help:                 sarifText{c.Remediation},
			DefaultConfiguration: map[string]any{"level": sarifLevel(c.Severity)},
			Properties:           map[string]any{"tags": tags, "security-severity": securitySeverity(c.Severity), "severity": c.Severity},
		})
	}
	for _, f := range findings {
		r := sarifResult{RuleID: f.ControlID, RuleIndex: index[f.ControlID], Level: sarifLevel(f.Severity), Message: sarifText{f.Message}}
		if f.Status == "unknown" {
			r.Level = "note"
			r.Properties = map[string]any{"status": "unknown"}
		}
		loc := sarifLocation{}
		if f.File != "" {
			loc.Physical = &sarifPhysical{Artifact: map[string]string{"uri": strings.TrimSuffix(strings.TrimSuffix(f.File, " (rendered)"), " (kustomize build)")}}
			if f.Line > 0 {
				loc.Physical.Region = map[string]int{"startLine": f.Line}
			}
		}
		name := f.Kind + "/" + f.Name
		if f.Namespace != "" {
			name = f.Namespace + "/" + name
		}
		if f.Path != "" {
			name += "." + f.Path
		}
		loc.Logical = []sarifLogical{{FullyQualifiedName: name, Kind: "resource"}}
		r.Locations = []sarifLocation{loc}
		if x := f.Exception; x != nil {
			r.Suppress = []map[string]any{{"kind": "external", "justification": fmt.Sprintf("%s (owner %s, until %s)", x.Reason, x.Owner, x.Expires.Format("2006-01-02"))}}
		}
		run.Results = append(run.Results, r)
	}
	return WriteJSON(w, sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
