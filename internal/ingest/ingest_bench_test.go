package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vigil/bench"
	"vigil/internal/store/logs"
)

// BenchmarkOTLPLogs measures the server's log ingest path in one process:
// decode, pipeline (JSON, level, redaction) and the embedded store, with
// agent-shaped batches of 1000 lines. `make bench` measures the whole server.
func BenchmarkOTLPLogs(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := logs.OpenEmbedded(logs.Options{Dir: b.TempDir(), Retention: 7 * 24 * time.Hour, Logger: quiet, MemoryAllowedBytes: 256 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	h := &Handler{Logs: store, Pipeline: NewPipeline(), Log: quiet}
	const batch = 1000
	lb := bench.NewLogBatches(7, 20, time.Now().Add(-time.Hour), time.Millisecond)
	bodies := make([][]byte, 64)
	for i := range bodies {
		if bodies[i], err = lb.Next(batch, 4); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req := httptest.NewRequest("POST", "/v1/logs", bytes.NewReader(bodies[i%len(bodies)]))
			req.Header.Set("Content-Type", "application/x-protobuf")
			w := httptest.NewRecorder()
			h.ServeOTLPLogs(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d: %s", w.Code, w.Body.String())
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "lines/s")
}
