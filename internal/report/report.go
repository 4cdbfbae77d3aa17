package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"sort"
	"strings"
	"time"

	"vigil/internal/notify"
	"vigil/internal/security/compliance"
	"vigil/internal/security/compliance/posture"
)

// Options configure the report service.
type Options struct {
	DB         *sql.DB
	Compliance *posture.Service
	SMTP       notify.SMTPConfig
	BaseURL    string // links back to the UI
	Log        *slog.Logger
	// Tick is how often due schedules are looked for (default 30 s).
	Tick time.Duration
	// KeepReports bounds stored reports (default 200).
	KeepReports int
}

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
	last_run INTEGER NOT NULL DEFAULT 0
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
	mail_error TEXT NOT NULL DEFAULT ''
);`

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
	if _, err := opt.DB.ExecContext(ctx, schema); err != nil {
		return nil, fmt.Errorf("report tables: %w", err)
	}
	return &Service{opt: opt, now: time.Now}, nil
}

// Schedule mails a report daily or weekly at an hour (UTC).
type Schedule struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
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
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT id, name, cadence, hour, weekday, recipients, next_run, last_run FROM report_schedules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list report schedules: %w", err)
	}
	defer rows.Close()
	out := []Schedule{}
	for rows.Next() {
		var sc Schedule
		var rcpt string
		var next, last int64
		if err := rows.Scan(&sc.ID, &sc.Name, &sc.Cadence, &sc.Hour, &sc.Weekday, &rcpt, &next, &last); err != nil {
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
	r, err := s.opt.DB.ExecContext(ctx, `INSERT INTO report_schedules (name, cadence, hour, weekday, recipients, next_run) VALUES (?, ?, ?, ?, ?, ?)`,
		sc.Name, sc.Cadence, sc.Hour, sc.Weekday, strings.Join(sc.Recipients, ","), sc.NextRun.UnixMilli())
	if err != nil {
		return sc, fmt.Errorf("store report schedule: %w", err)
	}
	sc.ID, err = r.LastInsertId()
	return sc, err
}

// DeleteSchedule removes a schedule (its reports stay).
func (s *Service) DeleteSchedule(ctx context.Context, id int64) (bool, error) {
	r, err := s.opt.DB.ExecContext(ctx, `DELETE FROM report_schedules WHERE id = ?`, id)
	if err != nil {
		return false, fmt.Errorf("delete report schedule: %w", err)
	}
	n, err := r.RowsAffected()
	return n > 0, err
}

// Stored is a report as listed.
type Stored struct {
	ID         int64     `json:"id"`
	ScheduleID int64     `json:"scheduleId,omitempty"`
	Time       time.Time `json:"time"`
	Title      string    `json:"title"`
	Summary    Summary   `json:"summary"`
	Recipients []string  `json:"recipients,omitempty"`
	MailError  string    `json:"mailError,omitempty"`
}

// Summary is the headline of a stored report.
type Summary struct {
	Scores []compliance.FrameworkScore `json:"scores"`
	Failed map[string]int              `json:"failedBySeverity"`
	New    int                         `json:"new"`
	Fixed  int                         `json:"fixed"`
}

// Generate evaluates the controls now, diffs against the previous report,
// stores the new one and mails it to recipients (when any).
func (s *Service) Generate(ctx context.Context, scheduleID int64, title string, recipients []string) (Stored, error) {
	if s.opt.Compliance == nil {
		return Stored{}, errors.New("compliance is not running")
	}
	run, err := s.opt.Compliance.Evaluate(ctx)
	if err != nil {
		return Stored{}, err
	}
	c := &Content{Title: title, Time: run.Time, Scores: run.Scores, Objects: len(run.Result.Objects), URL: s.url("/security/compliance"),
		Failed: map[string]int{compliance.Critical: 0, compliance.High: 0, compliance.Medium: 0, compliance.Low: 0}}
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
	prev, prevTime, err := s.previous(ctx, scheduleID)
	if err != nil {
		return Stored{}, err
	}
	if prevTime != nil {
		c.Previous = prevTime
		c.New, c.Fixed = posture.Diff(prev, c.Findings)
	} else {
		c.New = c.Findings // the first report: everything is new
	}
	if c.New == nil {
		c.New = []compliance.Finding{}
	}
	if c.Fixed == nil {
		c.Fixed = []compliance.Finding{}
	}
	if c.Findings == nil {
		c.Findings = []compliance.Finding{}
	}
	html, err := HTML(c)
	if err != nil {
		return Stored{}, err
	}
	csvB, err := CSV(c)
	if err != nil {
		return Stored{}, err
	}
	jsonB, err := JSON(c)
	if err != nil {
		return Stored{}, err
	}
	st := Stored{ScheduleID: scheduleID, Time: c.Time, Title: title, Recipients: recipients,
		Summary: Summary{Scores: c.Scores, Failed: c.Failed, New: len(c.New), Fixed: len(c.Fixed)}}
	if len(recipients) > 0 {
		if err := s.mail(ctx, c, html, csvB, jsonB, recipients); err != nil {
			st.MailError = err.Error()
			s.opt.Log.Warn("mail report", "title", title, "err", err)
		}
	}
	sum, _ := json.Marshal(st.Summary)
	r, err := s.opt.DB.ExecContext(ctx, `INSERT INTO report_reports (schedule_id, time, title, summary, html, csv, json, recipients, mail_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		scheduleID, c.Time.UnixMilli(), title, string(sum), html, csvB, jsonB, strings.Join(recipients, ","), st.MailError)
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

func (s *Service) url(p string) string {
	if s.opt.BaseURL == "" {
		return ""
	}
	return strings.TrimSuffix(s.opt.BaseURL, "/") + p
}

// previous returns the failed findings of the last report of the same
// schedule (of any on-demand report for scheduleID 0).
func (s *Service) previous(ctx context.Context, scheduleID int64) ([]compliance.Finding, *time.Time, error) {
	var b []byte
	err := s.opt.DB.QueryRowContext(ctx, `SELECT json FROM report_reports WHERE schedule_id = ? ORDER BY id DESC LIMIT 1`, scheduleID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("previous report: %w", err)
	}
	var c Content
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, fmt.Errorf("previous report: %w", err)
	}
	return c.Findings, &c.Time, nil
}

func (s *Service) mail(ctx context.Context, c *Content, html, csvB, jsonB []byte, to []string) error {
	if !s.opt.SMTP.Enabled() {
		return errors.New("no mail server configured (--smtp-host)")
	}
	stamp := c.Time.UTC().Format("2006-01-02")
	var text strings.Builder
	fmt.Fprintf(&text, "%s — %s\n\n", c.Title, c.Time.UTC().Format("2006-01-02 15:04 UTC"))
	for _, sc := range c.Scores {
		fmt.Fprintf(&text, "%-40s %5.1f%%  (%d failed checks)\n", sc.Name, sc.Score, sc.Failed)
	}
	fmt.Fprintf(&text, "\nNew failed checks: %d, fixed: %d. Full lists in the attachments.\n", len(c.New), len(c.Fixed))
	if c.URL != "" {
		fmt.Fprintf(&text, "\n%s\n", c.URL)
	}
	worst := 100.0
	for _, sc := range c.Scores {
		worst = min(worst, sc.Score)
	}
	subject := fmt.Sprintf("[vigil] %s: %d new, %d fixed, lowest score %.1f%%", c.Title, len(c.New), len(c.Fixed), worst)
	return notify.SendMail(ctx, s.opt.SMTP, notify.Mail{To: to, Subject: subject, Text: text.String(), HTML: string(html),
		Attachments: []notify.Attachment{
			{Name: "compliance-" + stamp + ".csv", ContentType: "text/csv", Data: csvB},
			{Name: "compliance-" + stamp + ".json", ContentType: "application/json", Data: jsonB},
		}})
}

// Reports lists stored reports, newest first.
func (s *Service) Reports(ctx context.Context, limit int) ([]Stored, error) {
	rows, err := s.opt.DB.QueryContext(ctx, `SELECT id, schedule_id, time, title, summary, recipients, mail_error FROM report_reports ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list reports: %w", err)
	}
	defer rows.Close()
	out := []Stored{}
	for rows.Next() {
		var st Stored
		var ts int64
		var sum, rcpt string
		if err := rows.Scan(&st.ID, &st.ScheduleID, &ts, &st.Title, &sum, &rcpt, &st.MailError); err != nil {
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

// File returns one stored rendering: html, csv or json.
func (s *Service) File(ctx context.Context, id int64, format string) ([]byte, time.Time, error) {
	col := map[string]string{"html": "html", "csv": "csv", "json": "json"}[format]
	if col == "" {
		return nil, time.Time{}, fmt.Errorf("unknown format %q (html, csv, json)", format)
	}
	var b []byte
	var ts int64
	err := s.opt.DB.QueryRowContext(ctx, `SELECT `+col+`, time FROM report_reports WHERE id = ?`, id).Scan(&b, &ts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, time.Time{}, ErrNotFound
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read report: %w", err)
	}
	return b, time.UnixMilli(ts).UTC(), nil
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
		st, err := s.Generate(ctx, sc.ID, sc.Name, sc.Recipients)
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
