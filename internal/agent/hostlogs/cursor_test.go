package hostlogs

import (
	"path/filepath"
	"testing"
	"time"
)

// advance does what emit does after a batch the fileconsumer kept.
func advance(c *cursor, end int64) {
	c.Prev, c.End = c.End, position{Off: end}
}

func TestCursorsFollowGenerations(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "app.log")
	now := time.Now()
	cs := newCursors(cursorState{})

	a := cs.begin(live, 0, now)
	seedA := a.Seed
	advance(a, 100)
	if c := cs.begin(live, 100, now); c != a {
		t.Fatal("continuing batch got another cursor")
	}
	advance(a, 250)
	// Shutdown between the callback and the fileconsumer's check: it
	// resumes from where the last batch began.
	if c := cs.begin(live, 100, now); c != a || c.End.Off != 100 {
		t.Fatalf("re-read of the last batch: %+v", c)
	}
	advance(a, 250)

	// Rotation: a new generation at the live name, then the old one's tail
	// under its rotated name.
	b := cs.begin(live, 0, now)
	if b == a || b.Seed == seedA {
		t.Fatal("new generation at the same path reused the old seed")
	}
	if c := cs.begin(live+".1", 250, now); c != a || c.Path != live+".1" {
		t.Fatalf("rotated name did not adopt its generation: %+v", c)
	}
	st := cs.snapshot(now)
	if st.Epoch != 1 || len(st.Files) != 2 || len(st.Orphans) != 0 {
		t.Fatalf("snapshot %+v", st)
	}

	// After a restart the stored cursors give the same seeds.
	cs2 := newCursors(st)
	if c := cs2.begin(live+".1", 250, now); c.Seed != seedA {
		t.Fatal("restored rotated generation lost its seed")
	}
	if c := cs2.begin(live, 0, now); c.Seed != b.Seed {
		t.Fatal("restored live generation lost its seed")
	}

	// The live name's cursor is adopted by a rename it has not noticed yet.
	advance(cs2.files[live], 40)
	if c := cs2.begin(live+".2", 40, now); c.Seed != b.Seed {
		t.Fatal("rename before the new live file appeared was not followed")
	}
	if _, ok := cs2.files[live]; ok {
		t.Fatal("adopted cursor still under the live name")
	}

	// An unknown position gets a seed of its own, the same every time.
	x := cs2.begin(filepath.Join(dir, "other.log"), 77, now).Seed
	cs3 := newCursors(cursorState{})
	if y := cs3.begin(filepath.Join(dir, "other.log"), 77, now).Seed; x != y || x == seedA {
		t.Fatal("resume seed not deterministic")
	}
}

func TestCursorEpochSeedsAreReproducibleUntilCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cron.log")
	now := time.Now()
	cs := newCursors(cursorState{Epoch: 7})
	first := cs.begin(path, 0, now).Seed
	stored := cursorState{Epoch: 7} // a crash before the checkpoint

	// The re-read after the crash derives the same seed.
	if again := newCursors(stored).begin(path, 0, now).Seed; again != first {
		t.Fatal("seed differs on re-read before the checkpoint")
	}
	// After the checkpoint, a new generation at the same path differs.
	advance(cs.files[path], 30)
	st := cs.snapshot(now)
	if st.Epoch != 8 {
		t.Fatalf("epoch %d", st.Epoch)
	}
	cs = newCursors(st)
	if next := cs.begin(path, 0, now).Seed; next == first {
		t.Fatal("rewritten log reused its previous generation's seed")
	}
	// No new generation, no new epoch: idle checkpoints stay identical.
	advance(cs.files[path], 10)
	e := cs.snapshot(now).Epoch
	if cs.snapshot(now).Epoch != e {
		t.Fatal("epoch advanced without a new generation")
	}
}

func TestCursorSnapshotPrunes(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-2 * staleAfter)
	st := cursorState{
		Files: []*cursor{
			{Path: filepath.Join(dir, "gone.log"), Seen: old},
			{Path: filepath.Join(dir, "gone-recent.log"), Seen: now},
			{Path: dir, Seen: old}, // exists
		},
		Orphans: []*cursor{{Path: "a", Seen: old}, {Path: "b", Seen: now}},
	}
	got := newCursors(st).snapshot(now)
	if len(got.Files) != 2 || got.Files[0].Path != dir || len(got.Orphans) != 1 || got.Orphans[0].Path != "b" {
		t.Fatalf("pruned to %+v", got)
	}
}

func TestLineIDsDependOnSeedOffsetAndBytes(t *testing.T) {
	base := lineID(1, 10, []byte("x"))
	for _, other := range []uint64{lineID(2, 10, []byte("x")), lineID(1, 11, []byte("x")), lineID(1, 10, []byte("y"))} {
		if other == base {
			t.Fatal("line id ignores part of its input")
		}
	}
}
