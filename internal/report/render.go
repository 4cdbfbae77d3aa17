// Package report builds security reports — compliance, the vulnerabilities
// of the running images, or both — as HTML for people and CSV and JSON for
// tools, diffs each section against the previous report, keeps them in
// vigil's database and mails them on a daily or weekly schedule.
package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"vigil/internal/security/compliance"
	"vigil/internal/security/osv"
	"vigil/internal/security/vuln"
)

// Content is what one report says. The compliance fields are empty in a
// vulnerabilities report; reports stored before vulnerability sections
// existed have no kind and are compliance reports.
type Content struct {
	Kind       string                      `json:"kind,omitempty"` // compliance, vulnerabilities or both
	Title      string                      `json:"title"`
	Time       time.Time                   `json:"time"`
	Previous   *time.Time                  `json:"previous,omitempty"` // the report diffed against
	Scores     []compliance.FrameworkScore `json:"scores"`
	Failed     map[string]int              `json:"failedBySeverity"`
	Objects    int                         `json:"objects"`
	New        []compliance.Finding        `json:"new"`
	Fixed      []compliance.Finding        `json:"fixed"`
	Findings   []compliance.Finding        `json:"findings"` // failed, not excepted
	Excepted   int                         `json:"excepted"`
	URL        string                      `json:"url,omitempty"`
	TopControl []ControlCount              `json:"topControls"`
	Vulns      *VulnSection                `json:"vulnerabilities,omitempty"`
}

// VulnSection is the vulnerability part of a report: the findings of the
// images running when it was made, and the change since the previous report
// with this section.
type VulnSection struct {
	vuln.ClusterSummary
	DB       vuln.DBInfo           `json:"db"`
	Previous *time.Time            `json:"previous,omitempty"`
	Findings []vuln.ClusterFinding `json:"findings"`
	New      []vuln.ClusterFinding `json:"new"`
	Fixed    []vuln.ClusterFinding `json:"fixed"`
	// Unverified counts earlier findings not seen now whose images have no
	// new result yet: neither listed as fixed nor as still present.
	Unverified int                 `json:"unverified"`
	NotScanned []vuln.ClusterImage `json:"notScanned"`
	Warnings   []string            `json:"warnings,omitempty"`
	URL        string              `json:"url,omitempty"`
}

// ControlCount is how many checks of a control failed.
type ControlCount struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	Severity string `json:"severity"`
	Failed   int    `json:"failed"`
}

// htmlRows caps the findings listed in the HTML; the attachments hold all.
const htmlRows = 200

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"color": func(sev string) string {
		return map[string]string{"critical": "#8e1b1b", "high": "#d64545", "medium": "#e08a1e", "low": "#5a7fa8", "unknown": "#6b7280"}[sev]
	},
	"sev": func(sev string) string {
		if sev == osv.SevUnknown {
			return "unrated"
		}
		return sev
	},
	"compliance": hasCompliance,
	"vcap": func(fs []vuln.ClusterFinding) []vuln.ClusterFinding {
		if len(fs) > htmlRows {
			return fs[:htmlRows]
		}
		return fs
	},
	"vmore": func(fs []vuln.ClusterFinding) int { return max(0, len(fs)-htmlRows) },
	"join":  func(ss []string) string { return strings.Join(ss, ", ") },
	"scoreColor": func(s float64) string {
		switch {
		case s >= 90:
			return "#2f8f46"
		case s >= 70:
			return "#e08a1e"
		}
		return "#d64545"
	},
	"cap": func(fs []compliance.Finding) []compliance.Finding {
		if len(fs) > htmlRows {
			return fs[:htmlRows]
		}
		return fs
	},
	"more": func(fs []compliance.Finding) int { return max(0, len(fs)-htmlRows) },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body style="font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1d2433;max-width:960px;margin:0 auto;padding:16px">
<h1 style="font-size:22px;margin:0 0 4px">{{.Title}}</h1>
{{if compliance .Kind}}{{if .Vulns}}<h2 style="font-size:19px;margin:16px 0 4px">Compliance</h2>
{{end}}<p style="color:#5b6478;margin:0 0 16px">{{date .Time}} · {{.Objects}} objects checked{{if .Previous}} · compared with the report of {{date .Previous}}{{end}}{{if .URL}} · <a href="{{.URL}}">open in vigil</a>{{end}}</p>
<table style="border-collapse:collapse;margin-bottom:16px" cellpadding="6">
<tr style="background:#f0f2f6"><th align="left">Framework</th><th align="right">Score</th><th align="right">Passed</th><th align="right">Failed</th><th align="right">Critical</th><th align="right">High</th><th align="right">Medium</th><th align="right">Low</th></tr>
{{range .Scores}}<tr><td>{{.Name}}</td><td align="right" style="font-weight:bold;color:{{scoreColor .Score}}">{{printf "%.1f" .Score}}%</td><td align="right">{{.Passed}}</td><td align="right">{{.Failed}}</td><td align="right">{{index .BySeverity "critical"}}</td><td align="right">{{index .BySeverity "high"}}</td><td align="right">{{index .BySeverity "medium"}}</td><td align="right">{{index .BySeverity "low"}}</td></tr>
{{end}}</table>
<p><b>Failed checks:</b> {{index .Failed "critical"}} critical, {{index .Failed "high"}} high, {{index .Failed "medium"}} medium, {{index .Failed "low"}} low{{if .Excepted}} · {{.Excepted}} accepted by exceptions{{end}}</p>
<h2 style="font-size:17px">New since the previous report ({{len .New}})</h2>
{{if .New}}<ul>{{range cap .New}}<li><span style="color:{{color .Severity}};font-weight:bold">{{.Severity}}</span> {{.ControlID}} · {{.Kind}} {{if .Namespace}}{{.Namespace}}/{{end}}{{.Name}}: {{.Message}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h2 style="font-size:17px">Fixed since the previous report ({{len .Fixed}})</h2>
{{if .Fixed}}<ul>{{range cap .Fixed}}<li>{{.ControlID}} · {{.Kind}} {{if .Namespace}}{{.Namespace}}/{{end}}{{.Name}}: {{.Message}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
<h2 style="font-size:17px">Most failed controls</h2>
<table style="border-collapse:collapse" cellpadding="5">{{range .TopControl}}<tr><td style="color:{{color .Severity}};font-weight:bold">{{.Severity}}</td><td>{{.ID}}</td><td>{{.Title}}</td><td align="right">{{.Failed}}</td></tr>{{end}}</table>
<h2 style="font-size:17px">Failed checks ({{len .Findings}})</h2>
<table style="border-collapse:collapse;font-size:13px" cellpadding="4">
<tr style="background:#f0f2f6"><th align="left">Severity</th><th align="left">Control</th><th align="left">Object</th><th align="left">Field</th><th align="left">Finding</th></tr>
{{range cap .Findings}}<tr style="border-top:1px solid #e3e6ec"><td style="color:{{color .Severity}};font-weight:bold">{{.Severity}}</td><td>{{.ControlID}}</td><td>{{.Kind}} {{if .Namespace}}{{.Namespace}}/{{end}}{{.Name}}</td><td><code>{{.Path}}</code></td><td>{{.Message}}</td></tr>
{{end}}</table>
{{with more .Findings}}<p>… and {{.}} more in the attached CSV and JSON.</p>{{end}}
{{end}}{{with .Vulns}}<h2 style="font-size:19px;margin:16px 0 4px">Vulnerabilities</h2>
<p style="color:#5b6478;margin:0 0 16px">{{date $.Time}} · {{.Images}} running images in {{.Containers}} containers, {{.Scanned}} scanned{{if .DB.Records}} · database of {{.DB.Records}} advisories{{if not .DB.Updated.IsZero}} updated {{date .DB.Updated}}{{end}}{{end}}{{if .Previous}} · compared with the report of {{date .Previous}}{{end}}{{if .URL}} · <a href="{{.URL}}">open in vigil</a>{{end}}</p>
{{range .Warnings}}<p style="color:#8e1b1b">{{.}}</p>
{{end}}<p><b>Vulnerabilities:</b> {{index .Counts "critical"}} critical, {{index .Counts "high"}} high, {{index .Counts "medium"}} medium, {{index .Counts "low"}} low, {{index .Counts "unknown"}} unrated · {{.Fixable}} with a fixed version</p>
<h2 style="font-size:17px">New vulnerabilities since the previous report ({{len .New}})</h2>
{{if .New}}<ul>{{range vcap .New}}<li><span style="color:{{color .Severity}};font-weight:bold">{{sev .Severity}}</span> {{.ID}} · {{.Image}}: {{.Package}} {{.Version}}{{if .Fixed}} (fixed in {{.Fixed}}){{end}}</li>{{end}}</ul>{{with vmore .New}}<p>… and {{.}} more in the attachments.</p>{{end}}{{else}}<p>None.</p>{{end}}
<h2 style="font-size:17px">Vulnerabilities fixed since the previous report ({{len .Fixed}})</h2>
{{if .Fixed}}<ul>{{range vcap .Fixed}}<li>{{.ID}} · {{.Image}}: {{.Package}} {{.Version}}</li>{{end}}</ul>{{with vmore .Fixed}}<p>… and {{.}} more in the attachments.</p>{{end}}{{else}}<p>None.</p>{{end}}
{{if .Unverified}}<p>{{.Unverified}} earlier findings are not listed: their images have no new scan result yet.</p>{{end}}
<h2 style="font-size:17px">Most vulnerable images</h2>
{{if .TopImages}}<table style="border-collapse:collapse" cellpadding="5">
<tr style="background:#f0f2f6"><th align="left">Image</th><th align="right">Critical</th><th align="right">High</th><th align="right">Medium</th><th align="right">Low</th><th align="right">Unrated</th><th align="right">Fixable</th><th align="right">Containers</th></tr>
{{range .TopImages}}<tr style="border-top:1px solid #e3e6ec"><td>{{.Image}}</td><td align="right">{{index .Counts "critical"}}</td><td align="right">{{index .Counts "high"}}</td><td align="right">{{index .Counts "medium"}}</td><td align="right">{{index .Counts "low"}}</td><td align="right">{{index .Counts "unknown"}}</td><td align="right">{{.Fixable}}</td><td align="right">{{.Containers}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2 style="font-size:17px">Top vulnerabilities with a fix</h2>
{{if .TopFixable}}<table style="border-collapse:collapse;font-size:13px" cellpadding="4">
<tr style="background:#f0f2f6"><th align="left">Severity</th><th align="left">Advisory</th><th align="left">Packages</th><th align="left">Fixed in</th><th align="right">Images</th><th align="right">Containers</th><th align="left">Summary</th></tr>
{{range .TopFixable}}<tr style="border-top:1px solid #e3e6ec"><td style="color:{{color .Severity}};font-weight:bold">{{sev .Severity}}</td><td>{{.ID}}</td><td>{{join .Packages}}</td><td>{{join .Fixed}}</td><td align="right">{{.Images}}</td><td align="right">{{.Containers}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
<h2 style="font-size:17px">Vulnerabilities ({{len .Findings}})</h2>
<table style="border-collapse:collapse;font-size:13px" cellpadding="4">
<tr style="background:#f0f2f6"><th align="left">Severity</th><th align="left">Advisory</th><th align="left">Image</th><th align="left">Package</th><th align="left">Version</th><th align="left">Fixed in</th></tr>
{{range vcap .Findings}}<tr style="border-top:1px solid #e3e6ec"><td style="color:{{color .Severity}};font-weight:bold">{{sev .Severity}}</td><td>{{.ID}}</td><td>{{.Image}}</td><td>{{.Package}}</td><td>{{.Version}}</td><td>{{.Fixed}}</td></tr>
{{end}}</table>
{{with vmore .Findings}}<p>… and {{.}} more in the attached CSV and JSON.</p>{{end}}
{{end}}</body></html>
`))

// HTML renders the report for e-mail and the browser.
func HTML(c *Content) ([]byte, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, c); err != nil {
		return nil, fmt.Errorf("render report: %w", err)
	}
	return b.Bytes(), nil
}

// CSV lists every failed check, marking those new since the previous report.
func CSV(c *Content) ([]byte, error) {
	isNew := map[string]bool{}
	for _, f := range c.New {
		isNew[f.Key()] = true
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"severity", "control", "title", "kind", "namespace", "name", "path", "file", "line", "message", "new"})
	for _, f := range c.Findings {
		line := ""
		if f.Line > 0 {
			line = strconv.Itoa(f.Line)
		}
		_ = w.Write([]string{f.Severity, f.ControlID, f.Title, f.Kind, f.Namespace, f.Name, f.Path, f.File, line, csvSafe(f.Message), strconv.FormatBool(isNew[f.Key()])})
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// VulnCSV lists every vulnerability finding of a report, marking those new
// since the previous report.
func VulnCSV(v *VulnSection) ([]byte, error) {
	isNew := map[string]bool{}
	for _, f := range v.New {
		isNew[f.Key()] = true
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"severity", "id", "image", "package", "version", "fixed", "score", "containers", "digest", "summary", "new"})
	for _, f := range v.Findings {
		score := ""
		if f.Score > 0 {
			score = strconv.FormatFloat(f.Score, 'f', 1, 64)
		}
		_ = w.Write([]string{f.Severity, csvSafe(f.ID), csvSafe(f.Image), csvSafe(f.Package), csvSafe(f.Version), csvSafe(f.Fixed), score,
			strconv.Itoa(f.Containers), f.Digest, csvSafe(f.Summary), strconv.FormatBool(isNew[f.Key()])})
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// csvSafe keeps spreadsheet programs from running a cell as a formula.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@') {
		return "'" + s
	}
	return s
}

// JSON is the whole report.
func JSON(c *Content) ([]byte, error) {
	return json.MarshalIndent(c, "", "  ")
}
