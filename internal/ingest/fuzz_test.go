package ingest

import (
	"testing"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// The seed corpora live in testdata/fuzz/<name>/ (valid protobuf and JSON
// requests, truncated and corrupted variants).

func FuzzOTLPLogs(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"}}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		req := plogotlp.NewExportRequest()
		enc := encProto
		if asJSON {
			enc = encJSON
		}
		if err := unmarshal(req, enc, body); err != nil {
			return
		}
		for _, r := range LogsToRecords(req.Logs()) {
			for _, fl := range r.Fields {
				if !utf8.ValidString(fl.Name) || !utf8.ValidString(fl.Value) {
					t.Fatalf("invalid UTF-8 survived in %q=%q", fl.Name, fl.Value)
				}
			}
		}
	})
}

func FuzzOTLPMetrics(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"x","gauge":{"dataPoints":[{"asDouble":1}]}}]}]}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		req := pmetricotlp.NewExportRequest()
		enc := encProto
		if asJSON {
			enc = encJSON
		}
		if err := unmarshal(req, enc, body); err != nil {
			return
		}
		series, _ := MetricsToSeries(req.Metrics())
		for _, s := range series {
			if s.Labels.Get("__name__") == "" {
				t.Fatalf("series without a name: %v", s.Labels)
			}
			s.Labels.Range(func(l labels.Label) {
				if !utf8.ValidString(l.Value) || !utf8.ValidString(l.Name) {
					t.Fatalf("invalid UTF-8 label %q=%q", l.Name, l.Value)
				}
			})
		}
	})
}

func FuzzParseJSONLine(f *testing.F) {
	f.Add(`{"level":"info","msg":"x","n":1.5,"a":{"b":{"c":{"d":1}}},"l":[1,{"x":2}]}`)
	f.Add(`{"pod":"x","_msg":"y"}`)
	f.Add(`{"a":"\ud800"}`)
	f.Fuzz(func(t *testing.T, line string) {
		fields, ok := ParseJSONLine(line)
		if !ok {
			return
		}
		if len(fields) > maxJSONFields {
			t.Fatalf("%d fields", len(fields))
		}
		for _, fl := range fields {
			if reservedFields[fl.Name] || !utf8.ValidString(fl.Name) || !utf8.ValidString(fl.Value) {
				t.Fatalf("bad field %q=%q", fl.Name, fl.Value)
			}
		}
	})
}

func FuzzRedact(f *testing.F) {
	f.Add("password=hunter2 card 4111 1111 1111 1111 Bearer abcdefghijkl")
	f.Add(`{"token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk"}`)
	f.Add("4111111111111111")
	f.Fuzz(func(t *testing.T, s string) {
		r := &Redactor{Builtin: true}
		out, changed := r.Redact(s)
		if changed == (out == s) {
			t.Fatalf("changed=%v but out==in is %v", changed, out == s)
		}
		// Masking is idempotent: what is left holds nothing more to mask.
		if again, ch := r.Redact(out); ch && again != out {
			t.Fatalf("second pass changed %q to %q", out, again)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from valid input")
		}
	})
}

func FuzzDetectLevel(f *testing.F) {
	f.Add("E1126 10:00:00.1 boom")
	f.Add("level=warning x")
	f.Add("[error] y")
	f.Fuzz(func(t *testing.T, s string) {
		switch l := DetectLevel(s); l {
		case "", "trace", "debug", "info", "warn", "error", "fatal":
		default:
			t.Fatalf("level %q", l)
		}
	})
}
