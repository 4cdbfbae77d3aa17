package report

import (
	"strings"
	"testing"
	"time"

	"vigil/internal/security/compliance"
)

func TestScheduleNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		sc   Schedule
		now  string
		want string
	}{
		{Schedule{Cadence: "daily", Hour: 6}, "2026-11-26T05:00:00Z", "2026-11-26T06:00:00Z"},
		{Schedule{Cadence: "daily", Hour: 6}, "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"},
		{Schedule{Cadence: "daily", Hour: 0}, "2026-12-31T23:59:00Z", "2027-01-01T00:00:00Z"},
		{Schedule{Cadence: "weekly", Hour: 8, Weekday: 1}, "2026-11-26T10:00:00Z", "2026-11-30T08:00:00Z"}, // Thursday → Monday
		{Schedule{Cadence: "weekly", Hour: 8, Weekday: 4}, "2026-11-26T07:00:00Z", "2026-11-26T08:00:00Z"},
		{Schedule{Cadence: "weekly", Hour: 8, Weekday: 4}, "2026-11-26T08:00:00Z", "2026-12-03T08:00:00Z"},
	}
	for _, c := range cases {
		if got := c.sc.Next(at(c.now)); !got.Equal(at(c.want)) {
			t.Errorf("%+v after %s = %s, want %s", c.sc, c.now, got, c.want)
		}
	}
}

func TestScheduleValidate(t *testing.T) {
	bad := []Schedule{
		{Name: "x", Cadence: "hourly", Recipients: []string{"a@b.c"}},
		{Name: "x", Cadence: "daily", Hour: 24, Recipients: []string{"a@b.c"}},
		{Name: "x", Cadence: "daily", Recipients: []string{"not an address"}},
		{Name: " ", Cadence: "daily", Recipients: []string{"a@b.c"}},
		{Name: "x", Cadence: "daily"},
	}
	for _, sc := range bad {
		if err := sc.Validate(); err == nil {
			t.Errorf("%+v accepted", sc)
		}
	}
	ok := Schedule{Name: "weekly security", Cadence: "weekly", Hour: 7, Weekday: 1, Recipients: []string{"Ops <ops@example.com>"}}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
}

func TestRenderings(t *testing.T) {
	f := compliance.Finding{ControlID: "VGL-K8S-001", Title: "Privileged", Severity: "critical", Status: "fail",
		Message: "=cmd|' /C calc'!A0 <script>", Kind: "Deployment", Namespace: "shop", Name: "web", Path: "spec.template.spec.containers[0].securityContext.privileged"}
	c := &Content{Title: "Weekly <b>", Time: time.Now(), Findings: []compliance.Finding{f}, New: []compliance.Finding{f}, Fixed: []compliance.Finding{},
		Failed: map[string]int{"critical": 1}, Scores: []compliance.FrameworkScore{{ID: "cis-k8s", Name: "CIS", Score: 50, BySeverity: map[string]int{"critical": 1}}}}
	h, err := HTML(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(h), "<script>") || strings.Contains(string(h), "Weekly <b>") {
		t.Error("HTML not escaped")
	}
	if !strings.Contains(string(h), "New since the previous report (1)") || !strings.Contains(string(h), "50.0%") {
		t.Errorf("HTML lacks the diff or the score:\n%s", h)
	}
	csvB, err := CSV(c)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csvB)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], ",'=cmd") || !strings.HasSuffix(lines[1], ",true") {
		t.Errorf("CSV:\n%s", csvB)
	}
}
