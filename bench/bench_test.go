package bench

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"vigil/internal/agent/podlogs"
	"vigil/internal/ingest"
)

// corpusLines returns the lines of a small generated corpus.
func corpusLines(t testing.TB, n int) (Corpus, [][]byte) {
	t.Helper()
	root := t.TempDir()
	c, err := WriteCorpus(CorpusConfig{Root: root, Lines: n, Pods: 20, Start: time.Now().Add(-time.Hour), Span: time.Hour, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, s := range c.Streams {
		f, err := os.Open(filepath.Join(root, s.Dir(), "0.log"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, bytes.Clone(sc.Bytes()))
		}
		f.Close()
	}
	return c, lines
}

// The corpus is what the benchmark claims: the kubelet's layout, valid CRI
// lines of about 150 bytes, both streams, partial lines, increasing times.
func TestCorpus(t *testing.T) {
	c, lines := corpusLines(t, 50_000)
	if c.Lines != 50_000 || len(lines) != c.Lines {
		t.Fatalf("lines: corpus %d, files %d", c.Lines, len(lines))
	}
	if c.Records+c.Partial != c.Lines {
		t.Fatalf("records %d + partial %d != lines %d", c.Records, c.Partial, c.Lines)
	}
	if avg := float64(c.Bytes) / float64(c.Lines); avg < 130 || avg > 175 {
		t.Errorf("average line %.0f B, want about 150", avg)
	}
	if len(c.Streams) < 20 {
		t.Errorf("%d streams", len(c.Streams))
	}
	dirRE := regexp.MustCompile(`^[a-z0-9-]+_[a-z0-9-]+_[a-f0-9-]{36}/[a-z0-9-]+$`)
	for _, s := range c.Streams {
		if !dirRE.MatchString(filepath.ToSlash(s.Dir())) {
			t.Errorf("stream dir %q is not in the kubelet layout", s.Dir())
		}
	}
	var partial, stderr, jsonLines int
	for _, l := range lines {
		cl, err := podlogs.ParseCRI(l)
		if err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if cl.Partial {
			partial++
		}
		if cl.Stream == podlogs.StreamStderr {
			stderr++
		}
		if bytes.HasPrefix(cl.Message, []byte("{")) {
			jsonLines++
		}
	}
	if partial != c.Partial || partial == 0 {
		t.Errorf("P lines: parsed %d, corpus says %d", partial, c.Partial)
	}
	if stderr < c.Lines/10 || stderr > c.Lines/2 {
		t.Errorf("%d stderr lines of %d", stderr, c.Lines)
	}
	if jsonLines < c.Lines/10 {
		t.Errorf("%d JSON lines of %d", jsonLines, c.Lines)
	}
}

// Only the lines marked Error hold the word "error", and about 1 % are.
func TestMessageErrorWord(t *testing.T) {
	g := NewMessageGen(9)
	word := regexp.MustCompile(`(^|[^A-Za-z0-9_])error($|[^A-Za-z0-9_])`)
	var errs int
	const n = 100_000
	for i := 0; i < n; i++ {
		m := g.Next(time.Now())
		if m.Error != word.MatchString(m.Text) {
			t.Fatalf("Error=%v for %q", m.Error, m.Text)
		}
		if m.Error {
			errs++
		}
	}
	if errs < n/200 || errs > n/50 {
		t.Errorf("%d error lines of %d, want about 1 %%", errs, n)
	}
}

func TestLogBatches(t *testing.T) {
	lb := NewLogBatches(1, 20, time.Now(), time.Millisecond)
	body, err := lb.Next(1000, 4)
	if err != nil {
		t.Fatal(err)
	}
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(body); err != nil {
		t.Fatal(err)
	}
	if n := req.Logs().LogRecordCount(); n != 1000 || lb.Records != 1000 {
		t.Fatalf("%d records (counted %d), want 1000", n, lb.Records)
	}
	recs := ingest.LogsToRecords(req.Logs())
	var names []string
	for _, f := range recs[0].Fields {
		names = append(names, f.Name)
	}
	for _, want := range []string{"namespace", "pod", "container", "pod_uid", "node", "stream", "_msg"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("field %q missing from %v", want, names)
		}
	}
}

func TestNodeCPU(t *testing.T) {
	g := NewNodeCPU(50, 4, 15*time.Second, time.Now().Add(-time.Hour), 1)
	if g.Series() != 1000 {
		t.Fatalf("%d series", g.Series())
	}
	body, n, err := g.Request(0, 250, 0, 40)
	if err != nil || n != 250*40 || len(body) == 0 {
		t.Fatalf("request: %d samples, %d bytes, %v", n, len(body), err)
	}
}

func BenchmarkParseCRI(b *testing.B) {
	_, lines := corpusLines(b, 20_000)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	b.SetBytes(size / int64(len(lines)))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := podlogs.ParseCRI(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOTLPLogsToRecords is the server's per-request work before storage:
// decode a 1000-line OTLP batch and flatten it into records.
func BenchmarkOTLPLogsToRecords(b *testing.B) {
	lb := NewLogBatches(1, 20, time.Now(), time.Millisecond)
	body, err := lb.Next(1000, 4)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			b.Fatal(err)
		}
		if n := len(ingest.LogsToRecords(req.Logs())); n != 1000 {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/line")
}

// BenchmarkEncodeLogBatch builds and encodes a 1000-line OTLP batch in the
// agent's shape (generation included).
func BenchmarkEncodeLogBatch(b *testing.B) {
	lb := NewLogBatches(1, 20, time.Now(), time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lb.Next(1000, 4); err != nil {
			b.Fatal(err)
		}
	}
}
