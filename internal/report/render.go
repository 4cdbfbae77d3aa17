// Package report builds compliance reports (HTML for people, CSV and JSON
// for tools), diffs each against the previous one, keeps them in vigil's
// database and mails them on a daily or weekly schedule.
package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"vigil/internal/security/compliance"
)

// Content is what one report says.
type Content struct {
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
		return map[string]string{"critical": "#8e1b1b", "high": "#d64545", "medium": "#e08a1e", "low": "#5a7fa8"}[sev]
	},
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
<p style="color:#5b6478;margin:0 0 16px">{{date .Time}} · {{.Objects}} objects checked{{if .Previous}} · compared with the report of {{date .Previous}}{{end}}{{if .URL}} · <a href="{{.URL}}">open in vigil</a>{{end}}</p>
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
</body></html>
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
