package logs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func open(t *testing.T, dir string, retention time.Duration) *Embedded {
	t.Helper()
	e, err := OpenEmbedded(Options{Dir: dir, Retention: retention, Logger: quiet, MemoryAllowedBytes: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rec(ts time.Time, pod, msg string) Record {
	return Record{Time: ts, Fields: []Field{{"namespace", "ns"}, {"pod", pod}, {"container", "c"}, {"_msg", msg}, {"level", "info"}}}
}

func partitions(t *testing.T, dir string) []string {
	ents, _ := os.ReadDir(filepath.Join(dir, "partitions"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func size(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func TestRetentionDropsOldDaysAndFreesDisk(t *testing.T) {
	dir := t.TempDir()
	e := open(t, dir, 7*24*time.Hour)
	old := time.Now().Add(-72 * time.Hour)
	var rs []Record
	for i := 0; i < 20000; i++ {
		rs = append(rs, rec(old.Add(time.Duration(i)*time.Millisecond), "old", fmt.Sprintf("old line %d with some text to take space %x", i, i*7919)))
	}
	rs = append(rs, rec(time.Now(), "new", "fresh line"))
	if err := e.Write(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	before, parts := size(dir), partitions(t, dir)
	if len(parts) != 2 {
		t.Fatalf("partitions before: %v", parts)
	}

	e = open(t, dir, 48*time.Hour)
	defer e.Close()
	var after int64
	var left []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		after, left = size(dir), partitions(t, dir)
		if len(left) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) != 1 || after >= before {
		t.Fatalf("after reopening with 48h retention: partitions %v, disk %d → %d", left, before, after)
	}
	n := 0
	if err := e.Query(context.Background(), "*", Range{}, 0, func([]Field) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d rows left, want only the fresh one", n)
	}
	t.Logf("partitions %v → %v, disk %d → %d bytes", parts, left, before, after)
}

func TestQueryNewestFirstWithLimit(t *testing.T) {
	e := open(t, t.TempDir(), 0)
	defer e.Close()
	base := time.Now().Add(-time.Minute)
	var rs []Record
	for i := 0; i < 500; i++ {
		rs = append(rs, rec(base.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("p%d", i%7), fmt.Sprintf("line %03d", i)))
	}
	if err := e.Write(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	var got []string
	err := e.Query(context.Background(), "*", Range{}, 5, func(row []Field) error {
		for _, f := range row {
			if f.Name == "_msg" {
				got = append(got, f.Value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"line 499", "line 498", "line 497", "line 496", "line 495"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := e.Query(context.Background(), "foo |", Range{}, 1, func([]Field) error { return nil }); err == nil {
		t.Error("bad query accepted")
	}
	hits, err := e.Hits(context.Background(), "*", Range{Start: base.Add(-time.Minute), End: time.Now()}, time.Hour, []string{"pod"}, 3)
	if err != nil || len(hits) != 3 {
		t.Fatalf("hits: %v %v", hits, err)
	}
	if hits[0].Total < hits[2].Total {
		t.Errorf("hits not sorted by total: %+v", hits)
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	var err error
	func() {
		defer contain(&err, "test")
		panic("engine failure")
	}()
	if err == nil || err.Error() != "test: engine failure" {
		t.Errorf("err = %v", err)
	}
}

func TestQueryWithoutLimitStreamsAndStopsOnConsumerError(t *testing.T) {
	e := open(t, t.TempDir(), 0)
	defer e.Close()
	var rs []Record
	for i := 0; i < 3000; i++ {
		rs = append(rs, rec(time.Now().Add(-time.Duration(i)*time.Millisecond), fmt.Sprintf("p%d", i%5), fmt.Sprintf("line %d", i)))
	}
	if err := e.Write(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	n := 0
	if err := e.Query(context.Background(), "*", Range{}, 0, func([]Field) error { n++; return nil }); err != nil || n != 3000 {
		t.Fatalf("streamed %d rows, err %v", n, err)
	}
	stop := fmt.Errorf("client went away")
	n = 0
	err := e.Query(context.Background(), "*", Range{}, 0, func([]Field) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("after consumer error: err %v, %d rows delivered", err, n)
	}
}

// The windowed newest-first search returns exactly what one full sort would.
func TestQueryNewestFirstMatchesFullSort(t *testing.T) {
	e, err := OpenEmbedded(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := time.Now()
	var recs []Record
	// Rows from 20 days ago to a few minutes ahead, denser recently.
	for i := 0; i < 3000; i++ {
		age := time.Duration(i*i) * 200 * time.Millisecond
		msg := "ok"
		if i%7 == 0 {
			msg = "error boom"
		}
		recs = append(recs, Record{Time: now.Add(2*time.Minute - age), Fields: []Field{
			{Name: "namespace", Value: "n"}, {Name: "pod", Value: "p"}, {Name: "container", Value: "c"},
			{Name: "_msg", Value: fmt.Sprintf("%s %d", msg, i)}}})
	}
	if err := e.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	e.Flush()
	for _, tc := range []struct {
		q     string
		r     Range
		limit int
	}{
		{"error", Range{}, 10},
		{"error", Range{}, 400},
		{"error", Range{}, 100000},
		{"*", Range{Start: now.Add(-48 * time.Hour), End: now}, 50},
		{"boom", Range{End: now.Add(-time.Hour)}, 5},
	} {
		var got, want []string
		if err := e.Query(context.Background(), tc.q, tc.r, tc.limit, func(row []Field) error {
			got = append(got, rowMsg(row))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.queryOnce(context.Background(), tc.q, tc.r, tc.limit, func(row []Field) error {
			want = append(want, rowMsg(row))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q %+v limit %d: windowed %d rows, full sort %d rows\n%v\n%v", tc.q, tc.r, tc.limit, len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
		}
	}
}

func rowMsg(row []Field) string {
	for _, f := range row {
		if f.Name == "_msg" {
			return f.Value
		}
	}
	return ""
}

func TestSubscribeSeesMatchingRowsAsWritten(t *testing.T) {
	e, err := OpenEmbedded(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, _, _, err := e.Subscribe("level:=error | stats count()", 1); err == nil {
		t.Error("a query with pipes was accepted as a filter")
	}
	rows, lost, stop, err := e.Subscribe(`namespace:="shop" level:=error`, 2)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(ns, level, msg string) Record {
		return Record{Time: time.Now(), Fields: []Field{{Name: "namespace", Value: ns}, {Name: "pod", Value: "p"},
			{Name: "container", Value: "c"}, {Name: "level", Value: level}, {Name: "_msg", Value: msg}}}
	}
	if err := e.Write(context.Background(), []Record{rec("shop", "error", "a"), rec("shop", "info", "b"), rec("other", "error", "c"),
		rec("shop", "error", "d"), rec("shop", "error", "e")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(rows) > 0 {
		row := <-rows
		got = append(got, rowMsg(row))
		if row[0].Name != "_time" {
			t.Errorf("row without _time first: %v", row)
		}
	}
	// The buffer holds two rows; the third matching one is counted as lost.
	if strings.Join(got, ",") != "a,d" || lost() != 1 {
		t.Errorf("got %v, lost %d", got, lost())
	}
	stop()
	if err := e.Write(context.Background(), []Record{rec("shop", "error", "f")}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 0 {
		t.Error("rows after stop")
	}
}
