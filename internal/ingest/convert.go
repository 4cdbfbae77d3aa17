package ingest

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"vigil/internal/store/logs"
	"vigil/internal/store/metrics"
)

// resourceFieldNames maps OpenTelemetry resource attributes to vigil's short log field names.
var resourceFieldNames = map[string]string{
	"k8s.namespace.name":          "namespace",
	"k8s.pod.name":                "pod",
	"k8s.pod.uid":                 "pod_uid",
	"k8s.container.name":          "container",
	"k8s.container.restart_count": "restart",
	"k8s.node.name":               "node",
	"k8s.workload.name":           "workload",
	"k8s.workload.kind":           "workload_kind",
	"cloud.availability_zone":     "zone",
	"service.name":                "service",
	"host.name":                   "host",
}

var recordFieldNames = map[string]string{
	"log.iostream":  "stream",
	"log.file.path": "file",
	"log.file.name": "file_name",
}

const podLabelPrefix = "k8s.pod.label."

func logFieldName(attr string, table map[string]string) string {
	if n, ok := table[attr]; ok {
		return n
	}
	if rest, ok := strings.CutPrefix(attr, podLabelPrefix); ok {
		return "label." + rest
	}
	return attr
}

// clean makes a value safe to store: invalid UTF-8 bytes become U+FFFD.
func clean(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func appendAttrs(dst []logs.Field, attrs pcommon.Map, table map[string]string) []logs.Field {
	attrs.Range(func(k string, v pcommon.Value) bool {
		dst = append(dst, logs.Field{Name: clean(logFieldName(k, table)), Value: clean(v.AsString())})
		return true
	})
	return dst
}

// LogsToRecords flattens OTLP logs into storable records.
func LogsToRecords(ld plog.Logs) []logs.Record {
	out := make([]logs.Record, 0, ld.LogRecordCount())
	now := time.Now()
	rls := ld.ResourceLogs()
	// All records' fields share one backing array (one allocation per batch
	// instead of one per line); each record's slice has room for the fields
	// the pipeline adds (level, zone) and reallocates only beyond that.
	const extra = 3 + 2
	total := 0
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		nres := rl.Resource().Attributes().Len()
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				total += nres + lrs.At(k).Attributes().Len() + extra
			}
		}
	}
	buf := make([]logs.Field, total)
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		resFields := appendAttrs(nil, rl.Resource().Attributes(), resourceFieldNames)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				n := len(resFields) + lr.Attributes().Len() + extra
				fields := buf[:0:n]
				buf = buf[n:]
				fields = append(fields, resFields...)
				fields = appendAttrs(fields, lr.Attributes(), recordFieldNames)
				fields = append(fields, logs.Field{Name: "_msg", Value: clean(lr.Body().AsString())})
				if lvl := level(lr); lvl != "" {
					fields = append(fields, logs.Field{Name: "level", Value: lvl})
				}
				if tid := lr.TraceID(); !tid.IsEmpty() {
					fields = append(fields, logs.Field{Name: "trace_id", Value: tid.String()})
				}
				if sid := lr.SpanID(); !sid.IsEmpty() {
					fields = append(fields, logs.Field{Name: "span_id", Value: sid.String()})
				}
				ts := lr.Timestamp()
				if ts == 0 {
					ts = lr.ObservedTimestamp()
				}
				t := now
				if ts != 0 {
					t = ts.AsTime()
				}
				out = append(out, logs.Record{Time: t, Fields: fields})
			}
		}
	}
	return out
}

func level(lr plog.LogRecord) string {
	if t := lr.SeverityText(); t != "" {
		return strings.ToLower(clean(t))
	}
	n := lr.SeverityNumber()
	switch {
	case n == plog.SeverityNumberUnspecified:
		return ""
	case n < plog.SeverityNumberDebug:
		return "trace"
	case n < plog.SeverityNumberInfo:
		return "debug"
	case n < plog.SeverityNumberWarn:
		return "info"
	case n < plog.SeverityNumberError:
		return "warn"
	case n < plog.SeverityNumberFatal:
		return "error"
	}
	return "fatal"
}

// metricLabelNames maps resource attributes to Prometheus label names.
var metricLabelNames = map[string]string{
	"k8s.node.name":       "node",
	"k8s.namespace.name":  "namespace",
	"k8s.pod.name":        "pod",
	"k8s.pod.uid":         "pod_uid",
	"k8s.container.name":  "container",
	"service.name":        "job",
	"service.instance.id": "instance",
}

// sanitize turns an OTel name into a valid Prometheus name.
func sanitize(name string) string {
	var b strings.Builder
	for i, r := range name {
		ok := r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

func attrLabels(b *labels.Builder, attrs pcommon.Map, table map[string]string) {
	attrs.Range(func(k string, v pcommon.Value) bool {
		name, ok := table[k]
		if !ok {
			name = sanitize(k)
		}
		if val := clean(v.AsString()); val != "" {
			b.Set(name, val)
		}
		return true
	})
}

// MetricsToSeries converts OTLP metrics to Prometheus series. Delta sums and
// exponential histograms have no lossless Prometheus form here and are counted as dropped.
func MetricsToSeries(md pmetric.Metrics) (out []metrics.Series, dropped int) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		base := labels.NewBuilder(labels.EmptyLabels())
		attrLabels(base, rm.Resource().Attributes(), metricLabelNames)
		resLabels := base.Labels()
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				name := sanitize(m.Name())
				var d int
				out, d = appendMetric(out, resLabels, name, m)
				dropped += d
			}
		}
	}
	return out, dropped
}

func series(res labels.Labels, name string, attrs pcommon.Map, extra ...string) labels.Labels {
	b := labels.NewBuilder(res)
	attrLabels(b, attrs, nil)
	for i := 0; i+1 < len(extra); i += 2 {
		b.Set(extra[i], extra[i+1])
	}
	b.Set(labels.MetricName, name)
	return b.Labels()
}

func one(l labels.Labels, ts pcommon.Timestamp, v float64) metrics.Series {
	return metrics.Series{Labels: l, Samples: []metrics.Sample{{T: ts.AsTime().UnixMilli(), V: v}}}
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func appendMetric(out []metrics.Series, res labels.Labels, name string, m pmetric.Metric) ([]metrics.Series, int) {
	dropped := 0
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			out = append(out, one(series(res, name, dp.Attributes()), dp.Timestamp(), numberValue(dp)))
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		if m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
			return out, dps.Len()
		}
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			out = append(out, one(series(res, name, dp.Attributes()), dp.Timestamp(), numberValue(dp)))
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		if m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
			return out, dps.Len()
		}
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			var cum uint64
			bounds, counts := dp.ExplicitBounds(), dp.BucketCounts()
			for b := 0; b < counts.Len(); b++ {
				cum += counts.At(b)
				le := math.Inf(1)
				if b < bounds.Len() {
					le = bounds.At(b)
				}
				out = append(out, one(series(res, name+"_bucket", dp.Attributes(), "le", formatFloat(le)), dp.Timestamp(), float64(cum)))
			}
			out = append(out, one(series(res, name+"_count", dp.Attributes()), dp.Timestamp(), float64(dp.Count())))
			if dp.HasSum() {
				out = append(out, one(series(res, name+"_sum", dp.Attributes()), dp.Timestamp(), dp.Sum()))
			}
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			dp := dps.At(i)
			qs := dp.QuantileValues()
			for q := 0; q < qs.Len(); q++ {
				out = append(out, one(series(res, name, dp.Attributes(), "quantile", formatFloat(qs.At(q).Quantile())), dp.Timestamp(), qs.At(q).Value()))
			}
			out = append(out, one(series(res, name+"_count", dp.Attributes()), dp.Timestamp(), float64(dp.Count())))
			out = append(out, one(series(res, name+"_sum", dp.Attributes()), dp.Timestamp(), dp.Sum()))
		}
	case pmetric.MetricTypeExponentialHistogram:
		dropped += m.ExponentialHistogram().DataPoints().Len()
	}
	return out, dropped
}
