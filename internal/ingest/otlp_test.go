package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"vigil/internal/store/logs"
)

func otlpBody(t testing.TB, ns string, n int) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("k8s.namespace.name", ns)
	rl.Resource().Attributes().PutStr("k8s.pod.name", "p")
	rl.Resource().Attributes().PutStr("k8s.container.name", "c")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Body().SetStr(fmt.Sprintf("%s line %d", ns, i))
		lr.Attributes().PutStr("log.iostream", "stdout")
	}
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Request bodies are read into pooled buffers. Concurrent requests, plain
// and gzip, must each store exactly their own lines: nothing decoded may
// point into a buffer that another request reuses.
func TestPooledBodiesKeepEveryRequestsLines(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir(), Retention: 7 * 24 * time.Hour, Logger: quiet, MemoryAllowedBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var mu sync.Mutex
	seen := map[string]int{}
	h := &Handler{Logs: store, Pipeline: NewPipeline(), Log: quiet, OnStored: func(rs []logs.Record) {
		// Checked after the request, when its buffer may already serve another.
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			for _, f := range r.Fields {
				if f.Name == "_msg" {
					seen[f.Value]++
				}
			}
		}
	}}
	const senders, requests, lines = 4, 25, 200
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range requests {
				ns := fmt.Sprintf("ns-%d-%d", s, r)
				body := otlpBody(t, ns, lines)
				req := httptest.NewRequest("POST", "/v1/logs", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/x-protobuf")
				if r%2 == 1 {
					var gz bytes.Buffer
					zw := gzip.NewWriter(&gz)
					zw.Write(body)
					zw.Close()
					req = httptest.NewRequest("POST", "/v1/logs", &gz)
					req.Header.Set("Content-Type", "application/x-protobuf")
					req.Header.Set("Content-Encoding", "gzip")
				}
				w := httptest.NewRecorder()
				h.ServeOTLPLogs(w, req)
				if w.Code != http.StatusOK {
					t.Errorf("%s: %d %s", ns, w.Code, w.Body)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != senders*requests*lines {
		t.Fatalf("%d distinct lines handed on, want %d", len(seen), senders*requests*lines)
	}
	for msg, n := range seen {
		if n != 1 {
			t.Fatalf("%q handed on %d times", msg, n)
		}
	}
	store.Flush()
	for _, ns := range []string{"ns-0-0", "ns-3-24", "ns-2-13"} {
		n := 0
		err := store.Query(context.Background(), `namespace:=`+ns, logs.Range{}, 0, func(row []logs.Field) error {
			for _, f := range row {
				if f.Name == "_msg" && !bytes.HasPrefix([]byte(f.Value), []byte(ns+" line ")) {
					t.Errorf("%s stored a foreign line %q", ns, f.Value)
				}
			}
			n++
			return nil
		})
		if err != nil || n != lines {
			t.Errorf("%s: %d rows stored (%v), want %d", ns, n, err, lines)
		}
	}
}
