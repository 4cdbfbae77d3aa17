package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	"vigil/internal/store/logs"
)

func rec(ns, pod, container, msg string) logs.Record {
	return logs.Record{Time: time.Now(), Fields: []logs.Field{
		{Name: "namespace", Value: ns}, {Name: "pod", Value: pod}, {Name: "container", Value: container},
		{Name: "node", Value: "n1"}, {Name: "_msg", Value: msg},
	}}
}

func get(r logs.Record, name string) string {
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestRedact(t *testing.T) {
	r := &Redactor{Builtin: true}
	cases := map[string]string{
		`login ok user=bob password=hunter2 next`:                 "hunter2",
		`{"user":"bob","password":"s3cr3t!x","ok":true}`:          "s3cr3t!x",
		`Authorization: Bearer abcdefghijklmnop1234`:              "abcdefghijklmnop1234",
		`paid with card 4111 1111 1111 1111 amount=10`:            "4111 1111 1111 1111",
		`card=4111-1111-1111-1111`:                                "4111-1111-1111-1111",
		`token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk`: "eyJhbGciOiJIUzI1NiJ9",
		`aws key AKIAABCDEFGHIJKLMNOP used`:                       "AKIAABCDEFGHIJKLMNOP",
		`dial postgres://app:pa55word@db:5432/x`:                  "pa55word",
		`API_KEY=sk_live_12345678`:                                "sk_live_12345678",
		`client_secret: "abc123def"`:                              "abc123def",
	}
	cases[`amex 3782 822463 10005 ok`] = "3782 822463 10005"
	cases[`Authorization: BEARER abcdefghijklmnop`] = "abcdefghijklmnop"
	cases[`Authorization: Basic dXNlcjpwYXNzd29yZA==`] = "dXNlcjpwYXNzd29yZA"
	cases[`from ASIAABCDEFGHIJKLMNOP`] = "ASIAABCDEFGHIJKLMNOP"
	for in, secret := range cases {
		out, changed := r.Redact(in)
		if !changed || strings.Contains(out, secret) || !strings.Contains(out, Mask) && !strings.Contains(out, "****") {
			t.Errorf("Redact(%q) = %q", in, out)
		}
	}
	// Not secrets: kept verbatim.
	for _, in := range []string{
		`GET /item/1234567890123 200`, // 13 digits failing Luhn
		`took 12ms at 2026-11-26T10:00:00Z`,
		`order 1234567812345678 shipped`, // fails Luhn
		`keyboard layout us`,
		`261126 154012 6 INFO dfs.DataNode: Receiving block`, // HDFS date, time, thread: passes Luhn, not a card
		`ids 4111 11111 1111 111`,                            // not a card's grouping
	} {
		if out, changed := r.Redact(in); changed {
			t.Errorf("Redact(%q) changed it to %q", in, out)
		}
	}
	if out, _ := r.Redact("card 4111111111111111."); out != "card ************1111." {
		t.Errorf("card mask = %q", out)
	}
}

func TestDetectLevel(t *testing.T) {
	cases := map[string]string{
		`2026-11-26 10:00:00 ERROR failed to connect`:         "error",
		`[WARN] disk almost full`:                             "warn",
		`time=x level=warning msg="slow"`:                     "warn",
		`E1126 10:00:00.123456 1 controller.go:1] boom`:       "error",
		`I1126 10:00:00.123456 1 controller.go:1] ok`:         "info",
		`2026/11/26 10:00:00 [error] 7#7: upstream timed out`: "error",
		"Traceback (most recent call last):\n  File \"x\"":    "error",
		`plain access line GET / 200`:                         "",
		`the error budget is fine`:                            "",
	}
	for in, want := range cases {
		if got := DetectLevel(in); got != want {
			t.Errorf("DetectLevel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseJSONLine(t *testing.T) {
	f, ok := ParseJSONLine(`{"level":"WARN","msg":"slow query","db":{"name":"orders","ms":812},"tags":["a","b"],"pod":"x","ok":true}`)
	if !ok {
		t.Fatal("not parsed")
	}
	want := map[string]string{"level": "WARN", "msg": "slow query", "db.name": "orders", "db.ms": "812", "tags": `["a","b"]`, "json.pod": "x", "ok": "true"}
	got := map[string]string{}
	for _, x := range f {
		got[x.Name] = x.Value
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (all %v)", k, got[k], v, got)
		}
	}
	for _, in := range []string{`{"a":1} trailing`, `{"a":`, `[1,2]`, `plain`, `{"a":1}{"b":2}`} {
		if _, ok := ParseJSONLine(in); ok {
			t.Errorf("ParseJSONLine(%q) accepted", in)
		}
	}
}

func TestPipelineProcess(t *testing.T) {
	p := NewPipeline()
	p.Zone = func(n string) string { return map[string]string{"n1": "eu-1a"}[n] }
	if err := p.SetRules(Rules{Exclude: []string{"kube-*"}, Redact: []RedactRule{{Namespace: "shop", Pattern: `order-[0-9]+`}}}); err != nil {
		t.Fatal(err)
	}
	in := []logs.Record{
		rec("shop", "web-1", "app", `{"level":"error","msg":"payment failed","password":"topsecret"}`),
		rec("kube-system", "dns", "coredns", "dropped"),
		rec("shop", "web-1", "app", "WARN order-42 slow"),
		rec("other", "x", "y", "order-42 kept"),
	}
	out := p.Process(in, time.Now())
	if len(out) != 3 {
		t.Fatalf("%d records, want 3", len(out))
	}
	if get(out[0], "level") != "error" || get(out[0], "msg") != "payment failed" || get(out[0], "password") != Mask ||
		strings.Contains(get(out[0], "_msg"), "topsecret") || get(out[0], "zone") != "eu-1a" {
		t.Errorf("json record: %v", out[0].Fields)
	}
	if get(out[1], "level") != "warn" || get(out[1], "_msg") != "WARN "+Mask+" slow" {
		t.Errorf("text record: %v", out[1].Fields)
	}
	if get(out[2], "_msg") != "order-42 kept" {
		t.Errorf("namespace-scoped rule applied elsewhere: %v", out[2].Fields)
	}
	if p.Excluded.Load() != 1 || p.Redacted.Load() != 2 {
		t.Errorf("excluded %d redacted %d", p.Excluded.Load(), p.Redacted.Load())
	}
	for _, bad := range []Rules{{Redact: []RedactRule{{Pattern: "("}}}, {Redact: []RedactRule{{Pattern: "x*"}}}, {Exclude: []string{"["}}, {RateLimit: -1}} {
		if err := p.SetRules(bad); err == nil {
			t.Errorf("rules %+v accepted", bad)
		}
	}
}

func TestRateLimitReports(t *testing.T) {
	p := NewPipeline()
	if err := p.SetRules(Rules{RateLimit: 10, NamespaceRateLimits: map[string]int{"free": 0}}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var batch []logs.Record
	for i := 0; i < 100; i++ {
		batch = append(batch, rec("shop", "noisy", "app", "line"), rec("free", "p", "c", "line"))
	}
	out := p.Process(batch, now)
	if len(out) != 110 || p.RateDropped.Load() != 90 {
		t.Fatalf("kept %d dropped %d, want 110 and 90", len(out), p.RateDropped.Load())
	}
	// One second later the bucket has refilled by the limit.
	out = p.Process([]logs.Record{rec("shop", "noisy", "app", "a")}, now.Add(time.Second))
	if len(out) != 1 {
		t.Fatalf("refill: kept %d", len(out))
	}
	st := &memStore{}
	p.report(t.Context(), st, nil, 10*time.Second, now.Add(2*time.Second))
	if len(st.recs) != 1 || get(st.recs[0], "vigil.dropped_lines") != "90" || get(st.recs[0], "pod") != "noisy" ||
		!strings.Contains(get(st.recs[0], "_msg"), "dropped 90 lines") {
		t.Fatalf("report rows: %+v", st.recs)
	}
	p.report(t.Context(), st, nil, 10*time.Second, now.Add(3*time.Second))
	if len(st.recs) != 1 {
		t.Errorf("a second report without new drops: %d rows", len(st.recs))
	}
}

// memStore keeps written records; only Write is used by the pipeline.
type memStore struct {
	logs.Store
	recs []logs.Record
}

func (m *memStore) Write(_ context.Context, r []logs.Record) error {
	m.recs = append(m.recs, r...)
	return nil
}
