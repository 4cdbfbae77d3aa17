package monitor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/promql/parser"

	"vigil/internal/notify"
)

func promqlParse(q string) (parser.Expr, error) {
	return parser.NewParser(parser.Options{}).ParseExpr(q)
}

// AlertData is what notification templates see.
type AlertData struct {
	Monitor   *Monitor
	Status    string // firing or resolved
	Event     string // alert, escalate, renotify, resolve
	Severity  string
	Labels    map[string]string
	LabelText string // k=v, k=v
	Value     float64
	Peak      float64
	Expected  *float64
	Lower     *float64
	Upper     *float64
	Crossing  *time.Time
	Message   string
	Started   time.Time
	Ended     *time.Time
	URL       string
	Incident  int64
}

var tmplFuncs = template.FuncMap{
	"upper": strings.ToUpper,
	"num":   fmtNum,
	"date":  func(t time.Time) string { return t.UTC().Format("Mon 2006-01-02 15:04 MST") },
}

const (
	defaultSubject = `[{{if eq .Status "resolved"}}RESOLVED{{else}}{{upper .Severity}}{{end}}] {{.Monitor.Name}}{{if .LabelText}} ({{.LabelText}}){{end}}`
	defaultBody    = `{{.Monitor.Name}} is {{if eq .Status "resolved"}}resolved{{else}}{{.Severity}}{{end}}{{if .LabelText}} for {{.LabelText}}{{end}}.
{{.Message}}
Value: {{num .Value}}{{if .Expected}}, expected {{num (deref .Expected)}} (normal {{num (deref .Lower)}} – {{num (deref .Upper)}}){{end}}{{if .Crossing}}
Predicted crossing: {{date (derefT .Crossing)}}{{end}}
Started: {{date .Started}}{{if .Ended}}, ended {{date (derefT .Ended)}}{{end}}
Query: {{.Monitor.Query}}`
)

func init() {
	tmplFuncs["deref"] = func(p *float64) float64 { return *p }
	tmplFuncs["derefT"] = func(p *time.Time) time.Time { return *p }
}

func checkTemplates(n Notify) error {
	for name, s := range map[string]string{"subject": n.Subject, "body": n.Body} {
		if s == "" {
			continue
		}
		t, err := template.New(name).Funcs(tmplFuncs).Parse(s)
		if err != nil {
			return fmt.Errorf("%s template: %w", name, err)
		}
		// Execute on sample data so a reference to a missing field fails now, not at 3 a.m.
		one := 1.0
		now := time.Now()
		d := AlertData{Monitor: &Monitor{Name: "x"}, Status: "firing", Labels: map[string]string{}, Expected: &one, Lower: &one, Upper: &one, Crossing: &now, Ended: &now}
		if err := t.Execute(io.Discard, d); err != nil {
			return fmt.Errorf("%s template: %w", name, err)
		}
	}
	return nil
}

func render(name, src string, d AlertData) string {
	t, err := template.New(name).Funcs(tmplFuncs).Parse(src)
	if err == nil {
		var b bytes.Buffer
		if err = t.Execute(&b, d); err == nil {
			return b.String()
		}
	}
	return fmt.Sprintf("(template error: %v)", err)
}

func labelText(lb map[string]string) string {
	keys := make([]string, 0, len(lb))
	for k := range lb {
		if k != "__name__" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + lb[k]
	}
	return strings.Join(parts, ", ")
}

func (e *Engine) alertData(m *Monitor, st *SeriesState, event string, now time.Time) AlertData {
	d := AlertData{Monitor: m, Status: "firing", Event: event, Severity: st.Severity, Labels: st.Labels, LabelText: labelText(st.Labels),
		Value: st.Value, Peak: st.Peak, Expected: st.Expected, Lower: st.Lower, Upper: st.Upper, Crossing: st.Crossing,
		Message: st.Message, Started: st.Since, Incident: st.IncidentID}
	if event == "resolve" {
		d.Status = "resolved"
		end := now
		d.Ended = &end
		if in, err := e.Store.Incident(context.Background(), st.IncidentID); err == nil {
			d.Started = in.Started
		}
	}
	d.URL = strings.TrimRight(e.BaseURL, "/") + "/monitors/" + url.PathEscape(m.ID)
	return d
}

// queue records one notification per target of the monitor (suppressed ones too, so the log tells why).
func (e *Engine) queue(ctx context.Context, m *Monitor, st *SeriesState, event string, now time.Time) {
	st.LastNotified = now
	d := e.alertData(m, st, event, now)
	silenced, why := m.Silenced(now)
	status := "pending"
	if silenced {
		status = "suppressed"
	}
	add := func(channel, target string, payload []byte) {
		n := &Notification{IncidentID: st.IncidentID, MonitorID: m.ID, Event: event, Channel: channel, Target: target,
			Status: status, Error: why, Created: now, NextAt: now, payload: payload}
		if err := e.Store.enqueue(ctx, n); err != nil {
			e.log().Error("queue notification", "monitor", m.ID, "err", err)
		}
	}
	if len(m.Notify.Email) > 0 {
		var mail notify.Mail
		if !silenced {
			mail = e.buildMail(ctx, m, st, d, now)
		}
		for _, to := range m.Notify.Email {
			mm := mail
			mm.To = []string{to}
			b, _ := json.Marshal(mm)
			add("email", to, b)
		}
	}
	for _, u := range m.Notify.Webhook {
		b, _ := json.Marshal(alertmanagerPayload(d, e.BaseURL))
		add("webhook", u, b)
	}
	for _, u := range m.Notify.Slack {
		b, _ := json.Marshal(slackPayload(d))
		add("slack", u, b)
	}
	if status == "pending" {
		e.pokeDelivery()
	}
}

func (e *Engine) pokeDelivery() {}

var mailHTML = htmltemplate.Must(htmltemplate.New("mail").Parse(`<!doctype html>
<html><body style="font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2328;max-width:760px">
<h2 style="margin:0 0 8px;color:{{.Color}}">{{.Title}}</h2>
<p style="margin:0 0 12px">{{.Data.Message}}</p>
<img src="cid:graph.png" alt="graph of {{.Data.Monitor.Query}}" width="720" height="260" style="border:1px solid #d0d7de">
<table style="border-collapse:collapse;margin:12px 0;font-size:14px">
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Value</td><td>{{.Value}}</td></tr>
{{if .Data.Expected}}<tr><td style="padding:2px 12px 2px 0;color:#57606a">Expected</td><td>{{.Expected}}</td></tr>{{end}}
{{if .Data.Crossing}}<tr><td style="padding:2px 12px 2px 0;color:#57606a">Predicted crossing</td><td>{{.Crossing}}</td></tr>{{end}}
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Started</td><td>{{.Started}}</td></tr>
{{range .Labels}}<tr><td style="padding:2px 12px 2px 0;color:#57606a">{{.K}}</td><td>{{.V}}</td></tr>{{end}}
<tr><td style="padding:2px 12px 2px 0;color:#57606a">Query</td><td><code>{{.Data.Monitor.Query}}</code></td></tr>
</table>
<pre style="white-space:pre-wrap;background:#f6f8fa;padding:8px;font-size:13px">{{.Body}}</pre>
<p><a href="{{.Data.URL}}">Open {{.Data.Monitor.Name}} in vigil</a></p>
</body></html>`))

func (e *Engine) buildMail(ctx context.Context, m *Monitor, st *SeriesState, d AlertData, now time.Time) notify.Mail {
	subject := render("subject", orStr(m.Notify.Subject, defaultSubject), d)
	subject = strings.Join(strings.Fields(subject), " ")
	body := render("body", orStr(m.Notify.Body, defaultBody), d)
	title := fmt.Sprintf("%s: %s", m.Name, orStr(d.Severity, "alert"))
	color := "#cf222e"
	if d.Status == "resolved" {
		title, color = m.Name+": resolved", "#1a7f37"
	} else if d.Severity == SevWarning {
		color = "#9a6700"
	}
	type kv struct{ K, V string }
	var lbs []kv
	for _, k := range sortedKeys(d.Labels) {
		lbs = append(lbs, kv{k, d.Labels[k]})
	}
	view := map[string]any{"Data": d, "Title": title, "Color": color, "Body": body, "Value": fmtNum(d.Value),
		"Started": d.Started.UTC().Format(time.RFC1123), "Labels": lbs}
	if d.Expected != nil {
		view["Expected"] = fmt.Sprintf("%s (normal %s – %s)", fmtNum(*d.Expected), fmtNum(*d.Lower), fmtNum(*d.Upper))
	}
	if d.Crossing != nil {
		view["Crossing"] = d.Crossing.UTC().Format("Mon 2006-01-02 15:04 MST")
	}
	var html bytes.Buffer
	_ = mailHTML.Execute(&html, view)
	mail := notify.Mail{Subject: subject, Text: body + "\n\n" + d.URL + "\n", HTML: html.String()}
	if png, err := e.Graph(ctx, m, st.Labels, now, d); err == nil {
		mail.Inline = []notify.Attachment{{Name: "graph.png", ContentType: "image/png", Data: png}}
	} else {
		e.log().Warn("render graph", "monitor", m.ID, "err", err)
		mail.HTML = strings.Replace(mail.HTML, `<img src="cid:graph.png"`, `<img hidden src=""`, 1)
	}
	return mail
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func fingerprint(m *Monitor, lb map[string]string) string {
	h := sha256.Sum256([]byte(m.ID + "\x00" + labelText(lb)))
	return hex.EncodeToString(h[:8])
}

// alertmanagerPayload follows Alertmanager's webhook format (version 4).
func alertmanagerPayload(d AlertData, base string) map[string]any {
	labels := map[string]string{"alertname": d.Monitor.Name, "monitor": d.Monitor.ID}
	if d.Severity != "" {
		labels["severity"] = d.Severity
	}
	for k, v := range d.Monitor.Labels {
		labels[k] = v
	}
	for k, v := range d.Labels {
		if k != "__name__" {
			labels[k] = v
		}
	}
	endsAt := time.Time{}
	if d.Ended != nil {
		endsAt = *d.Ended
	}
	alert := map[string]any{
		"status": d.Status, "labels": labels,
		"annotations":  map[string]string{"summary": d.Message, "description": d.Monitor.Description, "value": fmtNum(d.Value)},
		"startsAt":     d.Started.UTC().Format(time.RFC3339Nano),
		"endsAt":       endsAt.UTC().Format(time.RFC3339Nano),
		"generatorURL": d.URL,
		"fingerprint":  fingerprint(d.Monitor, d.Labels),
	}
	return map[string]any{
		"version": "4", "groupKey": "{}:{monitor=\"" + d.Monitor.ID + "\"}", "truncatedAlerts": 0,
		"status": d.Status, "receiver": "vigil",
		"groupLabels": map[string]string{"monitor": d.Monitor.ID}, "commonLabels": labels,
		"commonAnnotations": alert["annotations"], "externalURL": base,
		"alerts": []any{alert},
	}
}

func slackPayload(d AlertData) map[string]any {
	color := "danger"
	title := fmt.Sprintf("%s: %s", d.Monitor.Name, d.Severity)
	if d.Status == "resolved" {
		color, title = "good", d.Monitor.Name+": resolved"
	} else if d.Severity == SevWarning {
		color = "warning"
	}
	var fields []map[string]any
	for _, k := range sortedKeys(d.Labels) {
		fields = append(fields, map[string]any{"title": k, "value": d.Labels[k], "short": true})
	}
	return map[string]any{
		"text": fmt.Sprintf("%s — %s", title, d.Message),
		"attachments": []any{map[string]any{
			"color": color, "title": title, "title_link": d.URL, "text": d.Message, "fields": fields,
			"footer": "vigil", "ts": d.Started.Unix(),
		}},
	}
}

// Delivery retry policy: backoff doubles from 10 s up to 15 min; after
// maxAttempts the notification is marked failed (listed in the UI, retryable).
const (
	maxAttempts  = 12
	firstBackoff = 10 * time.Second
	maxBackoff   = 15 * time.Minute
)

func backoff(attempts int) time.Duration {
	d := firstBackoff
	for range attempts - 1 {
		d *= 2
		if d >= maxBackoff {
			return maxBackoff
		}
	}
	return d
}

func (e *Engine) deliverLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.DeliverDue(ctx)
	}
}

// DeliverDue sends every notification whose time has come.
func (e *Engine) DeliverDue(ctx context.Context) {
	due, err := e.Store.due(ctx, e.now(), 50)
	if err != nil {
		e.log().Error("notification queue", "err", err)
		return
	}
	for i := range due {
		n := &due[i]
		dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := e.send(dctx, n)
		cancel()
		if ctx.Err() != nil {
			return // shutting down: the row stays pending and is sent after restart
		}
		n.Attempts++
		now := e.now()
		if err == nil {
			n.Status, n.Error, n.Sent = "sent", "", &now
		} else {
			n.Error = err.Error()
			n.NextAt = now.Add(backoff(n.Attempts))
			if n.Attempts >= maxAttempts {
				n.Status = "failed"
			}
			e.log().Warn("notification delivery failed", "monitor", n.MonitorID, "channel", n.Channel, "target", n.Target, "attempt", n.Attempts, "err", err)
		}
		if err := e.Store.markNotification(ctx, n); err != nil {
			e.log().Error("notification state", "err", err)
		}
	}
}

func (e *Engine) send(ctx context.Context, n *Notification) error {
	switch n.Channel {
	case "email":
		var m notify.Mail
		if err := json.Unmarshal(n.payload, &m); err != nil {
			return fmt.Errorf("decode queued mail: %w", err)
		}
		if !e.SMTP.Enabled() {
			return errors.New("no mail server configured (--smtp-host)")
		}
		return notify.SendMail(ctx, e.SMTP, m)
	case "webhook", "slack":
		return e.post(ctx, n.Target, n.payload)
	}
	return fmt.Errorf("unknown channel %q", n.Channel)
}

func (e *Engine) post(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "vigil-monitors")
	c := e.HTTP
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
