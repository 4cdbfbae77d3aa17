// Package tailbase holds what the log file tailers share: the delivered-id
// ring that turns the fileconsumer's at-least-once reading into exactly-once
// delivery, the checkpoint store written atomically with the tailer's own
// state, the hand-over of batches to a durable sink, and small text helpers.
package tailbase

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Ring remembers the ids of the most recently delivered lines, in memory
// and in an append-only file, so lines that the fileconsumer reads a second
// time after a crash (it resumes from its last checkpoint) are not shipped
// twice. The ids in memory are a circular buffer for their order and an
// open-addressing set for lookups (idSet), both allocated once for the
// capacity. It is not safe for concurrent use.
type Ring struct {
	path     string
	f        *os.File
	ids      []uint64 // circular buffer
	next     int
	full     bool
	set      *idSet // the ids in the buffer, with multiplicity
	fileIDs  int    // ids currently stored in the file
	capacity int
	dirty    bool // recorded but not yet fsynced
	broken   bool // an append failed; the file needs a rewrite
}

// OpenRing loads the ring stored at path, creating it if needed.
func OpenRing(path string, capacity int) (*Ring, error) {
	if capacity < 1 {
		return nil, errors.New("id ring capacity must be positive")
	}
	r := &Ring{
		path:     path,
		ids:      make([]uint64, capacity),
		set:      newIDSet(capacity),
		capacity: capacity,
	}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read id ring %s: %w", path, err)
	}
	// A crash while appending can leave a torn last entry; ignore it.
	n := len(data) / 8
	for i := range n {
		r.remember(binary.LittleEndian.Uint64(data[i*8:]))
	}
	if n > capacity || len(data)%8 != 0 {
		// Rewrite so the file holds only whole entries we still need.
		if err := r.compact(); err != nil {
			return nil, err
		}
		return r, nil
	}
	r.fileIDs = n
	r.f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open id ring %s: %w", path, err)
	}
	return r, nil
}

// Contains reports whether id is among the remembered ids.
func (r *Ring) Contains(id uint64) bool { return r.set.contains(id) }

func (r *Ring) remember(id uint64) {
	if r.full {
		r.set.remove(r.ids[r.next])
	}
	r.ids[r.next] = id
	r.set.add(id)
	r.next++
	if r.next == len(r.ids) {
		r.next = 0
		r.full = true
	}
}

// Record remembers ids and appends them to the file without waiting for the
// disk: once write returns, a process crash no longer loses them; Sync then
// protects against power loss. Memory is updated even when the write fails,
// so this process still suppresses the duplicates; only a restart after
// such a failure can re-ship these lines.
func (r *Ring) Record(ids []uint64) error {
	return r.RecordEncoded(ids, EncodeIDs(ids))
}

// EncodeIDs returns ids in the ring file's format, for RecordEncoded.
func EncodeIDs(ids []uint64) []byte {
	buf := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint64(buf[i*8:], id)
	}
	return buf
}

// RecordEncoded is Record with the file bytes prepared beforehand
// (EncodeIDs(ids)). It issues the write before anything else, so when it is
// called right after a sink's commit point, a crash in between is as
// unlikely as it can be made.
func (r *Ring) RecordEncoded(ids []uint64, buf []byte) error {
	if len(ids) == 0 {
		return nil
	}
	var werr error
	if r.f != nil {
		if _, err := r.f.Write(buf); err != nil {
			r.broken = true
			werr = fmt.Errorf("append id ring: %w", err)
		} else {
			r.fileIDs += len(ids)
		}
	}
	// Without an open file (a failed compaction), Sync rewrites it.
	r.dirty = true
	for _, id := range ids {
		r.remember(id)
	}
	return werr
}

// Sync makes recorded ids durable and bounds the file to twice the capacity.
func (r *Ring) Sync() error {
	if !r.dirty {
		return nil
	}
	if r.f == nil || r.broken || r.fileIDs > 2*r.capacity {
		// Rewriting from memory also repairs a file a failed append may
		// have left with a torn entry.
		if err := r.compact(); err != nil {
			return err
		}
		r.broken, r.dirty = false, false
		return nil
	}
	if err := r.f.Sync(); err != nil {
		return fmt.Errorf("fsync id ring: %w", err)
	}
	r.dirty = false
	return nil
}

// Ordered returns the remembered ids oldest first.
func (r *Ring) Ordered() []uint64 {
	if !r.full {
		return append([]uint64(nil), r.ids[:r.next]...)
	}
	out := make([]uint64, 0, len(r.ids))
	out = append(out, r.ids[r.next:]...)
	return append(out, r.ids[:r.next]...)
}

// compact rewrites the file with just the ids in memory, bounding its size
// to twice the capacity between compactions.
func (r *Ring) compact() error {
	ids := r.Ordered()
	buf := make([]byte, 8*len(ids))
	for i, id := range ids {
		binary.LittleEndian.PutUint64(buf[i*8:], id)
	}
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
	if err := WriteFileAtomic(r.path, buf); err != nil {
		return fmt.Errorf("compact id ring: %w", err)
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("reopen id ring %s: %w", r.path, err)
	}
	r.f = f
	r.fileIDs = len(ids)
	return nil
}

// Close closes the file; the ring must not be used afterwards.
func (r *Ring) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
