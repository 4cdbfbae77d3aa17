package hostlogs

import (
	"encoding/binary"
	"os"
	"sort"
	"time"

	"github.com/cespare/xxhash/v2"
)

// Line ids.
//
// Plain-text log lines are not unique (the same message repeats, often
// within the same second), so a line is identified by where it is, not only
// by what it says: id = hash(generation seed, byte offset, raw bytes). A
// generation is one file's lifetime from offset 0; it keeps its seed through
// renames and copytruncate copies, so a line re-read after a crash, under
// whatever name its file has by then, gets the id it was shipped with. A new
// generation at the same path (the live file after rotation, a log that is
// truncated and rewritten) gets a new seed, so its lines never collide with
// those of the previous one even when they are byte-identical at the same
// offsets.
//
// The seed of a new generation is derived from the path, an epoch that
// advances at each checkpoint in which a generation began, and the number of
// generations the path had since the last checkpoint. A crash before that
// checkpoint re-reads the new files with the epoch still at its stored value
// and derives the same seeds; after the checkpoint the seed is in the stored
// cursor.

// position is a point in a file generation between two emitted tokens.
type position struct {
	Off int64 `json:"off"`
	// Cut is set when the token before Off was cut at MaxMessageBytes, so
	// the token at Off continues that line; Time and Level are the line's.
	Cut   bool      `json:"cut,omitempty"`
	Time  time.Time `json:"time,omitzero"`
	Level string    `json:"level,omitempty"`
}

// cursor follows one file generation.
type cursor struct {
	Path string   `json:"path"`
	Seed uint64   `json:"seed"`
	End  position `json:"end"`
	// Prev is where the last batch began. The fileconsumer keeps the offset
	// of a batch only if its context is still live after the callback
	// returned; when shutdown comes in between, it resumes from Prev.
	Prev position  `json:"prev"`
	Seen time.Time `json:"seen"`
}

// cursorState is the persisted form of the cursors.
type cursorState struct {
	Epoch   uint64    `json:"epoch"`
	Files   []*cursor `json:"files,omitempty"`
	Orphans []*cursor `json:"orphans,omitempty"`
}

// staleAfter is how long a cursor of a vanished path, or an orphan, is kept
// for a rotated name or a re-read to claim it. Claims come within a poll
// interval, or at the first poll after a restart.
const staleAfter = 10 * time.Minute

// cursors tracks the generations being read. It is not safe for concurrent
// use.
type cursors struct {
	files map[string]*cursor
	// orphans are cursors whose path now holds another file; the rotated
	// name their file continues under adopts them.
	orphans []*cursor
	epoch   uint64
	// newGens counts, per path, the generations begun since the last
	// snapshot; the fileconsumer saves after every poll, so it is rarely
	// more than one.
	newGens map[string]uint64
}

func newCursors(st cursorState) *cursors {
	cs := &cursors{files: make(map[string]*cursor), epoch: st.Epoch, newGens: make(map[string]uint64)}
	for _, c := range st.Files {
		if c != nil {
			cs.files[c.Path] = c
		}
	}
	for _, c := range st.Orphans {
		if c != nil {
			cs.orphans = append(cs.orphans, c)
		}
	}
	return cs
}

func hashSeed(kind string, path string, nums ...uint64) uint64 {
	h := xxhash.New()
	_, _ = h.WriteString(kind)
	_, _ = h.WriteString("\x00")
	_, _ = h.WriteString(path)
	var b [8]byte
	for _, n := range nums {
		binary.LittleEndian.PutUint64(b[:], n)
		_, _ = h.Write(b[:])
	}
	return h.Sum64()
}

// lineID identifies the token raw at offset off of the generation seed.
func lineID(seed uint64, off int64, raw []byte) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	h := xxhash.New()
	_, _ = h.Write(b[:])
	_, _ = h.Write(raw)
	return h.Sum64()
}

// begin returns the cursor for a batch of path starting at offset first,
// positioned there.
func (cs *cursors) begin(path string, first int64, now time.Time) *cursor {
	if c := cs.files[path]; c != nil {
		if c.at(first) {
			return c
		}
		// Another file took this path: the old one was renamed or copied
		// away. Park its cursor until its rotated name claims it.
		delete(cs.files, path)
		c.Seen = now
		cs.orphans = append(cs.orphans, c)
	}
	var c *cursor
	if first == 0 {
		// New files are always read from their start.
		c = &cursor{Seed: hashSeed("gen", path, cs.epoch+1, cs.newGens[path])}
		cs.newGens[path]++
	} else if c = cs.adopt(path, first); c == nil {
		// A position no cursor knows: a file first seen with the initial
		// backlog skipped, or one whose cursor was pruned.
		c = &cursor{Seed: hashSeed("resume", path, uint64(first)), End: position{Off: first}}
	}
	c.Path = path
	c.Seen = now
	cs.files[path] = c
	return c
}

// at positions c at off if it is where c's file was left, and reports
// whether it was.
func (c *cursor) at(off int64) bool {
	switch {
	case c.End.Off == off:
		return true
	case off > 0 && c.Prev.Off == off:
		c.End = c.Prev
		return true
	}
	return false
}

// adopt finds the cursor of the file now read as path from offset first:
// a former generation of the same log (same directory and rotation base)
// that stopped exactly there. Orphans are searched first; then a live
// name's cursor, for a rename the live name has not noticed yet.
func (cs *cursors) adopt(path string, first int64) *cursor {
	base := rotationBase(path)
	for i := len(cs.orphans) - 1; i >= 0; i-- {
		if o := cs.orphans[i]; rotationBase(o.Path) == base && o.at(first) {
			cs.orphans = append(cs.orphans[:i], cs.orphans[i+1:]...)
			return o
		}
	}
	for p, c := range cs.files {
		if p != path && rotationBase(p) == base && c.at(first) {
			delete(cs.files, p)
			return c
		}
	}
	return nil
}

// snapshot returns the state to store with a checkpoint and drops what can
// no longer be claimed. Pruning never costs correctness: a cursor that is
// not found only means the next batch of its file gets ids of its own,
// which matters solely for a re-read of lines shipped since the last
// checkpoint, and those cursors are fresh.
func (cs *cursors) snapshot(now time.Time) cursorState {
	if len(cs.newGens) > 0 {
		cs.epoch++
		clear(cs.newGens)
	}
	st := cursorState{Epoch: cs.epoch}
	kept := cs.orphans[:0]
	for _, o := range cs.orphans {
		if now.Sub(o.Seen) < staleAfter {
			kept = append(kept, o)
			st.Orphans = append(st.Orphans, o.clone())
		}
	}
	clear(cs.orphans[len(kept):])
	cs.orphans = kept
	paths := make([]string, 0, len(cs.files))
	for p, c := range cs.files {
		if now.Sub(c.Seen) >= staleAfter {
			if _, err := os.Lstat(p); err != nil {
				delete(cs.files, p)
				continue
			}
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		st.Files = append(st.Files, cs.files[p].clone())
	}
	return st
}

func (c *cursor) clone() *cursor {
	cp := *c
	return &cp
}
