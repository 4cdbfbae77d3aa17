package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"

	"vigil/internal/notify"
	"vigil/internal/security/compliance"
	"vigil/internal/security/compliance/posture"
	"vigil/internal/security/osv"
	"vigil/internal/security/vuln"
	"vigil/internal/store/sqlutil"
)

// Options configure the report service.
type Options struct {
	DB         *sql.DB
	Compliance *posture.Service
	// Vulns lists the vulnerability findings of the running images (the
	// in-cluster image scanner); nil: reports have no vulnerability section.
	Vulns   VulnSource
	SMTP    notify.SMTPConfig
	BaseURL string // links back to the UI
	Log     *slog.Logger
	// Tick is how often due schedules are looked for (default 30 s).
	Tick time.Duration
	// KeepReports bounds stored reports (default 200).
	KeepReports int
}

// VulnSource lists the vulnerability state of the images running in the cluster.
type VulnSource interface {
	ClusterScan(ctx context.Context) (*vuln.ClusterScan, error)
}

// Report kinds: which sections a report has.
const (
	KindCompliance = "compliance"
	KindVulns      = "vulnerabilities"
	KindBoth       = "both"
)

// checkKind defaults an empty kind to both and refuses unknown ones.
func checkKind(k string) (string, error) {
	switch k {
	case "":
		return KindBoth, nil
	case KindCompliance, KindVulns, KindBoth:
		return k, nil
	}
	return k, fmt.Errorf("kind %q is not compliance, vulnerabilities or both", k)
}

func hasCompliance(kind string) bool { return kind != KindVulns }
func hasVulns(kind string) bool      { return kind == KindVulns || kind == KindBoth }

// Service generates, stores, schedules and mails reports.
type Service struct {
	opt Options
	now func() time.Time
}

const schema = `
CREATE TABLE IF NOT EXISTS report_schedules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	cadence TEXT NOT NULL,
	hour INTEGER NOT NULL,
	weekday INTEGER NOT NULL,
	recipients TEXT NOT NULL,
	next_run INTEGER NOT NULL,
	last_run INTEGER NOT NULL DEFAULT 0,
	kind TEXT NOT NULL DEFAULT 'both'
);
CREATE TABLE IF NOT EXISTS report_reports (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	schedule_id INTEGER NOT NULL DEFAULT 0,
	time INTEGER NOT NULL,
	title TEXT NOT NULL,
	summary TEXT NOT NULL,
	html BLOB NOT NULL,
	csv BLOB NOT NULL,
	json BLOB NOT NULL,
	recipients TEXT NOT NULL DEFAULT '',
	mail_error TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL DEFAULT 'compliance',
	vulns_csv BLOB
);`

// columns added after the first release: tables created before get them with
// these defaults (reports stored then were compliance reports; schedules
// made then send both sections, as new ones do by default).
var addedColumns = []struct{ table, column, decl string }{
	{"report_schedules", "kind", "TEXT NOT NULL DEFAULT 'both'"},
	{"report_reports", "kind", "TEXT NOT NULL DEFAULT 'compliance'"},
	{"report_reports", "vulns_csv", "BLOB"},
}

func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("report tables: %w", err)
	}
	for _, c := range addedColumns {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return fmt.Errorf("report tables: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.decl); err != nil {
			return fmt.Errorf("report tables: add %s.%s: %w", c.table, c.column, err)
		}
	}
	return nil
}

// Open creates the tables.
func Open(ctx context.Context, opt Options) (*Service, error) {
	if opt.Tick <= 0 {
		opt.Tick = 30 * time.Second
	}
	if opt.KeepReports <= 0 {
		opt.KeepReports = 200
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if err := migrate(ctx, opt.DB); err != nil {
		return nil, err
	}
	return &Service{opt: opt, now: time.Now}, nil
}

// Schedule mails a report daily or weekly at an hour (UTC).
type Schedule struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Kind       string    `json:"kind"`    // compliance, vulnerabilities or both (default)
	Cadence    string    `json:"cadence"` // daily or weekly
	Hour       int       `json:"hour"`    // 0–23 UTC
	Weekday    int       `json:"weekday"` // 0 = Sunday, weekly only
	Recipients []string  `json:"recipients"`
	NextRun    time.Time `json:"nextRun"`
	LastRun    time.Time `json:"lastRun,omitzero"`
}

// Validate checks a schedule from a user.
func (s *Schedule) Validate() error {
	var problems []string
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" || len(s.Name) > 200 {
		problems = append(problems, "name is required (at most 200 characters)")
	}
	var err error
	if s.Kind, err = checkKind(s.Kind); err != nil {
		problems = append(problems, err.Error())
	}
	if s.Cadence != "daily" && s.Cadence != "weekly" {
		problems = append(problems, fmt.Sprintf("cadence %q is not daily or weekly", s.Cadence))
	}
	if s.Hour < 0 || s.Hour > 23 {
		problems = append(problems, "hour must be 0–23 (UTC)")
	}
	if s.Weekday < 0 || s.Weekday > 6 {
		problems = append(problems, "weekday must be 0 (Sunday) – 6")
	}
	if len(s.Recipients) == 0 || len(s.Recipients) > 50 {
		problems = append(problems, "between 1 and 50 recipients are required")
	}
	for _, r := range s.Recipients {
		if _, err := mail.ParseAddress(r); err != nil {
			problems = append(problems, fmt.Sprintf("recipient %q is not an e-mail address", r))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Next is the first run of the schedule strictly after t.
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC()
	n := time.Date(t.Year(), t.Month(), t.Day(), s.Hour, 0, 0, 0, time.UTC)
	if s.Cadence == "weekly" {
		n = n.AddDate(0, 0, (s.Weekday-int(n.Weekday())+7)%7)
		if !n.After(t) {
			n = n.AddDate(0, 0, 7)
		}
		return n
	}
	if !n.After(t) {
		n = n.AddDate(0, 0, 1)
	}
	return n
}

// Schedules lists the schedules.
func (s *Service) Schedules(ctx context.Context) ([]Schedule, error) {
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT id, name, kind, cadence, hour, weekday, recipients, next_run, last_run FROM report_schedules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list report schedules: %w", err)
	}
	defer rows.Close()
	out := []Schedule{}
	for rows.Next() {
		var sc Schedule
		var rcpt string
		var next, last int64
		if err := rows.Scan(&sc.ID, &sc.Name, &sc.Kind, &sc.Cadence, &sc.Hour, &sc.Weekday, &rcpt, &next, &last); err != nil {
			return nil, err
		}
		sc.Recipients = strings.Split(rcpt, ",")
		sc.NextRun = time.UnixMilli(next).UTC()
		if last > 0 {
			sc.LastRun = time.UnixMilli(last).UTC()
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// AddSchedule validates and stores a schedule.
func (s *Service) AddSchedule(ctx context.Context, sc Schedule) (Schedule, error) {
	if err := sc.Validate(); err != nil {
		return sc, err
	}
	sc.NextRun = sc.Next(s.now())
	var err error
	sc.ID, err = sqlutil.Insert(ctx, s.opt.DB, "report schedule", `INSERT INTO report_schedules (name, kind, cadence, hour, weekday, recipients, next_run) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sc.Name, sc.Kind, sc.Cadence, sc.Hour, sc.Weekday, strings.Join(sc.Recipients, ","), sc.NextRun.UnixMilli())
	return sc, err
}

// DeleteSchedule removes a schedule (its reports stay).
func (s *Service) DeleteSchedule(ctx context.Context, id int64) (bool, error) {
	return sqlutil.Delete(ctx, s.opt.DB, "report schedule", `DELETE FROM report_schedules WHERE id = ?`, id)
}

// Stored is a report as listed.
type Stored struct {
	ID         int64     `json:"id"`
	ScheduleID int64     `json:"scheduleId,omitempty"`
	Kind       string    `json:"kind"`
	Time       time.Time `json:"time"`
	Title      string    `json:"title"`
	Summary    Summary   `json:"summary"`
	Recipients []string  `json:"recipients,omitempty"`
	MailError  string    `json:"mailError,omitempty"`
}

// Summary is the headline of a stored report; the compliance figures are
// empty in a vulnerabilities report.
type Summary struct {
	Scores []compliance.FrameworkScore `json:"scores"`
	Failed map[string]int              `json:"failedBySeverity"`
	New    int                         `json:"new"`
	Fixed  int                         `json:"fixed"`
	Vulns  *VulnSummary                `json:"vulnerabilities,omitempty"`
}

// VulnSummary is the headline of a report's vulnerability section.
type VulnSummary struct {
	Counts   map[string]int `json:"countsBySeverity"`
	Findings int            `json:"findings"`
	Fixable  int            `json:"fixable"`
	Images   int            `json:"images"`
	New      int            `json:"new"`
	Fixed    int            `json:"fixed"`
}

// Generate builds a report of a kind now (the controls evaluated, the
// running images' stored findings), diffs each section against the previous
// report of the same schedule that has it, stores the report and mails it to
// recipients (when any).
func (s *Service) Generate(ctx context.Context, scheduleID int64, kind, title string, recipients []string) (Stored, error) {
	kind, err := checkKind(kind)
	if err != nil {
		return Stored{}, err
	}
	c := &Content{Kind: kind, Title: title, Time: s.now().UTC(), Scores: []compliance.FrameworkScore{},
		Failed: map[string]int{compliance.Critical: 0, compliance.High: 0, compliance.Medium: 0, compliance.Low: 0},
		New:    []compliance.Finding{}, Fixed: []compliance.Finding{}, Findings: []compliance.Finding{}, TopControl: []ControlCount{}}
	if hasCompliance(kind) {
		if err := s.complianceSection(ctx, scheduleID, c); err != nil {
			return Stored{}, err
		}
	}
	if hasVulns(kind) {
		if err := s.vulnSection(ctx, scheduleID, c); err != nil {
			return Stored{}, err
		}
	}
	html, err := HTML(c)
	if err != nil {
		return Stored{}, err
	}
	csvB, err := CSV(c)
	if err != nil {
		return Stored{}, err
	}
	var vulnCSV []byte // NULL when the report has no vulnerability section
	if c.Vulns != nil {
		if vulnCSV, err = VulnCSV(c.Vulns); err != nil {
			return Stored{}, err
		}
		if !hasCompliance(kind) {
			csvB = vulnCSV // the report's only CSV
		}
	}
	jsonB, err := JSON(c)
	if err != nil {
		return Stored{}, err
	}
	st := Stored{ScheduleID: scheduleID, Kind: kind, Time: c.Time, Title: title, Recipients: recipients,
		Summary: Summary{Scores: c.Scores, Failed: c.Failed, New: len(c.New), Fixed: len(c.Fixed)}}
	if v := c.Vulns; v != nil {
		st.Summary.Vulns = &VulnSummary{Counts: v.Counts, Findings: v.ClusterSummary.Findings, Fixable: v.Fixable, Images: v.Images, New: len(v.New), Fixed: len(v.Fixed)}
	}
	if len(recipients) > 0 {
		if err := s.mail(ctx, c, html, csvB, vulnCSV, jsonB, recipients); err != nil {
			st.MailError = err.Error()
			s.opt.Log.Warn("mail report", "title", title, "err", err)
		}
	}
	sum, _ := json.Marshal(st.Summary)
	r, err := s.opt.DB.ExecContext(ctx, `INSERT INTO report_reports (schedule_id, kind, time, title, summary, html, csv, vulns_csv, json, recipients, mail_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		scheduleID, kind, c.Time.UnixMilli(), title, string(sum), html, csvB, vulnCSV, jsonB, strings.Join(recipients, ","), st.MailError)
	if err != nil {
		return Stored{}, fmt.Errorf("store report: %w", err)
	}
	if st.ID, err = r.LastInsertId(); err != nil {
		return Stored{}, err
	}
	if _, err := s.opt.DB.ExecContext(ctx, `DELETE FROM report_reports WHERE id <= ?`, st.ID-int64(s.opt.KeepReports)); err != nil {
		return Stored{}, fmt.Errorf("prune reports: %w", err)
	}
	return st, nil
}

// complianceSection evaluates the controls now and diffs the failed checks
// against the previous report with a compliance section.
func (s *Service) complianceSection(ctx context.Context, scheduleID int64, c *Content) error {
	if s.opt.Compliance == nil {
		return errors.New("compliance is not running")
	}
	run, err := s.opt.Compliance.Evaluate(ctx)
	if err != nil {
		return fmt.Errorf("evaluate compliance: %w", err)
	}
	c.Time, c.Scores, c.Objects, c.URL = run.Time, run.Scores, len(run.Result.Objects), s.url("/security/compliance")
	counts := map[string]*ControlCount{}
	for _, f := range run.Result.Findings {
		if f.Status != "fail" {
			continue
		}
		if f.Exception != nil {
			c.Excepted++
			continue
		}
		c.Findings = append(c.Findings, f)
		c.Failed[f.Severity]++
		if counts[f.ControlID] == nil {
			counts[f.ControlID] = &ControlCount{ID: f.ControlID, Title: f.Title, Severity: f.Severity}
		}
		counts[f.ControlID].Failed++
	}
	for _, cc := range counts {
		c.TopControl = append(c.TopControl, *cc)
	}
	sort.Slice(c.TopControl, func(i, j int) bool {
		a, b := c.TopControl[i], c.TopControl[j]
		if a.Failed != b.Failed {
			return a.Failed > b.Failed
		}
		return a.ID < b.ID
	})
	if len(c.TopControl) > 10 {
		c.TopControl = c.TopControl[:10]
	}
	prev, err := s.previous(ctx, scheduleID, KindCompliance)
	if err != nil {
		return err
	}
	if prev != nil {
		c.Previous = &prev.Time
		c.New, c.Fixed = posture.Diff(prev.Findings, c.Findings)
	} else {
		c.New = c.Findings // the first report: everything is new
	}
	if c.New == nil {
		c.New = []compliance.Finding{}
	}
	if c.Fixed == nil {
		c.Fixed = []compliance.Finding{}
	}
	return nil
}

// topVulns bounds the ranked lists of the vulnerability section.
const topVulns = 10

// vulnSection lists the running images' findings and diffs them against the
// previous report with a vulnerability section.
func (s *Service) vulnSection(ctx context.Context, scheduleID int64, c *Content) error {
	if s.opt.Vulns == nil {
		return errors.New("vulnerability scanning is not running")
	}
	scan, err := s.opt.Vulns.ClusterScan(ctx)
	if err != nil {
		return fmt.Errorf("vulnerability findings: %w", err)
	}
	if !hasCompliance(c.Kind) {
		c.Time = scan.Time
	}
	v := &VulnSection{ClusterSummary: vuln.Summarize(scan, topVulns), DB: scan.DB, Findings: slices.Clone(scan.Findings),
		NotScanned: []vuln.ClusterImage{}, URL: s.url("/security")}
	if v.Findings == nil {
		v.Findings = []vuln.ClusterFinding{}
	}
	vuln.SortClusterFindings(v.Findings)
	for _, im := range scan.Images {
		if !im.Scanned {
			v.NotScanned = append(v.NotScanned, im)
		}
	}
	switch {
	case scan.DB.Records == 0:
		v.Warnings = append(v.Warnings, "The vulnerability database is empty: no image was checked. Import or update it (vigil vulndb import|update).")
	case scan.DB.Stale:
		v.Warnings = append(v.Warnings, fmt.Sprintf("The vulnerability database was last updated %s: findings published since are missing.", scan.DB.Updated.UTC().Format("2006-01-02")))
	}
	if n := len(v.NotScanned); n > 0 {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d of %d running images have no scan result yet (pending or failed): their findings are not listed.", n, len(scan.Images)))
	}
	prev, err := s.previous(ctx, scheduleID, KindVulns)
	if err != nil {
		return err
	}
	if prev != nil && prev.Vulns != nil {
		v.Previous = &prev.Time
		v.New, v.Fixed, v.Unverified = DiffVulns(prev.Vulns.Findings, v.Findings, scan.Images, scan.DB.Records > 0)
	} else {
		v.New, v.Fixed = v.Findings, []vuln.ClusterFinding{} // the first report: everything is new
	}
	c.Vulns = v
	return nil
}

// DiffVulns compares findings by Key. A finding that is gone counts as fixed
// only when every running image of its repository has been scanned (and the
// database holds data): otherwise it may be in an image not scanned yet, and
// is counted as unverified instead.
func DiffVulns(prev, cur []vuln.ClusterFinding, images []vuln.ClusterImage, haveDB bool) (added, fixed []vuln.ClusterFinding, unverified int) {
	prevKeys := map[string]bool{}
	for _, f := range prev {
		prevKeys[f.Key()] = true
	}
	curKeys := map[string]bool{}
	for _, f := range cur {
		curKeys[f.Key()] = true
	}
	pending := map[string]bool{}
	for _, im := range images {
		if !im.Scanned {
			pending[im.Repository] = true
		}
	}
	added, fixed = []vuln.ClusterFinding{}, []vuln.ClusterFinding{}
	for _, f := range cur {
		if !prevKeys[f.Key()] {
			added = append(added, f)
		}
	}
	gone := map[string]bool{}
	for _, f := range prev {
		k := f.Key()
		if curKeys[k] || gone[k] {
			continue
		}
		gone[k] = true
		if !haveDB || pending[f.Repository] {
			unverified++
			continue
		}
		fixed = append(fixed, f)
	}
	vuln.SortClusterFindings(fixed)
	return added, fixed, unverified
}

func (s *Service) url(p string) string {
	if s.opt.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opt.BaseURL, "/") + p
}

// previous returns the last report of the same schedule (of any on-demand
// report for scheduleID 0) that has a section; nil when there is none.
func (s *Service) previous(ctx context.Context, scheduleID int64, section string) (*Content, error) {
	var b []byte
	err := s.opt.DB.QueryRowContext(ctx, `SELECT json FROM report_reports WHERE schedule_id = ? AND kind IN (?, 'both') ORDER BY id DESC LIMIT 1`,
		scheduleID, section).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("previous report: %w", err)
	}
	var c Content
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("previous report: %w", err)
	}
	return &c, nil
}

// filePrefix names a report's files after its sections.
func filePrefix(kind string) string {
	switch kind {
	case KindVulns:
		return "vulnerabilities"
	case KindBoth:
		return "security"
	}
	return "compliance"
}

func (s *Service) mail(ctx context.Context, c *Content, html, csvB, vulnCSV, jsonB []byte, to []string) error {
	if !s.opt.SMTP.Enabled() {
		return errors.New("no mail server configured (--smtp-host)")
	}
	stamp := c.Time.UTC().Format("2006-01-02")
	var text strings.Builder
	var subject []string
	fmt.Fprintf(&text, "%s — %s\n\n", c.Title, c.Time.UTC().Format("2006-01-02 15:04 UTC"))
	var files []notify.Attachment
	if hasCompliance(c.Kind) {
		for _, sc := range c.Scores {
			fmt.Fprintf(&text, "%-40s %5.1f%%  (%d failed checks)\n", sc.Name, sc.Score, sc.Failed)
		}
		fmt.Fprintf(&text, "\nNew failed checks: %d, fixed: %d.\n", len(c.New), len(c.Fixed))
		worst := 100.0
		for _, sc := range c.Scores {
			worst = min(worst, sc.Score)
		}
		subject = append(subject, fmt.Sprintf("%d new, %d fixed, lowest score %.1f%%", len(c.New), len(c.Fixed), worst))
		files = append(files, notify.Attachment{Name: "compliance-" + stamp + ".csv", ContentType: "text/csv", Data: csvB})
	}
	if v := c.Vulns; v != nil {
		if hasCompliance(c.Kind) {
			text.WriteString("\n")
		}
		fmt.Fprintf(&text, "Vulnerabilities in %d running images (%d scanned): %d critical, %d high, %d medium, %d low, %d unrated; %d with a fixed version.\n",
			v.Images, v.Scanned, v.Counts[osv.SevCritical], v.Counts[osv.SevHigh], v.Counts[osv.SevMedium], v.Counts[osv.SevLow], v.Counts[osv.SevUnknown], v.Fixable)
		fmt.Fprintf(&text, "New vulnerabilities: %d, fixed: %d", len(v.New), len(v.Fixed))
		if v.Unverified > 0 {
			fmt.Fprintf(&text, " (%d more not seen, in images not scanned again yet)", v.Unverified)
		}
		text.WriteString(".\n")
		for _, w := range v.Warnings {
			fmt.Fprintf(&text, "Note: %s\n", w)
		}
		counts := fmt.Sprintf("%d critical, %d high", v.Counts[osv.SevCritical], v.Counts[osv.SevHigh])
		diff := fmt.Sprintf("(%d new, %d fixed)", len(v.New), len(v.Fixed))
		if hasCompliance(c.Kind) {
			subject = append(subject, "vulnerabilities: "+counts+" "+diff)
		} else {
			subject = append(subject, counts+" vulnerabilities "+diff)
		}
		files = append(files, notify.Attachment{Name: "vulnerabilities-" + stamp + ".csv", ContentType: "text/csv", Data: vulnCSV})
	}
	text.WriteString("Full lists in the attachments.\n")
	for _, u := range []string{c.URL, vulnURL(c)} {
		if u != "" {
			fmt.Fprintf(&text, "\n%s\n", u)
		}
	}
	files = append(files, notify.Attachment{Name: filePrefix(c.Kind) + "-" + stamp + ".json", ContentType: "application/json", Data: jsonB})
	return notify.SendMail(ctx, s.opt.SMTP, notify.Mail{To: to, Subject: fmt.Sprintf("[vigil] %s: %s", c.Title, strings.Join(subject, "; ")),
		Text: text.String(), HTML: string(html), Attachments: files})
}

func vulnURL(c *Content) string {
	if c.Vulns == nil {
		return ""
	}
	return c.Vulns.URL
}

// Reports lists stored reports, newest first.
func (s *Service) Reports(ctx context.Context, limit int) ([]Stored, error) {
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT id, schedule_id, kind, time, title, summary, recipients, mail_error FROM report_reports ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	out := []Stored{}
	for rows.Next() {
		var st Stored
		var ts int64
		var sum, rcpt string
		if err := rows.Scan(&st.ID, &st.ScheduleID, &st.Kind, &ts, &st.Title, &sum, &rcpt, &st.MailError); err != nil {
			return nil, err
		}
		st.Time = time.UnixMilli(ts).UTC()
		if rcpt != "" {
			st.Recipients = strings.Split(rcpt, ",")
		}
		if err := json.Unmarshal([]byte(sum), &st.Summary); err != nil {
			return nil, fmt.Errorf("report %d summary: %w", st.ID, err)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// File returns one stored rendering: html, json, csv (the compliance
// findings; the vulnerability findings in a vulnerabilities report) or
// vulns-csv (the vulnerability findings), with the report's kind and time.
func (s *Service) File(ctx context.Context, id int64, format string) ([]byte, string, time.Time, error) {
	col := map[string]string{"html": "html", "csv": "csv", "json": "json", "vulns-csv": "vulns_csv"}[format]
	if col == "" {
		return nil, "", time.Time{}, fmt.Errorf("unknown format %q (html, csv, json, vulns-csv)", format)
	}
	var b []byte
	var kind string
	var ts int64
	err := s.opt.DB.QueryRowContext(ctx, `SELECT `+col+`, kind, time FROM report_reports WHERE id = ?`, id).Scan(&b, &kind, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, "", time.Time{}, fmt.Errorf("read report: %w", err)
	}
	if b == nil {
		return nil, "", time.Time{}, fmt.Errorf("report %d has no vulnerability section: %w", id, ErrNotFound)
	}
	return b, kind, time.UnixMilli(ts).UTC(), nil
}

// ErrNotFound: no such report or schedule.
var ErrNotFound = errors.New("not found")

// RunSchedule generates a schedule's report now and moves its next run on.
func (s *Service) RunSchedule(ctx context.Context, id int64) (Stored, error) {
	scs, err := s.Schedules(ctx)
	if err != nil {
		return Stored{}, err
	}
	for _, sc := range scs {
		if sc.ID != id {
			continue
		}
		now := s.now()
		st, err := s.Generate(ctx, sc.ID, sc.Kind, sc.Name, sc.Recipients)
		if err != nil {
			return Stored{}, err
		}
		if _, err := s.opt.DB.ExecContext(ctx, `UPDATE report_schedules SET last_run = ?, next_run = ? WHERE id = ?`,
			now.UnixMilli(), sc.Next(now).UnixMilli(), sc.ID); err != nil {
			return st, fmt.Errorf("update report schedule: %w", err)
		}
		return st, nil
	}
	return Stored{}, ErrNotFound
}

// Run generates due scheduled reports until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.opt.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		scs, err := s.Schedules(ctx)
		if err != nil {
			s.opt.Log.Error("report schedules", "err", err)
			continue
		}
		now := s.now()
		for _, sc := range scs {
			if sc.NextRun.After(now) {
				continue
			}
			if _, err := s.RunSchedule(ctx, sc.ID); err != nil && ctx.Err() == nil {
				s.opt.Log.Error("scheduled report", "schedule", sc.Name, "err", err)
			}
		}
	}
}
