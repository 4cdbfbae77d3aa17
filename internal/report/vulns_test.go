package report

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"vigil/internal/notify"
	"vigil/internal/security/compliance/posture"
	"vigil/internal/security/vuln"
	"vigil/internal/store/state"
	"vigil/test/smtptest"
)

// fakeVulns serves a ClusterScan a test changes between reports.
type fakeVulns struct{ scan *vuln.ClusterScan }

func (f *fakeVulns) ClusterScan(context.Context) (*vuln.ClusterScan, error) {
	if f.scan == nil {
		return nil, errors.New("scanner down")
	}
	cp := *f.scan
	return &cp, nil
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	st, err := state.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.DB()
}

func img(image, repo, digest string, scanned bool, containers int) vuln.ClusterImage {
	st := "done"
	if !scanned {
		st = "pending"
	}
	return vuln.ClusterImage{Image: image, Repository: repo, Digest: digest, Status: st, Scanned: scanned, Containers: containers}
}

func vf(im vuln.ClusterImage, pkg, ver, fixed, id, sev string, score float64) vuln.ClusterFinding {
	return vuln.ClusterFinding{Image: im.Image, Repository: im.Repository, Digest: im.Digest, Package: pkg, Version: ver, Fixed: fixed,
		ID: id, Severity: sev, Score: score, Containers: im.Containers, Summary: "summary of " + id}
}

func ids(fs []vuln.ClusterFinding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID+"@"+f.Image)
	}
	slices.Sort(out)
	return out
}

// A vulnerabilities report lists the running images' findings with counts,
// top images and fixable advisories, and the next one says what is new, what
// was fixed, and what cannot be told yet because an image awaits its scan.
func TestVulnerabilityReportsDiffAndMail(t *testing.T) {
	ctx := context.Background()
	mail := smtptest.Start(t)
	src := &fakeVulns{}
	svc, err := Open(ctx, Options{DB: openDB(t), Vulns: src, SMTP: notify.SMTPConfig{Host: mail.Host, Port: mail.Port, TLS: "none", From: "vigil@example.com"},
		BaseURL: "http://vigil.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	shop := img("reg.example/shop/app:1", "reg.example/shop/app", "sha256:a1", true, 3)
	base := img("reg.example/base/alpine:3.20", "reg.example/base/alpine", "sha256:b1", true, 5)
	tools := img("reg.example/tools:1", "reg.example/tools", "sha256:c1", true, 1)
	db := vuln.DBInfo{Records: 4789, Updated: time.Now().Add(-time.Hour)}
	src.scan = &vuln.ClusterScan{Time: time.Now(), DB: db, Images: []vuln.ClusterImage{shop, base, tools}, Findings: []vuln.ClusterFinding{
		vf(shop, "openssl", "3.0.11-1", "3.0.15-1", "DEBIAN-1", "critical", 9.8),
		vf(shop, "golang.org/x/net", "v0.1.0", "0.53.0", "GO-2026-4918", "high", 7.5),
		vf(base, "busybox", "1.36.1-r28", "1.36.1-r29", "ALPINE-1", "high", 0),
		vf(base, "musl", "1.2.5-r0", "", "ALPINE-2", "medium", 0),
		vf(tools, "golang.org/x/text", "v0.3.0", "", "GO-2099-0001", "unknown", 0),
	}}
	first, err := svc.Generate(ctx, 0, KindVulns, "Weekly vulnerabilities", []string{"secops@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if first.MailError != "" || first.Kind != KindVulns || first.Summary.Vulns == nil || first.Summary.Vulns.New != 5 || first.Summary.Vulns.Counts["critical"] != 1 ||
		first.Summary.Vulns.Counts["unknown"] != 1 || first.Summary.Vulns.Fixable != 3 {
		t.Fatalf("first report %+v %+v", first, first.Summary.Vulns)
	}
	m := mail.Wait(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Weekly vulnerabilities") })
	if m.Subject != "[vigil] Weekly vulnerabilities: 1 critical, 2 high vulnerabilities (5 new, 0 fixed)" {
		t.Errorf("subject %q", m.Subject)
	}
	var names []string
	for _, p := range m.Parts {
		if p.Filename != "" {
			names = append(names, p.Filename)
		}
	}
	stamp := first.Time.Format("2006-01-02")
	if !slices.Equal(names, []string{"vulnerabilities-" + stamp + ".csv", "vulnerabilities-" + stamp + ".json"}) {
		t.Errorf("attachments %v", names)
	}
	for _, want := range []string{"Vulnerabilities", "Most vulnerable images", "reg.example/shop/app:1", "Top vulnerabilities with a fix", "DEBIAN-1", "unrated", "New vulnerabilities since the previous report (5)"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(m.HTML, "objects checked") {
		t.Error("a vulnerabilities report shows the compliance section")
	}

	// Next week: the shop image was rebuilt (new digest) with openssl fixed,
	// the base image has a new finding, the tools image awaits its scan.
	shop2 := img("reg.example/shop/app:2", "reg.example/shop/app", "sha256:a2", true, 3)
	tools2 := img("reg.example/tools:2", "reg.example/tools", "sha256:c2", false, 1)
	src.scan = &vuln.ClusterScan{Time: time.Now(), DB: db, Images: []vuln.ClusterImage{shop2, base, tools2}, Findings: []vuln.ClusterFinding{
		vf(shop2, "golang.org/x/net", "v0.2.0", "0.53.0", "GO-2026-4918", "high", 7.5),
		vf(base, "busybox", "1.36.1-r28", "1.36.1-r29", "ALPINE-1", "high", 0),
		vf(base, "musl", "1.2.5-r0", "", "ALPINE-2", "medium", 0),
		vf(base, "libcrypto3", "3.3.1-r3", "3.3.2-r0", "ALPINE-3", "critical", 9.1),
	}}
	second, err := svc.Generate(ctx, 0, KindVulns, "Weekly vulnerabilities", nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.Summary.Vulns.New != 1 || second.Summary.Vulns.Fixed != 1 {
		t.Errorf("second summary %+v", second.Summary.Vulns)
	}
	b, kind, _, err := svc.File(ctx, second.ID, "json")
	if err != nil || kind != KindVulns {
		t.Fatal(err, kind)
	}
	var c Content
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	v := c.Vulns
	if v == nil || v.Previous == nil {
		t.Fatalf("JSON lacks the section or the previous report: %s", b)
	}
	if got := ids(v.New); !slices.Equal(got, []string{"ALPINE-3@reg.example/base/alpine:3.20"}) {
		t.Errorf("new %v", got)
	}
	if got := ids(v.Fixed); !slices.Equal(got, []string{"DEBIAN-1@reg.example/shop/app:1"}) {
		t.Errorf("fixed %v", got)
	}
	if v.Unverified != 1 || len(v.NotScanned) != 1 || len(v.Warnings) != 1 {
		t.Errorf("unverified %d, not scanned %v, warnings %v", v.Unverified, v.NotScanned, v.Warnings)
	}
	if len(v.TopImages) == 0 || v.TopImages[0].Image != "reg.example/base/alpine:3.20" || len(v.TopFixable) == 0 || v.TopFixable[0].ID != "ALPINE-3" {
		t.Errorf("top images %+v, top fixable %+v", v.TopImages, v.TopFixable)
	}

	// Both CSV downloads of a vulnerabilities report are the findings.
	for _, f := range []string{"csv", "vulns-csv"} {
		b, _, _, err := svc.File(ctx, second.ID, f)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil || len(rows) != 5 || rows[0][0] != "severity" || rows[0][1] != "id" || rows[1][1] != "ALPINE-3" || rows[1][len(rows[1])-1] != "true" {
			t.Errorf("%s: %v %q", f, err, rows)
		}
	}

	// The API serves the second CSV by name; a report without the section has none.
	mux := http.NewServeMux()
	svc.Register(mux, func(h http.Handler) http.Handler { return h })
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	rec := get("/api/compliance/reports/2/vulnerabilities.csv")
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "severity,id,image") ||
		!strings.Contains(rec.Header().Get("Content-Disposition"), `filename="vulnerabilities-`) {
		t.Errorf("download: %d %q %s", rec.Code, rec.Header().Get("Content-Disposition"), rec.Body.String())
	}
	// Without a compliance service, a report with that section fails, and no row is stored.
	if _, err := svc.Generate(ctx, 0, KindBoth, "both", nil); err == nil || !strings.Contains(err.Error(), "compliance is not running") {
		t.Errorf("both without compliance: %v", err)
	}
	if rs, err := svc.Reports(ctx, 10); err != nil || len(rs) != 2 || rs[0].Summary.Vulns == nil || rs[0].Kind != KindVulns {
		t.Errorf("reports %v %+v", err, rs)
	}
}

// With an empty database nothing was checked: earlier findings are not "fixed".
func TestDiffVulnsEmptyDatabase(t *testing.T) {
	a := img("r/a:1", "r/a", "sha256:1", true, 1)
	prev := []vuln.ClusterFinding{vf(a, "p", "1", "2", "X-1", "high", 0), vf(a, "p", "1", "2", "X-2", "low", 0)}
	added, fixed, unverified := DiffVulns(prev, nil, []vuln.ClusterImage{a}, false)
	if len(added) != 0 || len(fixed) != 0 || unverified != 2 {
		t.Errorf("empty database: added %v fixed %v unverified %d", added, fixed, unverified)
	}
	// An image no longer running: its findings are fixed.
	added, fixed, unverified = DiffVulns(prev, nil, nil, true)
	if len(fixed) != 2 || unverified != 0 || len(added) != 0 || fixed[0].ID != "X-1" {
		t.Errorf("removed image: added %v fixed %v unverified %d", added, fixed, unverified)
	}
}

// Tables and rows written before reports had kinds and vulnerability
// sections still load, download and serve as the previous report.
func TestOldReportsStillLoad(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	const oldSchema = `
CREATE TABLE report_schedules (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, cadence TEXT NOT NULL, hour INTEGER NOT NULL,
	weekday INTEGER NOT NULL, recipients TEXT NOT NULL, next_run INTEGER NOT NULL, last_run INTEGER NOT NULL DEFAULT 0);
CREATE TABLE report_reports (id INTEGER PRIMARY KEY AUTOINCREMENT, schedule_id INTEGER NOT NULL DEFAULT 0, time INTEGER NOT NULL,
	title TEXT NOT NULL, summary TEXT NOT NULL, html BLOB NOT NULL, csv BLOB NOT NULL, json BLOB NOT NULL,
	recipients TEXT NOT NULL DEFAULT '', mail_error TEXT NOT NULL DEFAULT '');`
	if _, err := db.ExecContext(ctx, oldSchema); err != nil {
		t.Fatal(err)
	}
	oldJSON := `{"title":"Weekly","time":"2026-11-01T07:00:00Z","scores":[],"failedBySeverity":{"high":1},"objects":3,
		"new":[],"fixed":[],"findings":[{"control":"VGL-K8S-001","severity":"high","status":"fail","kind":"Deployment","namespace":"shop","name":"web","message":"m"}],"excepted":0,"topControls":[]}`
	if _, err := db.ExecContext(ctx, `INSERT INTO report_reports (schedule_id, time, title, summary, html, csv, json) VALUES (7, ?, 'Weekly', ?, '<p>old</p>', 'severity', ?)`,
		time.Date(2026, 11, 1, 7, 0, 0, 0, time.UTC).UnixMilli(), `{"scores":[],"failedBySeverity":{"high":1},"new":1,"fixed":0}`, oldJSON); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO report_schedules (name, cadence, hour, weekday, recipients, next_run) VALUES ('Weekly', 'weekly', 7, 1, 'a@example.com', 0)`); err != nil {
		t.Fatal(err)
	}
	svc, err := Open(ctx, Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, Options{DB: db}); err != nil {
		t.Fatalf("second open (columns present): %v", err)
	}
	rs, err := svc.Reports(ctx, 10)
	if err != nil || len(rs) != 1 || rs[0].Kind != KindCompliance || rs[0].Summary.New != 1 || rs[0].Summary.Vulns != nil {
		t.Fatalf("old report: %v %+v", err, rs)
	}
	if b, _, _, err := svc.File(ctx, rs[0].ID, "html"); err != nil || string(b) != "<p>old</p>" {
		t.Errorf("old HTML: %v %q", err, b)
	}
	if _, _, _, err := svc.File(ctx, rs[0].ID, "vulns-csv"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old report's vulnerability CSV: %v", err)
	}
	prev, err := svc.previous(ctx, 7, KindCompliance)
	if err != nil || prev == nil || len(prev.Findings) != 1 || prev.Vulns != nil {
		t.Errorf("old report as the previous compliance report: %v %+v", err, prev)
	}
	if prev, err := svc.previous(ctx, 7, KindVulns); err != nil || prev != nil {
		t.Errorf("old report as a previous vulnerability report: %v %+v", err, prev)
	}
	scs, err := svc.Schedules(ctx)
	if err != nil || len(scs) != 1 || scs[0].Kind != KindBoth {
		t.Errorf("old schedule: %v %+v", err, scs)
	}
	// The old page renders as a compliance report too.
	var c Content
	if err := json.Unmarshal([]byte(oldJSON), &c); err != nil {
		t.Fatal(err)
	}
	h, err := HTML(&c)
	if err != nil || !strings.Contains(string(h), "objects checked") || strings.Contains(string(h), "Most vulnerable images") {
		t.Errorf("old content renders: %v", err)
	}
}

func TestScheduleKind(t *testing.T) {
	sc := Schedule{Name: "x", Cadence: "daily", Recipients: []string{"a@b.c"}}
	if err := sc.Validate(); err != nil || sc.Kind != KindBoth {
		t.Errorf("default kind: %v %q", err, sc.Kind)
	}
	sc.Kind = "cves"
	if err := sc.Validate(); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("unknown kind accepted: %v", err)
	}
}

// The default kind has both sections: one mail, both CSVs, one JSON.
func TestBothSections(t *testing.T) {
	ctx := context.Background()
	mail := smtptest.Start(t)
	db := openDB(t)
	comp, err := posture.Open(ctx, posture.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	a := img("r/a:1", "r/a", "sha256:1", true, 2)
	src := &fakeVulns{scan: &vuln.ClusterScan{Time: time.Now(), DB: vuln.DBInfo{Records: 10}, Images: []vuln.ClusterImage{a},
		Findings: []vuln.ClusterFinding{vf(a, "p", "1", "2", "X-1", "critical", 9.8)}}}
	svc, err := Open(ctx, Options{DB: db, Compliance: comp, Vulns: src, SMTP: notify.SMTPConfig{Host: mail.Host, Port: mail.Port, TLS: "none", From: "vigil@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := svc.AddSchedule(ctx, Schedule{Name: "Daily security", Cadence: "daily", Hour: 6, Recipients: []string{"ops@example.com"}})
	if err != nil || sc.Kind != KindBoth {
		t.Fatalf("schedule %v %+v", err, sc)
	}
	st, err := svc.RunSchedule(ctx, sc.ID)
	if err != nil || st.Kind != KindBoth || st.Summary.Vulns == nil || st.Summary.Vulns.Counts["critical"] != 1 {
		t.Fatalf("run: %v %+v", err, st)
	}
	m := mail.Wait(t, 10*time.Second, func(m smtptest.Message) bool { return strings.Contains(m.Subject, "Daily security") })
	if !strings.Contains(m.Subject, "lowest score") || !strings.HasSuffix(m.Subject, "; vulnerabilities: 1 critical, 0 high (1 new, 0 fixed)") {
		t.Errorf("subject %q", m.Subject)
	}
	var names []string
	for _, p := range m.Parts {
		if p.Filename != "" {
			names = append(names, strings.SplitN(p.Filename, "-", 2)[0]+p.Filename[strings.LastIndex(p.Filename, "."):])
		}
	}
	if !slices.Equal(names, []string{"compliance.csv", "vulnerabilities.csv", "security.json"}) {
		t.Errorf("attachments %v", names)
	}
	if !strings.Contains(m.HTML, ">Compliance</h2>") || !strings.Contains(m.HTML, ">Vulnerabilities</h2>") || !strings.Contains(m.Text, "1 critical") {
		t.Errorf("sections missing:\n%s", m.Text)
	}
	if b, _, _, err := svc.File(ctx, st.ID, "csv"); err != nil || !strings.HasPrefix(string(b), "severity,control,") {
		t.Errorf("compliance CSV of a report with both: %v %.80s", err, b)
	}
}
