package tailbase

import (
	"context"
	"errors"
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
