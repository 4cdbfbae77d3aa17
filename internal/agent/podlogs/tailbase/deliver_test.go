package tailbase

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

func TestDelivererRetriesThenRecordsOnCommit(t *testing.T) {
	ring, err := OpenRing(filepath.Join(t.TempDir(), "ids"), 16)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	calls := 0
	d := &Deliverer{Ring: ring, Log: quietLogger(), Sink: func(_ context.Context, _ []byte, committed func()) error {
		calls++
		if calls < 3 {
			return errors.New("queue full (test)")
		}
		if ring.Contains(7) {
			t.Error("ids recorded before the sink committed")
		}
		committed()
		if !ring.Contains(7) {
			t.Error("ids not recorded inside committed")
		}
		return nil
	}}
	if err := d.Deliver(context.Background(), []byte("p"), []uint64{7, 8}); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || d.SinkErrors() != 2 || !ring.Contains(8) {
		t.Fatalf("calls %d, sink errors %d", calls, d.SinkErrors())
	}
}

func TestDelivererGivesUpWhenContextEnds(t *testing.T) {
	ring, err := OpenRing(filepath.Join(t.TempDir(), "ids"), 16)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	d := &Deliverer{Ring: ring, Log: quietLogger(), Sink: func(context.Context, []byte, func()) error {
		return errors.New("down (test)")
	}}
	if err := d.Deliver(ctx, []byte("p"), []uint64{1}); err == nil {
		t.Fatal("Deliver succeeded although the sink never accepted")
	}
	if ring.Contains(1) {
		t.Fatal("undelivered ids recorded")
	}
}

func TestCutPointKeepsRunesWhole(t *testing.T) {
	b := []byte("aé€𝄞")
	for n := 0; n <= len(b); n++ {
		k := CutPoint(b, n)
		if k > n || (n > 0 && k == 0) {
			t.Fatalf("CutPoint(%d) = %d", n, k)
		}
		if got := ValidText(b[:k]); got != string(b[:k]) {
			t.Fatalf("CutPoint(%d) = %d splits a rune", n, k)
		}
	}
	if got := ValidText([]byte("ok \xff\xfe")); got != "ok \uFFFD" {
		t.Fatalf("ValidText = %q", got)
	}
}

// memQueue is a Queue in memory.
type memQueue struct {
	metas [][]byte
	// crash, when set, dies right after the commit point: the payload is
	// queued but committed is not called.
	crash bool
}

func (q *memQueue) EnqueueMeta(_ context.Context, _, meta []byte, committed func()) error {
	q.metas = append(q.metas, append([]byte(nil), meta...))
	if q.crash {
		panic("killed (test)")
	}
	committed()
	return nil
}

func (q *memQueue) PendingMeta(fn func(meta []byte)) {
	for _, m := range q.metas {
		fn(m)
	}
}

func TestReconcileRestoresIDsOfQueuedBatches(t *testing.T) {
	dir := t.TempDir()
	ring, err := OpenRing(filepath.Join(dir, "ids"), 64)
	if err != nil {
		t.Fatal(err)
	}
	q := &memQueue{}
	d := &Deliverer{Queue: q, Tag: "mine", Ring: ring, Log: quietLogger()}
	if err := d.Deliver(context.Background(), []byte("p1"), []uint64{1, 2}); err != nil {
		t.Fatal(err)
	}
	// The process dies between the queue's commit and the ring's write.
	q.crash = true
	func() {
		defer func() { _ = recover() }()
		_ = d.Deliver(context.Background(), []byte("p2"), []uint64{3, 4})
	}()
	q.metas = append(q.metas, EncodeMeta("other", []uint64{9}), []byte{0xff})
	_ = ring.Close()

	ring, err = OpenRing(filepath.Join(dir, "ids"), 64)
	if err != nil {
		t.Fatal(err)
	}
	if !ring.Contains(2) || ring.Contains(3) {
		t.Fatalf("before reconcile: %v", ring.Ordered())
	}
	d = &Deliverer{Queue: &memQueue{metas: q.metas}, Tag: "mine", Ring: ring, Log: quietLogger()}
	n, err := d.Reconcile()
	if err != nil || n != 2 {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	if fmt.Sprint(ring.Ordered()) != "[1 2 3 4]" {
		t.Fatalf("after reconcile: %v", ring.Ordered())
	}
	if n, _ := d.Reconcile(); n != 0 {
		t.Fatalf("second Reconcile added %d", n)
	}
	_ = ring.Close()
	// Durable: a restart finds them in the file.
	ring, err = OpenRing(filepath.Join(dir, "ids"), 64)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	if fmt.Sprint(ring.Ordered()) != "[1 2 3 4]" {
		t.Fatalf("reopened: %v", ring.Ordered())
	}
}

func TestMetaRoundTrip(t *testing.T) {
	ids := []uint64{0, 1, 1 << 63}
	got, err := DecodeMeta("podlogs", EncodeMeta("podlogs", ids))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("%v, %v", got, err)
	}
	if _, err := DecodeMeta("hostlogs", EncodeMeta("podlogs", ids)); err == nil {
		t.Fatal("another tag's metadata decoded")
	}
	if _, err := DecodeMeta("podlogs", EncodeMeta("podlogs", ids)[:5]); err == nil {
		t.Fatal("truncated metadata decoded")
	}
}

// A queue longer than the ring must not push the newest ids out of it.
func TestReconcileKeepsTheNewestIDs(t *testing.T) {
	ring, err := OpenRing(filepath.Join(t.TempDir(), "ids"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer ring.Close()
	// Batches 1..9 are queued; the ring holds the last four ids but for
	// the very last, whose write a crash prevented.
	q := &memQueue{}
	for i := uint64(1); i <= 9; i += 3 {
		q.metas = append(q.metas, EncodeMeta("t", []uint64{i, i + 1, i + 2}))
	}
	_ = ring.Record([]uint64{5, 6, 7, 8})
	d := &Deliverer{Queue: q, Tag: "t", Ring: ring, Log: quietLogger()}
	if n, err := d.Reconcile(); err != nil || n != 1 {
		t.Fatalf("Reconcile = %d, %v", n, err)
	}
	if fmt.Sprint(ring.Ordered()) != "[6 7 8 9]" {
		t.Fatalf("ring %v", ring.Ordered())
	}
}
