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
