package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// LogBatches builds OTLP/HTTP protobuf bodies shaped like the agent's: each
// batch holds perBatch records from a few containers (one resource each),
// with the agent's attributes. Times run from start, step apart. It returns
// the bodies and how many records contain the word "error".
type LogBatches struct {
	streams []Stream
	gen     *MessageGen
	r       *rand.Rand
	t       time.Time
	step    time.Duration
	node    string
	Errors  int
	Records int
}

// NewLogBatches starts a deterministic sequence of batches.
func NewLogBatches(seed uint64, pods int, start time.Time, step time.Duration) *LogBatches {
	return &LogBatches{
		streams: Streams(pods, seed), gen: NewMessageGen(seed + 7), r: rand.New(rand.NewPCG(seed, 0x10c5)),
		t: start, step: step, node: "bench-node",
	}
}

// Next returns one encoded batch of n records spread over k containers.
func (b *LogBatches) Next(n, k int) ([]byte, error) {
	ld := plog.NewLogs()
	per := (n + k - 1) / k
	for done := 0; done < n; {
		s := b.streams[b.r.IntN(len(b.streams))]
		rl := ld.ResourceLogs().AppendEmpty()
		a := rl.Resource().Attributes()
		a.PutStr("k8s.namespace.name", s.Namespace)
		a.PutStr("k8s.pod.name", s.Pod)
		a.PutStr("k8s.pod.uid", s.UID)
		a.PutStr("k8s.container.name", s.Container)
		a.PutInt("k8s.container.restart_count", 0)
		a.PutStr("k8s.node.name", b.node)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("vigil/internal/agent/podlogs")
		path := "/var/log/pods/" + s.Dir() + "/0.log"
		for i := 0; i < per && done < n; i++ {
			m := b.gen.Next(b.t)
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(b.t))
			lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(b.t.Add(20 * time.Millisecond)))
			lr.Body().SetStr(m.Text)
			stream := "stdout"
			if m.Stderr {
				stream = "stderr"
			}
			lr.Attributes().PutStr("log.iostream", stream)
			lr.Attributes().PutStr("log.file.path", path)
			if m.Error {
				b.Errors++
			}
			b.Records++
			b.t = b.t.Add(b.step)
			done++
		}
	}
	return plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
}

// NodeCPU generates node_cpu_seconds_total for nodes×cpus×modes series,
// scraped every interval, as Prometheus remote-write 1.0 requests.
type NodeCPU struct {
	Nodes, CPUs int
	Interval    time.Duration
	Start       time.Time
	series      []prompb.TimeSeries
	values      []float64
	r           *rand.Rand
}

var cpuModes = []string{"idle", "user", "system", "iowait", "softirq"}

// share is each mode's typical fraction of a CPU.
var cpuShare = []float64{0.70, 0.18, 0.07, 0.03, 0.02}

// NewNodeCPU prepares the series.
func NewNodeCPU(nodes, cpus int, interval time.Duration, start time.Time, seed uint64) *NodeCPU {
	g := &NodeCPU{Nodes: nodes, CPUs: cpus, Interval: interval, Start: start, r: rand.New(rand.NewPCG(seed, 0xc9))}
	for n := 0; n < nodes; n++ {
		for c := 0; c < cpus; c++ {
			for _, mode := range cpuModes {
				g.series = append(g.series, prompb.TimeSeries{Labels: []prompb.Label{
					{Name: "__name__", Value: "node_cpu_seconds_total"},
					{Name: "cpu", Value: strconv.Itoa(c)},
					{Name: "instance", Value: fmt.Sprintf("10.0.%d.%d:9100", n/200, n%200+10)},
					{Name: "job", Value: "node"},
					{Name: "mode", Value: mode},
					{Name: "node", Value: fmt.Sprintf("node-%03d", n)},
				}})
				g.values = append(g.values, 1e5*g.r.Float64())
			}
		}
	}
	return g
}

// Series is how many series there are.
func (g *NodeCPU) Series() int { return len(g.series) }

// Request returns the snappy-compressed WriteRequest for series [lo, hi)
// and scrapes [from, to) (scrape i is at Start + i*Interval). Scrapes must be
// asked for in order for each series.
func (g *NodeCPU) Request(lo, hi, from, to int) ([]byte, int, error) {
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, hi-lo)}
	samples := 0
	sec := g.Interval.Seconds()
	for i := lo; i < hi; i++ {
		ts := prompb.TimeSeries{Labels: g.series[i].Labels, Samples: make([]prompb.Sample, 0, to-from)}
		share := cpuShare[i%len(cpuModes)]
		for k := from; k < to; k++ {
			g.values[i] += sec * share * (0.5 + g.r.Float64())
			v := math.Round(g.values[i]*100) / 100 // node_exporter reports 10 ms ticks
			ts.Samples = append(ts.Samples, prompb.Sample{Value: v, Timestamp: g.Start.Add(time.Duration(k) * g.Interval).UnixMilli()})
		}
		samples += len(ts.Samples)
		req.Timeseries = append(req.Timeseries, ts)
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, 0, err
	}
	return snappy.Encode(nil, raw), samples, nil
}
