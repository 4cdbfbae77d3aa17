package shipper

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func pending(s *Shipper, signal Signal) []string {
	var out []string
	s.PendingMeta(signal, func(meta []byte) { out = append(out, string(meta)) })
	return out
}

func TestMetadataTravelsWithTheBatchButIsNotSent(t *testing.T) {
	dir := t.TempDir()
	s := newShipper(t, dir, "", 0)
	ctx := context.Background()
	if err := s.EnqueueMeta(ctx, Logs, []byte("one"), []byte("m1"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, Logs, []byte("plain")); err != nil {
		t.Fatal(err)
	}
	if err := s.Queue(Metrics).EnqueueMeta(ctx, []byte("metric"), []byte("mm"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Queue(Logs).EnqueueMeta(ctx, []byte("two"), []byte("m2"), nil); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(pending(s, Logs)); got != "[m1 m2]" {
		t.Fatalf("pending logs meta %s", got)
	}

	// A restart finds the metadata again; the byte count covers the files.
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	s2 := newShipper(t, dir, srv.URL, 0)
	var got []string
	s2.Queue(Logs).PendingMeta(func(meta []byte) { got = append(got, string(meta)) })
	if fmt.Sprint(got) != "[m1 m2]" || fmt.Sprint(pending(s2, Metrics)) != "[mm]" {
		t.Fatalf("after restart: logs %v, metrics %v", got, pending(s2, Metrics))
	}
	if st := s2.Stats(); st.QueuedBatches != 4 || st.QueuedBytes != s.Stats().QueuedBytes {
		t.Fatalf("after restart %+v, before %+v", st, s.Stats())
	}

	stop := runShipper(t, s2)
	waitFor(t, "drained", 5*time.Second, func() bool { return s2.Stats().QueuedBatches == 0 })
	stop()
	bodies, paths := col.got()
	if fmt.Sprint(bodies) != "[one plain metric two]" || fmt.Sprint(paths) != "[/v1/logs /v1/logs /v1/metrics /v1/logs]" {
		t.Fatalf("delivered %v to %v", bodies, paths)
	}
	if st := s2.Stats(); st.SentBytes != uint64(len("oneplainmetrictwo")) || st.QueuedBytes != 0 {
		t.Fatalf("stats %+v", st)
	}
	if p := pending(s2, Logs); len(p) != 0 {
		t.Fatalf("metadata of sent batches still pending: %v", p)
	}
	assertNoBatchFiles(t, dir)
}

// A process killed right after the commit point, before committed returns,
// leaves a batch whose metadata the next start sees.
func TestMetadataIsCommittedWithTheBatch(t *testing.T) {
	dir := t.TempDir()
	s := newShipper(t, dir, "", 0)
	var seen []string
	err := s.EnqueueMeta(context.Background(), Logs, []byte("payload"), []byte("ids"), func() {
		// What a new process would find at this instant.
		after, err := New(Config{Dir: dir}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		seen = pending(after, Logs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(seen) != "[ids]" {
		t.Fatalf("metadata at the commit point: %v", seen)
	}
}

func TestRejectedBatchWithMetadataKeepsBarePayload(t *testing.T) {
	col := &collector{status: func(string) int { return http.StatusBadRequest }}
	srv := httptest.NewServer(col)
	defer srv.Close()
	dir := t.TempDir()
	s := newShipper(t, dir, srv.URL, 0)
	if err := s.EnqueueMeta(context.Background(), Logs, []byte("bad"), []byte("ids"), nil); err != nil {
		t.Fatal(err)
	}
	// A damaged file is moved aside as it is, not sent.
	damaged := filepath.Join(dir, fmt.Sprintf("%020d.logs%s", 7, batchMetaExt))
	if err := os.WriteFile(damaged, []byte("vgm1\xff\xff\xff\x00junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = newShipper(t, dir, srv.URL, 0)
	stop := runShipper(t, s)
	waitFor(t, "drained", 5*time.Second, func() bool { return s.Stats().QueuedBatches == 0 })
	stop()

	if b, err := os.ReadFile(filepath.Join(dir, rejectedDir, fmt.Sprintf("%020d.logs%s", 0, batchExt))); err != nil || string(b) != "bad" {
		t.Fatalf("rejected payload %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, rejectedDir, filepath.Base(damaged))); err != nil {
		t.Fatalf("damaged batch not kept: %v", err)
	}
	if st := s.Stats(); st.Rejected != 2 || st.Sent != 0 {
		t.Fatalf("stats %+v", st)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*"+batchMetaExt)); len(left) != 0 {
		t.Fatalf("batch files left: %v", left)
	}
}
