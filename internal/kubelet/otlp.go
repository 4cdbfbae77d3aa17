package kubelet

import (
	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/store/metrics"
)

// ToOTLP packs series into OTLP gauges, one metric per name and every label
// as a data-point attribute, so the agent can ship them through its OTLP
// buffer and the server's OTLP receiver turns them back into the very same
// series (names and labels unchanged, staleness markers bit for bit).
func ToOTLP(series []metrics.Series, scope string) pmetric.Metrics {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	gauges := map[string]pmetric.Gauge{}
	for _, s := range series {
		name := s.Labels.Get(labels.MetricName)
		g, ok := gauges[name]
		if !ok {
			m := sm.Metrics().AppendEmpty()
			m.SetName(name)
			g = m.SetEmptyGauge()
			gauges[name] = g
		}
		for _, smp := range s.Samples {
			dp := g.DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.Timestamp(smp.T * 1e6))
			dp.SetDoubleValue(smp.V)
			s.Labels.Range(func(l labels.Label) {
				if l.Name != labels.MetricName {
					dp.Attributes().PutStr(l.Name, l.Value)
				}
			})
		}
	}
	return md
}

// EncodeOTLP is ToOTLP serialized as an OTLP/HTTP protobuf request body.
func EncodeOTLP(series []metrics.Series, scope string) ([]byte, error) {
	return pmetricotlp.NewExportRequestFromMetrics(ToOTLP(series, scope)).MarshalProto()
}
