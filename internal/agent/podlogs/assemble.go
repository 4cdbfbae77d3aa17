package podlogs

import (
	"sort"
	"time"

	"vigil/internal/agent/podlogs/tailbase"
)

// record is one log record ready to be encoded.
type record struct {
	ref      podRef
	path     string
	time     time.Time // zero for malformed lines
	observed time.Time
	stream   string
	body     []byte

	// truncated: the message exceeded the size bound and was cut here; the
	// rest follows in the next record(s) of the same stream.
	truncated bool
	// continuation: an earlier part of this message was already shipped.
	continuation bool
	// partial: the message's final "F" line never arrived (timeout or the
	// file went away), so this is what was collected.
	partial bool
	// malformed: the line is not CRI; body is the raw line.
	malformed bool

	// ids are the line ids whose last byte is part of this record. They are
	// recorded as delivered once the record is durably enqueued.
	ids []uint64
}

// partialMsg is a message being joined from "P" lines of one stream.
type partialMsg struct {
	Stream       string    `json:"stream"`
	Time         time.Time `json:"time"`
	Msg          []byte    `json:"msg"`
	IDs          []uint64  `json:"ids"`
	Continuation bool      `json:"continuation,omitempty"`

	updated time.Time
}

// fileState holds the unfinished messages of one log file. It exists only
// while the file has partials; End is the file offset after the last line
// seen, used to tell a continuing reader from a new file at the same path.
type fileState struct {
	Path     string                 `json:"path"`
	End      int64                  `json:"end"`
	Partials map[string]*partialMsg `json:"partials"`
}

// assembler joins CRI partial lines per file and stream and bounds the size
// of joined messages. It is not safe for concurrent use.
type assembler struct {
	root   string
	maxMsg int
	files  map[string]*fileState
	// orphans are states whose path now holds a different file (rotation).
	// A rotated file continuing at the same offset adopts them; otherwise
	// the partial timeout flushes them.
	orphans []*fileState
	// pending counts the ids of lines held in partials, so that lines
	// re-read after a restart are recognised as already consumed.
	pending map[uint64]int
}

func newAssembler(root string, maxMsg int) *assembler {
	return &assembler{
		root:    root,
		maxMsg:  maxMsg,
		files:   make(map[string]*fileState),
		pending: make(map[uint64]int),
	}
}

func (a *assembler) isPending(id uint64) bool { return a.pending[id] > 0 }

// begin returns the state for a batch of lines of path starting at offset
// first, or nil when the file has nothing unfinished. firstKnown reports
// whether the first line of the batch was already consumed, which means the
// batch re-reads the same file after a restart rather than a new file.
func (a *assembler) begin(path string, first int64, firstKnown bool) *fileState {
	fs := a.files[path]
	if fs != nil && fs.End != first && !firstKnown {
		// Another file took this path: the old one was renamed or copied
		// away. Park its partials until its rotated name claims them.
		delete(a.files, path)
		a.orphans = append(a.orphans, fs)
		fs = nil
	}
	if fs != nil {
		return fs
	}
	base, ok := rotatedBase(path)
	if !ok {
		return nil
	}
	// The rotated file continues exactly where the live name left off.
	if src := a.files[base]; src != nil && src.End == first {
		delete(a.files, base)
		src.Path = path
		a.files[path] = src
		return src
	}
	for i, o := range a.orphans {
		if o.Path == base && o.End == first {
			a.orphans = append(a.orphans[:i], a.orphans[i+1:]...)
			o.Path = path
			a.files[path] = o
			return o
		}
	}
	return nil
}

// end records the offset after the batch and drops states with no partials.
func (a *assembler) end(fs *fileState, end int64) {
	if fs == nil {
		return
	}
	fs.End = end
	if len(fs.Partials) == 0 {
		delete(a.files, fs.Path)
	}
}

// addLine consumes one raw line of path. It returns the file state, which is
// created when the line starts a partial message. Completed records go to out.
func (a *assembler) addLine(fs *fileState, path string, ref podRef, raw []byte, id uint64, now time.Time, out func(record)) *fileState {
	line, err := ParseCRI(raw)
	if err != nil {
		a.emitMalformed(path, ref, raw, id, now, out)
		return fs
	}
	if fs == nil {
		fs = &fileState{Path: path, Partials: make(map[string]*partialMsg)}
		a.files[path] = fs
	}
	if fs.Partials == nil {
		fs.Partials = make(map[string]*partialMsg)
	}
	p := fs.Partials[line.Stream]
	if p == nil {
		p = &partialMsg{Stream: line.Stream, Time: line.Time}
		fs.Partials[line.Stream] = p
	}

	msg := line.Message
	// Cut oversized messages into bounded records instead of dropping the
	// rest: every byte the runtime wrote reaches the server.
	for len(p.Msg)+len(msg) > a.maxMsg {
		n := tailbase.CutPoint(msg, a.maxMsg-len(p.Msg))
		p.Msg = append(p.Msg, msg[:n]...)
		msg = msg[n:]
		a.release(p.IDs)
		out(record{
			ref: ref, path: path, time: p.Time, observed: now, stream: p.Stream,
			body: p.Msg, truncated: true, continuation: p.Continuation, ids: p.IDs,
		})
		p = &partialMsg{Stream: line.Stream, Time: p.Time, Continuation: true}
		fs.Partials[line.Stream] = p
	}
	p.Msg = append(p.Msg, msg...)
	p.IDs = append(p.IDs, id)
	a.pending[id]++
	p.updated = now

	if !line.Partial {
		delete(fs.Partials, line.Stream)
		a.release(p.IDs)
		out(record{
			ref: ref, path: path, time: p.Time, observed: now, stream: p.Stream,
			body: p.Msg, continuation: p.Continuation, ids: p.IDs,
		})
	}
	return fs
}

func (a *assembler) emitMalformed(path string, ref podRef, raw []byte, id uint64, now time.Time, out func(record)) {
	for len(raw) > a.maxMsg {
		n := tailbase.CutPoint(raw, a.maxMsg)
		out(record{ref: ref, path: path, observed: now, body: raw[:n:n], malformed: true, truncated: true})
		raw = raw[n:]
	}
	out(record{ref: ref, path: path, observed: now, body: raw, malformed: true, ids: []uint64{id}})
}

func (a *assembler) release(ids []uint64) {
	for _, id := range ids {
		if a.pending[id] <= 1 {
			delete(a.pending, id)
		} else {
			a.pending[id]--
		}
	}
}

// flushStale emits partial messages that saw no continuation since before
// deadline (and all of them when deadline is zero), marked as partial.
func (a *assembler) flushStale(deadline time.Time, now time.Time, out func(record)) {
	flush := func(fs *fileState) {
		ref := parsePodLogPath(a.root, fs.Path)
		// Sorted for a deterministic record order.
		streams := make([]string, 0, len(fs.Partials))
		for s := range fs.Partials {
			streams = append(streams, s)
		}
		sort.Strings(streams)
		for _, s := range streams {
			p := fs.Partials[s]
			if !deadline.IsZero() && p.updated.After(deadline) {
				continue
			}
			delete(fs.Partials, s)
			a.release(p.IDs)
			out(record{
				ref: ref, path: fs.Path, time: p.Time, observed: now, stream: p.Stream,
				body: p.Msg, continuation: p.Continuation, partial: true, ids: p.IDs,
			})
		}
	}
	paths := make([]string, 0, len(a.files))
	for path := range a.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		fs := a.files[path]
		flush(fs)
		if len(fs.Partials) == 0 {
			delete(a.files, path)
		}
	}
	kept := a.orphans[:0]
	for _, o := range a.orphans {
		flush(o)
		if len(o.Partials) > 0 {
			kept = append(kept, o)
		}
	}
	clear(a.orphans[len(kept):])
	a.orphans = kept
}

// assemblerState is the persisted form of the unfinished messages.
type assemblerState struct {
	Files   []*fileState `json:"files,omitempty"`
	Orphans []*fileState `json:"orphans,omitempty"`
}

// snapshot returns a deep copy of the unfinished messages for the checkpoint.
func (a *assembler) snapshot() assemblerState {
	var st assemblerState
	cp := func(fs *fileState) *fileState {
		c := &fileState{Path: fs.Path, End: fs.End, Partials: make(map[string]*partialMsg, len(fs.Partials))}
		for s, p := range fs.Partials {
			c.Partials[s] = &partialMsg{
				Stream: p.Stream, Time: p.Time, Continuation: p.Continuation,
				Msg: append([]byte(nil), p.Msg...), IDs: append([]uint64(nil), p.IDs...),
			}
		}
		return c
	}
	paths := make([]string, 0, len(a.files))
	for path := range a.files {
		paths = append(paths, path)
	}
	sort.Strings(paths)
	for _, path := range paths {
		st.Files = append(st.Files, cp(a.files[path]))
	}
	for _, o := range a.orphans {
		st.Orphans = append(st.Orphans, cp(o))
	}
	return st
}

// restore loads persisted partials. A partial any of whose lines is already
// delivered was completed and enqueued after the checkpoint was written, so
// it is dropped; its remaining lines are then skipped as duplicates on re-read.
func (a *assembler) restore(st assemblerState, delivered func(uint64) bool, now time.Time) {
	keep := func(fs *fileState) bool {
		if fs == nil {
			return false
		}
		for s, p := range fs.Partials {
			if p == nil || p.Stream != s || anyDelivered(p.IDs, delivered) {
				delete(fs.Partials, s)
				continue
			}
			p.updated = now
			for _, id := range p.IDs {
				a.pending[id]++
			}
		}
		return len(fs.Partials) > 0
	}
	for _, fs := range st.Files {
		if keep(fs) {
			a.files[fs.Path] = fs
		}
	}
	for _, o := range st.Orphans {
		if keep(o) {
			a.orphans = append(a.orphans, o)
		}
	}
}

func anyDelivered(ids []uint64, delivered func(uint64) bool) bool {
	for _, id := range ids {
		if delivered(id) {
			return true
		}
	}
	return false
}
