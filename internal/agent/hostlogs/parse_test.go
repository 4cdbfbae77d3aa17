package hostlogs

import (
	"fmt"
	"testing"
	"time"
	"unicode/utf8"
)

var testNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

func local(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.Local)
}

func TestParseLineTimestamps(t *testing.T) {
	plus2 := time.FixedZone("", 2*3600)
	minus530 := time.FixedZone("", -(5*3600 + 30*60))
	tests := []struct {
		line  string
		now   time.Time
		want  time.Time
		level string
	}{
		{line: "2026-03-14T10:20:30Z started", want: time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC)},
		{line: "2026-03-14T10:20:30.123456789+02:00 x", want: time.Date(2026, 3, 14, 10, 20, 30, 123456789, plus2)},
		{line: "2026-03-14T10:20:30.5-0530 x", want: time.Date(2026, 3, 14, 10, 20, 30, 500000000, minus530)},
		{line: "2026-03-14T10:20:30+02 x", want: time.Date(2026, 3, 14, 10, 20, 30, 0, plus2)},
		{line: "2026-03-14T10:20:30Z", want: time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC)},
		{line: "2026-03-14 10:20:30 plain", want: local(2026, 3, 14, 10, 20, 30, 0)},
		{line: "2026-03-14 10:20:30,123 - app.db - ERROR - boom", want: local(2026, 3, 14, 10, 20, 30, 123000000), level: LevelError},
		{line: "2026/03/14 10:20:30 [error] 12#0: *1 open() failed", want: local(2026, 3, 14, 10, 20, 30, 0), level: LevelError},
		{line: "[2026-03-14 10:20:30] WARN cache cold", want: local(2026, 3, 14, 10, 20, 30, 0), level: LevelWarn},
		{line: "Mar 14 10:20:30 web-01 sshd[123]: error: kex_exchange_identification", want: local(2026, 3, 14, 10, 20, 30, 0), level: LevelError},
		{line: "Mar  4 10:20:30 web-01 kernel: usb 1-1: new device", want: local(2026, 3, 4, 10, 20, 30, 0)},
		{line: "Mar 4 10:20:30.250 host app: x", want: local(2026, 3, 4, 10, 20, 30, 250000000)},
		{line: "Dec 31 23:59:59 host cron[1]: (root) CMD (true)", now: time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC), want: local(2025, 12, 31, 23, 59, 59, 0)},
		{line: "Feb 29 10:00:00 host leap", now: time.Date(2028, 3, 1, 0, 0, 0, 0, time.UTC), want: local(2028, 2, 29, 10, 0, 0, 0)},
		{line: "I0314 10:20:30.123456    1 main.go:10] started", want: local(2026, 3, 14, 10, 20, 30, 123456000), level: LevelInfo},
		{line: "E0314 10:20:30.000001    1 main.go:10] failed", want: local(2026, 3, 14, 10, 20, 30, 1000), level: LevelError},
		{line: `time=2026-03-14T10:20:30Z level=warn msg="disk low"`, want: time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC), level: LevelWarn},
		{line: `time="2026-03-14 10:20:30" level=info`, want: local(2026, 3, 14, 10, 20, 30, 0), level: LevelInfo},
		{line: `{"ts":"2026-03-14T10:20:30.5Z","level":"error","msg":"x"}`, want: time.Date(2026, 3, 14, 10, 20, 30, 500000000, time.UTC), level: LevelError},
		{line: `{"msg":"a:b","@timestamp": "2026-03-14T10:20:30Z", "severity":"WARNING"}`, want: time.Date(2026, 3, 14, 10, 20, 30, 0, time.UTC), level: LevelWarn},

		// Not timestamps, or not plausible ones: observed time is used.
		{line: "Feb 29 10:00:00 host not a leap year"},
		{line: "2026-13-14T10:20:30Z bad month"},
		{line: "2026-02-30 10:00:00 bad day"},
		{line: "2026-03-14T25:00:00Z bad hour"},
		{line: "2026-03-14T10:20:301 trailing digit"},
		{line: "1970-01-01T00:00:00Z epoch"},
		{line: "2099-01-01T00:00:00Z far future"},
		{line: "20260314 10:20:30 compact"},
		{line: "Mar 32 10:00:00 host x"},
		{line: "Foo 14 10:00:00 host x"},
		{line: `{"time":1710411630,"level":"debug"}`, level: LevelDebug},
		{line: "no timestamp here"},
		{line: ""},
	}
	for _, tt := range tests {
		now := tt.now
		if now.IsZero() {
			now = testNow
		}
		got, level := parseLine([]byte(tt.line), now)
		if !got.Equal(tt.want) || (!got.IsZero() && got.Location().String() != tt.want.Location().String() && tt.want.Location() != time.Local) {
			t.Errorf("%q: time %v, want %v", tt.line, got, tt.want)
		}
		if level != tt.level {
			t.Errorf("%q: level %q, want %q", tt.line, level, tt.level)
		}
	}
}

func TestParseLineLevels(t *testing.T) {
	tests := map[string]string{
		"level=error msg=x":             LevelError,
		"lvl=WARN msg=x":                LevelWarn,
		`{"level": "info", "msg": "x"}`: LevelInfo,
		"severity=debug":                LevelDebug,
		"loglevel=trace":                LevelTrace,
		`{"levelname":"CRITICAL"}`:      LevelFatal,
		"[ERROR] x":                     LevelError,
		"x [warn] y":                    LevelWarn,
		"[core:error] [pid 1] AH00001":  LevelError,
		"[Tue Jan 02 15:04:05.123 2026] [mpm_event:notice] [pid 9] AH00489": LevelInfo,
		"ERROR something broke":           LevelError,
		"WARN: disk":                      LevelWarn,
		"WARNING: disk":                   LevelWarn,
		"ERRO[0001] failed to pull":       LevelError,
		"INFO starting":                   LevelInfo,
		"INF starting":                    LevelInfo,
		"FATAL cannot continue":           LevelFatal,
		"CRITICAL x":                      LevelFatal,
		"TRACE x":                         LevelTrace,
		"DEBUG x":                         LevelDebug,
		"ERROR:root:message":              LevelError,
		"host app: Warning: low memory":   LevelWarn,
		"Error: file not found":           LevelError,
		"\xff\xfe level=error":            LevelError,
		"level=5 nothing":                 "",
		"an error occurred while reading": "",
		"Error handling request":          "",
		"GET /health 200 1ms":             "",
		"host kernel: [ 1.23] ACPI Error: AE_NOT_FOUND":        "",
		"the run finished and one more ERROR was logged later": "",
		"host systemd[1]: Started Session 5 of User root.":     "",
		"[pid 12] [client 10.0.0.1] x":                         "",
		"ERRORS: 0":                                            "",
		"E":                                                    "",
	}
	for line, want := range tests {
		if _, got := parseLine([]byte(line), testNow); got != want {
			t.Errorf("%q: level %q, want %q", line, got, want)
		}
	}
}

func TestRotationBase(t *testing.T) {
	// Rotated names share the base of their live file.
	same := map[string][]string{
		"/var/log/syslog":     {"/var/log/syslog.1", "/var/log/syslog.2.gz"},
		"/var/log/app.log":    {"/var/log/app.log.1", "/var/log/app.1.log", "/var/log/app-20261126.log"},
		"/var/log/messages":   {"/var/log/messages-20261126", "/var/log/messages-2026112613", "/var/log/messages-20261126-1764158400"},
		"/var/log/Xorg.0.log": {"/var/log/Xorg.0.log.old"},
	}
	for live, rotated := range same {
		for _, r := range rotated {
			if rotationBase(r) != rotationBase(live) {
				t.Errorf("%s → %q but %s → %q", r, rotationBase(r), live, rotationBase(live))
			}
		}
	}
	different := [][2]string{
		{"/var/log/app.log", "/var/log/other.log"},
		{"/var/log/app.log", "/var/log/app"},
		{"/var/log/app.log.1", "/srv/log/app.log"},
		{"/var/log/foo-bar.log", "/var/log/foo.log"},
		{"/var/log/x-1", "/var/log/x"},
	}
	for _, d := range different {
		if rotationBase(d[0]) == rotationBase(d[1]) {
			t.Errorf("%s and %s share base %q", d[0], d[1], rotationBase(d[0]))
		}
	}
	if got := rotationBase("/var/log/.1"); got != "/var/log/.1" {
		t.Errorf("rotationBase(.1) = %q", got)
	}
}

func TestEscapeGlobAndExclude(t *testing.T) {
	if got := escapeGlob("/var/log/a[1]*{x}?.log"); got != `/var/log/a\[1\]\*\{x\}\?.log` {
		t.Fatalf("escapeGlob = %s", got)
	}
	got := excludeGlobs([]string{"*.gz", "/var/log/journal/**"})
	if fmt.Sprint(got) != "[**/*.gz /var/log/journal/**]" {
		t.Fatalf("excludeGlobs = %v", got)
	}
}

var fuzzLayouts = []struct {
	layout string
	zoned  bool // the layout carries the zone, so the instant round-trips
	noYear bool
}{
	{layout: time.RFC3339Nano, zoned: true},
	{layout: time.RFC3339, zoned: true},
	{layout: "2006-01-02T15:04:05.000-0700", zoned: true},
	{layout: "2006-01-02 15:04:05"},
	{layout: "2006-01-02 15:04:05,000"},
	{layout: "2006/01/02 15:04:05"},
	{layout: time.Stamp, noYear: true},
	{layout: time.StampMicro, noYear: true},
}

// FuzzParseLine checks that no line makes the parser misbehave, and that
// every supported layout, followed by arbitrary text, reads back as the
// time it was formatted from.
func FuzzParseLine(f *testing.F) {
	f.Add([]byte("Mar 14 10:20:30 host sshd[1]: error: x"), int64(1773483630), uint8(6))
	f.Add([]byte(`{"ts":"2026-03-14T10:20:30.5Z","level":"error"}`), int64(1700000000), uint8(0))
	f.Fuzz(func(t *testing.T, line []byte, sec int64, layout uint8) {
		ts, level := parseLine(line, testNow)
		switch level {
		case "", LevelTrace, LevelDebug, LevelInfo, LevelWarn, LevelError, LevelFatal:
		default:
			t.Fatalf("level %q", level)
		}
		if !ts.IsZero() && !plausible(ts, testNow) {
			t.Fatalf("implausible time %v", ts)
		}
		if ts2, level2 := parseLine(line, testNow); !ts2.Equal(ts) || level2 != level {
			t.Fatal("not deterministic")
		}
		if !utf8.Valid(line) {
			return
		}

		l := fuzzLayouts[int(layout)%len(fuzzLayouts)]
		// Whole seconds between 1971 and testNow.
		span := testNow.Unix() - minPlausible.Unix()
		secs := sec % span
		if secs < 0 {
			secs += span
		}
		want := time.Unix(minPlausible.Unix()+secs, 0).In(time.Local)
		if l.noYear && want.Month() == time.February && want.Day() == 29 {
			return // unknowable year
		}
		text := want.Format(l.layout) + " " + string(line)
		got, _ := parseLine([]byte(text), testNow)
		switch {
		case l.zoned:
			if !got.Equal(want) {
				t.Fatalf("%q: got %v, want %v", text, got, want)
			}
		default:
			// Zone-less: compare the wall clock, which DST cannot shift.
			gy, gm, gd := got.Date()
			wy, wm, wd := want.Date()
			if l.noYear {
				gy, wy = 0, 0
			}
			if gy != wy || gm != wm || gd != wd || got.Hour() != want.Hour() || got.Minute() != want.Minute() || got.Second() != want.Second() {
				t.Fatalf("%q: got %v, want %v", text, got, want)
			}
		}
	})
}
