package metrics

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func dirSize(t *testing.T, dir string) int64 {
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

// writeBlock persists a block with 200 series × 2h of 15 s samples ending at end.
func writeBlock(t *testing.T, dir string, end time.Time) {
	t.Helper()
	w, err := tsdb.NewBlockWriter(quiet, dir, 2*time.Hour.Milliseconds())
	if err != nil {
		t.Fatal(err)
	}
	app := w.Appender(context.Background())
	start := end.Add(-2 * time.Hour)
	for s := 0; s < 200; s++ {
		ls := labels.FromStrings("__name__", "old_metric", "series", string(rune('a'+s%26))+string(rune('a'+s/26)))
		for ts := start; ts.Before(end); ts = ts.Add(15 * time.Second) {
			if _, err := app.Append(0, ls, ts.UnixMilli(), float64(ts.Unix()%1000)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

func TestRetentionDeletesOldBlocksAndFreesDisk(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	writeBlock(t, dir, now.Add(-72*time.Hour))
	writeBlock(t, dir, now.Add(-time.Hour))
	before := dirSize(t, dir)

	e, err := OpenEmbedded(Options{Dir: dir, Retention: 24 * time.Hour, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	after := dirSize(t, dir)
	if after >= before*3/4 {
		t.Errorf("disk use %d → %d bytes: the expired block was not removed", before, after)
	}
	if n := len(e.DB().Blocks()); n != 1 {
		t.Errorf("%d blocks left, want 1", n)
	}
	old, err := e.Query(context.Background(), `count(old_metric)`, now.Add(-73*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v := old.Value.(promql.Vector); len(v) != 0 {
		t.Errorf("expired data still queryable: %v", v)
	}
	recent, err := e.Query(context.Background(), `count(old_metric)`, now.Add(-90*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if v := recent.Value.(promql.Vector); len(v) != 1 || v[0].F != 200 {
		t.Errorf("recent data: %v", v)
	}
	t.Logf("disk %d → %d bytes", before, after)
}

func TestWriteCountsRejectedSamples(t *testing.T) {
	e, err := OpenEmbedded(Options{Dir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := time.Now().UnixMilli()
	st, err := e.Write(context.Background(), []Series{
		{Labels: labels.FromStrings("__name__", "ok", "a", "1"), Samples: []Sample{{T: now, V: 1}}},
		{Labels: labels.FromStrings("a", "no-name"), Samples: []Sample{{T: now, V: 1}}},
		{Labels: labels.FromStrings("__name__", "ancient"), Samples: []Sample{{T: now - (48 * time.Hour).Milliseconds(), V: 1}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Samples != 1 || st.Rejected != 2 {
		t.Errorf("stats = %+v, want 1 stored, 2 rejected", st)
	}
}

func TestQueryLimitsAreEnforced(t *testing.T) {
	e, err := OpenEmbedded(Options{Dir: t.TempDir(), Logger: quiet, MaxSamples: 10, QueryTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var series []Series
	now := time.Now()
	for i := 0; i < 50; i++ {
		series = append(series, Series{Labels: labels.FromStrings("__name__", "m", "i", string(rune('A'+i))),
			Samples: []Sample{{T: now.UnixMilli(), V: 1}}})
	}
	if _, err := e.Write(context.Background(), series); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(context.Background(), "m", now); err == nil {
		t.Error("query over MaxSamples succeeded")
	}
	if _, err := e.Query(context.Background(), "m{", now); err == nil {
		t.Error("bad PromQL accepted")
	} else if _, ok := err.(BadQueryError); !ok {
		t.Errorf("bad PromQL error type %T", err)
	}
}
