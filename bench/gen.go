// Package bench holds what `make bench` needs to measure vigil end to end:
// a generator of Kubernetes-like container logs (CRI files in the kubelet's
// pod log layout, or OTLP batches), Prometheus remote-write payloads, a small
// client for vigil's APIs, and helpers that run and measure subprocesses.
package bench

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stream is one container's log: a file <ns>_<pod>_<uid>/<container>/0.log.
type Stream struct {
	Namespace, Pod, UID, Container string
	weight                         float64
}

// Dir is the stream's directory relative to the pod log root.
func (s Stream) Dir() string {
	return filepath.Join(s.Namespace+"_"+s.Pod+"_"+s.UID, s.Container)
}

// workloads are the deployments the generated pods belong to; weight is how
// chatty each one is relative to the others.
var workloads = []struct {
	ns, name string
	sidecar  bool
	weight   float64
}{
	{"ingress-nginx", "ingress-nginx-controller", false, 9},
	{"shop", "frontend", true, 7},
	{"shop", "checkout", true, 6},
	{"shop", "catalog", false, 5},
	{"shop", "cart", false, 4},
	{"payments", "payments-api", true, 4},
	{"payments", "ledger", false, 2},
	{"kube-system", "coredns", false, 2},
	{"kube-system", "kube-proxy", false, 1},
	{"monitoring", "vigil-agent", false, 1},
}

const alnum = "bcdfghjklmnpqrstvwxz2456789"

// Streams returns a deterministic set of about n pods' container streams.
func Streams(n int, seed uint64) []Stream {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var out []Stream
	for i := 0; i < n; i++ {
		w := workloads[i%len(workloads)]
		var rs strings.Builder
		for range 10 {
			rs.WriteByte("0123456789abcdef"[r.IntN(16)])
		}
		rs.WriteByte('-')
		for range 5 {
			rs.WriteByte(alnum[r.IntN(len(alnum))])
		}
		pod := w.name + "-" + rs.String()
		uid := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, 0x4000|r.Uint32()&0x0fff, 0x8000|r.Uint32()&0x3fff, r.Uint64()&0xffffffffffff)
		// Replicas of a workload share its weight, with some spread.
		wt := w.weight * (0.6 + 0.8*r.Float64())
		out = append(out, Stream{Namespace: w.ns, Pod: pod, UID: uid, Container: containerName(w.name), weight: wt})
		if w.sidecar {
			out = append(out, Stream{Namespace: w.ns, Pod: pod, UID: uid, Container: "istio-proxy", weight: wt * 0.3})
		}
	}
	return out
}

func containerName(workload string) string {
	switch workload {
	case "ingress-nginx-controller":
		return "controller"
	case "vigil-agent":
		return "agent"
	}
	return workload
}

// Message is one application log line.
type Message struct {
	Text   string
	Stderr bool
	Error  bool // holds the word "error" (and no other kind of line does)
}

// MessageGen produces realistic, varied application log lines. About 1 % of
// them contain the word "error".
type MessageGen struct {
	r *rand.Rand
}

// NewMessageGen returns a deterministic generator.
func NewMessageGen(seed uint64) *MessageGen {
	return &MessageGen{r: rand.New(rand.NewPCG(seed, 0xb0b))}
}

var (
	paths    = []string{"/api/v1/products", "/api/v1/cart", "/api/v1/orders", "/healthz", "/static/js/app.js", "/api/v1/users/me", "/metrics", "/api/v1/search"}
	methods  = []string{"GET", "GET", "GET", "GET", "POST", "PUT", "DELETE"}
	agents   = []string{"kube-probe/1.31", "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", "Go-http-client/1.1", "curl/8.11.1", "okhttp/4.12.0"}
	loggers  = []string{"http", "grpc", "db", "cache", "worker", "auth"}
	actions  = []string{"request completed", "cache refreshed", "order created", "payment authorised", "item reserved", "session renewed", "query executed", "message published"}
	javaCls  = []string{"c.e.shop.OrderService", "c.e.shop.CartController", "o.s.web.servlet.DispatcherServlet", "c.z.hikari.pool.HikariPool", "c.e.shop.InventoryClient"}
	klogMsgs = []string{"Caches populated for *v1.Pod from k8s.io/client-go/informers/factory.go:160", "Successfully synced endpoints for service", "Updated upstream servers for shop/checkout", "Starting reflector *v1.EndpointSlice (30s)", "Waiting for caches to sync"}
	warnMsgs = []string{"slow query detected", "retrying request to upstream", "connection pool nearly exhausted", "deprecated API version in use", "certificate expires in 21 days"}
	errMsgs  = []string{"upstream request failed", "payment declined", "failed to write to database", "timeout waiting for lock", "unable to decode request body"}
	errDescs = []string{"dial tcp 10.96.0.12:5432: connect: connection refused", "context deadline exceeded", "card expired", "unexpected EOF", "rpc error: code = Unavailable desc = transport is closing"}
)

func (g *MessageGen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *MessageGen) ip() string {
	return "10.244." + strconv.Itoa(g.r.IntN(8)) + "." + strconv.Itoa(1+g.r.IntN(254))
}

func (g *MessageGen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.r.IntN(16)]
	}
	return string(b)
}

// Next returns a line as an application would have written it at t.
func (g *MessageGen) Next(t time.Time) Message {
	t = t.UTC()
	p := g.r.IntN(1000)
	switch {
	case p < 10: // 1 %: errors
		if g.r.IntN(2) == 0 {
			return Message{Stderr: true, Error: true, Text: fmt.Sprintf(`{"level":"error","ts":"%s","logger":"%s","msg":"%s","error":"%s","trace_id":"%s"}`,
				t.Format("2006-01-02T15:04:05.000Z"), g.pick(loggers), g.pick(errMsgs), g.pick(errDescs), g.hex(32))}
		}
		return Message{Stderr: true, Error: true, Text: fmt.Sprintf(`time="%s" level=error msg="%s" error="%s" attempt=%d`,
			t.Format(time.RFC3339), g.pick(errMsgs), g.pick(errDescs), 1+g.r.IntN(5))}
	case p < 50: // warnings
		return Message{Stderr: true, Text: fmt.Sprintf(`W%s %7d %s:%d] %s duration=%dms`,
			t.Format("0102 15:04:05.000000"), 1, g.pick([]string{"pool.go", "client.go", "handler.go"}), 20+g.r.IntN(400), g.pick(warnMsgs), 100+g.r.IntN(5000))}
	case p < 170: // klog info on stderr
		return Message{Stderr: true, Text: fmt.Sprintf(`I%s %7d %s:%d] %s`,
			t.Format("0102 15:04:05.000000"), 1, g.pick([]string{"reflector.go", "shared_informer.go", "controller.go"}), 100+g.r.IntN(800), g.pick(klogMsgs))}
	case p < 470: // access log
		return Message{Text: fmt.Sprintf(`%s - - [%s] "%s %s/%d HTTP/1.1" %d %d "-" "%s"`,
			g.ip(), t.Format("02/Jan/2006:15:04:05 -0700"), g.pick(methods), g.pick(paths), g.r.IntN(100000),
			[]int{200, 200, 200, 200, 201, 204, 304, 404}[g.r.IntN(8)], 200+g.r.IntN(20000), g.pick(agents))}
	case p < 720: // JSON
		return Message{Text: fmt.Sprintf(`{"level":"info","ts":"%s","logger":"%s","msg":"%s","path":"%s/%d","took_ms":%.1f}`,
			t.Format("2006-01-02T15:04:05.000Z"), g.pick(loggers), g.pick(actions), g.pick(paths), g.r.IntN(100000), g.r.Float64()*80)}
	case p < 870: // logfmt
		return Message{Text: fmt.Sprintf(`time="%s" level=info msg="%s" component=%s items=%d took=%dms`,
			t.Format(time.RFC3339), g.pick(actions), g.pick(loggers), g.r.IntN(500), g.r.IntN(300))}
	default: // Spring Boot
		return Message{Text: fmt.Sprintf(`%s  INFO 1 --- [nio-8080-exec-%d] %s : Processing order %d`,
			t.Format("2006-01-02 15:04:05.000"), 1+g.r.IntN(10), g.pick(javaCls), g.r.IntN(1000000))}
	}
}

// Long returns a long line (a JSON document with an embedded stack trace),
// the kind a runtime splits into partial lines.
func (g *MessageGen) Long(t time.Time) Message {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"level":"warn","ts":"%s","msg":"slow request dump","request_id":"%s","frames":[`, t.UTC().Format("2006-01-02T15:04:05.000Z"), g.hex(16))
	n := 6 + g.r.IntN(10)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"shop/internal/%s.(*%s).%s(0x%s)"`, g.pick(loggers), g.pick([]string{"Server", "Client", "Pool", "Store"}), g.pick([]string{"Serve", "Do", "Get", "Put", "wait"}), g.hex(10))
	}
	sb.WriteString("]}")
	return Message{Stderr: true, Text: sb.String()}
}

// Corpus describes a generated pod log tree.
type Corpus struct {
	Root    string
	Streams []Stream
	Lines   int   // physical CRI lines
	Partial int   // of which P lines
	Records int   // log records once partial lines are joined
	Bytes   int64 // file bytes
}

// CorpusConfig says what to generate.
type CorpusConfig struct {
	Root  string
	Lines int       // physical lines, exactly
	Pods  int       // pods (some have a second, sidecar container)
	Start time.Time // first line's time; lines are spread evenly over Span
	Span  time.Duration
	Seed  uint64
	// PartialChunk is the size partial lines are cut to (runtimes use 16 KiB;
	// smaller keeps the corpus' average line size realistic).
	PartialChunk int
}

// WriteCorpus writes CRI container log files under cfg.Root:
// <ns>_<pod>_<uid>/<container>/0.log, about 150 B per line, stdout and
// stderr mixed, some JSON, about 1 % partial (P) lines.
func WriteCorpus(cfg CorpusConfig) (Corpus, error) {
	if cfg.PartialChunk <= 0 {
		cfg.PartialChunk = 200
	}
	streams := Streams(cfg.Pods, cfg.Seed)
	c := Corpus{Root: cfg.Root, Streams: streams}
	var total float64
	for _, s := range streams {
		total += s.weight
	}
	files := make([]*os.File, len(streams))
	ws := make([]*bufio.Writer, len(streams))
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, s := range streams {
		dir := filepath.Join(cfg.Root, s.Dir())
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return c, err
		}
		f, err := os.Create(filepath.Join(dir, "0.log"))
		if err != nil {
			return c, err
		}
		files[i] = f
		ws[i] = bufio.NewWriterSize(f, 256<<10)
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0xc0ffee))
	gen := NewMessageGen(cfg.Seed + 1)
	step := cfg.Span / time.Duration(max(cfg.Lines, 1))
	t := cfg.Start
	var line []byte
	writeLine := func(w *bufio.Writer, stream, tag string, msg string) {
		line = t.UTC().AppendFormat(line[:0], "2006-01-02T15:04:05.000000000Z07:00")
		line = append(line, ' ')
		line = append(line, stream...)
		line = append(line, ' ')
		line = append(line, tag...)
		line = append(line, ' ')
		line = append(line, msg...)
		line = append(line, '\n')
		w.Write(line)
		c.Bytes += int64(len(line))
		c.Lines++
		// Strictly increasing times in every file: each line gets its own
		// nanosecond, as from a real runtime.
		t = t.Add(step/2 + time.Duration(r.Int64N(int64(step)+1)))
	}
	for c.Lines < cfg.Lines {
		x := r.Float64() * total
		i := 0
		for ; i < len(streams)-1 && x >= streams[i].weight; i++ {
			x -= streams[i].weight
		}
		w := ws[i]
		left := cfg.Lines - c.Lines
		if r.IntN(1000) < 3 && left >= 8 {
			m := gen.Long(t)
			text := m.Text
			for len(text) > cfg.PartialChunk && left > 1 {
				writeLine(w, "stderr", "P", text[:cfg.PartialChunk])
				text = text[cfg.PartialChunk:]
				c.Partial++
				left--
			}
			writeLine(w, "stderr", "F", text)
			c.Records++
			continue
		}
		m := gen.Next(t)
		stream := "stdout"
		if m.Stderr {
			stream = "stderr"
		}
		writeLine(w, stream, "F", m.Text)
		c.Records++
	}
	for i, w := range ws {
		if err := w.Flush(); err != nil {
			return c, err
		}
		if err := files[i].Close(); err != nil {
			return c, err
		}
		files[i] = nil
	}
	return c, nil
}
