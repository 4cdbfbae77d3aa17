package monitor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const rulesFile = `groups:
- name: node
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum(up)
  - alert: HighCPU
    expr: sum by (node) (rate(node_cpu_seconds_total{mode!="idle"}[5m])) > 0.9
    for: 10m
    labels: {severity: warning, team: infra}
    annotations: {summary: CPU is high}
  - alert: LowDisk
    expr: (10 >= node_filesystem_avail_bytes / node_filesystem_size_bytes * 100)
    keep_firing_for: 5m
  - alert: TargetDown
    expr: up == 0
  - alert: Absent
    expr: absent(up{job="api"})
`

func TestImportPrometheusRules(t *testing.T) {
	ms, err := ImportPrometheusRules([]byte(rulesFile))
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*Monitor{}
	for _, m := range ms {
		by[m.Name] = m
		if err := (&Engine{}).Validate(m); err != nil {
			t.Errorf("%s: imported monitor invalid: %v", m.Name, err)
		}
	}
	if len(ms) != 4 {
		t.Fatalf("%d monitors, want 4 (recording rules skipped)", len(ms))
	}
	cpu := by["HighCPU"]
	if cpu.ID != "node-highcpu" || cpu.Op != "above" || cpu.Warning == nil || *cpu.Warning != 0.9 || cpu.Critical != nil ||
		cpu.For.D() != 10*time.Minute || cpu.Interval.D() != 30*time.Second || cpu.Labels["team"] != "infra" ||
		!strings.HasPrefix(cpu.Query, "sum by (node) (rate(") || cpu.Notify.Subject != "[{{upper .Severity}}] CPU is high" {
		t.Errorf("HighCPU: %+v", cpu)
	}
	disk := by["LowDisk"]
	if disk.Op != "below" || disk.Critical == nil || *disk.Critical != 10 || disk.ResolveFor.D() != 5*time.Minute {
		t.Errorf("LowDisk (number on the left): %+v", disk)
	}
	if by["TargetDown"].Op != "above" || by["TargetDown"].Query == "up" {
		// `up == 0` is not an order comparison: it alerts on presence.
		t.Errorf("TargetDown: %+v", by["TargetDown"])
	}
	if !strings.Contains(by["Absent"].Query, "absent(") {
		t.Errorf("Absent: %+v", by["Absent"])
	}
	for _, bad := range []string{"", "groups: []", "groups: [{name: x, rules: [{alert: A, expr: 'up{'}]}]", "nope: 1", "\xff"} {
		if _, err := ImportPrometheusRules([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseFileAndLoadDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(`
monitors:
- name: API errors
  kind: log
  query: 'level:error service:=api'
  critical: 10
  window: 5m
  notify: {email: [ops@example.com], renotify: 1h}
- id: disk
  name: Disk full soon
  kind: forecast
  query: node_filesystem_used_percent
  critical: 95
  horizon: 7d
`), 0o644)
	os.WriteFile(filepath.Join(dir, "b.yml"), []byte("name: Up\nquery: up\nop: below\ncritical: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	ms, err := LoadDir(dir)
	if err != nil || len(ms) != 3 {
		t.Fatalf("%d monitors, %v", len(ms), err)
	}
	if ms[0].Source != "file:a.yaml" || ms[1].Horizon.D() != 7*24*time.Hour || ms[0].Notify.Renotify.D() != time.Hour || ms[2].Op != "below" {
		t.Fatalf("%+v %+v %+v", ms[0], ms[1], ms[2])
	}
	for _, bad := range []string{"name: x\nunknown_field: 1\n", "- 1\n- 2\n", "monitors: [null]", "interval: forever\nname: x"} {
		if _, err := ParseFile([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte("name: [unclosed"), 0o644)
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "c.yaml") {
		t.Fatalf("bad file not reported: %v", err)
	}
}

func FuzzImportPrometheusRules(f *testing.F) {
	f.Add([]byte(rulesFile))
	f.Add([]byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 1 < up\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, _ := ImportPrometheusRules(data)
		for _, m := range ms {
			if m.Query == "" || (m.Warning == nil && m.Critical == nil) {
				t.Fatalf("incomplete monitor %+v", m)
			}
			if _, err := promqlParse(m.Query); err != nil {
				t.Fatalf("imported query %q does not parse: %v", m.Query, err)
			}
		}
	})
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("name: Up\nquery: up\nop: below\ncritical: 1\n"))
	f.Add([]byte("monitors:\n- name: x\n  kind: anomaly\n  query: rate(x[5m])\n  sensitivity: high\n"))
	f.Add([]byte(`[{"name":"a","query":"up","critical":1,"interval":"30s"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseFile(data)
		if err != nil {
			return
		}
		for _, m := range ms {
			_ = (&Engine{}).Validate(m) // must not panic
		}
	})
}
