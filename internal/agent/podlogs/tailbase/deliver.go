package tailbase

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// CommitSink receives one OTLP/HTTP protobuf ExportLogsServiceRequest and
// calls committed at the instant the payload becomes part of its durable
// queue, before any fsync it does afterwards; it returns an error only when
// it did not accept the payload. committed must be called at most once and
// only when the sink then returns nil.
type CommitSink func(ctx context.Context, payload []byte, committed func()) error

// Queue is a durable queue that stores an opaque metadata blob with each
// payload, committed together with it (shipper.Shipper.Queue returns one).
type Queue interface {
	// EnqueueMeta has the contract of a CommitSink, and stores meta so that
	// whenever the payload is queued, PendingMeta returns meta.
	EnqueueMeta(ctx context.Context, payload, meta []byte, committed func()) error
	// PendingMeta calls fn, oldest first, with the metadata of each payload
	// still queued.
	PendingMeta(fn func(meta []byte))
}

// Deliverer hands payloads to a Queue (or a CommitSink) and records their
// line ids in a Ring the moment the queue commits them. It is not safe for
// concurrent use; tailers call it under the lock that guards their batch.
//
// With a Queue the ids also travel with the payload, as its metadata, so a
// crash between the queue's commit and the ring's write cannot lose them:
// Reconcile, run at start, adds the ids of the payloads still queued to the
// ring. A payload leaves the queue only after a network round trip, which
// takes far longer than the ring's write right after the commit, so a
// payload whose ids the ring lacks is still queued.
type Deliverer struct {
	// Queue receives the payloads; when nil, Sink does.
	Queue Queue
	Sink  CommitSink
	// Tag names the producer in the metadata, so that producers sharing a
	// queue each reconcile their own ids only.
	Tag  string
	Ring *Ring
	Log  *slog.Logger

	sinkErrors atomic.Uint64
}

// SinkErrors counts failed sink attempts.
func (d *Deliverer) SinkErrors() uint64 { return d.sinkErrors.Load() }

// Deliver hands payload to the sink, retrying failures with jittered
// exponential backoff until ctx ends, and records ids as delivered. It
// returns an error only when ctx ended before the sink accepted the payload.
func (d *Deliverer) Deliver(ctx context.Context, payload []byte, ids []uint64) error {
	var meta, encoded []byte
	if d.Queue != nil {
		meta = EncodeMeta(d.Tag, ids)
		encoded = meta[len(meta)-8*len(ids):]
	} else {
		encoded = EncodeIDs(ids)
	}
	recorded := false
	commit := func() {
		if recorded {
			return
		}
		recorded = true
		if err := d.Ring.RecordEncoded(ids, encoded); err != nil {
			// The batch is accepted regardless; this only widens the
			// duplicate window until the ring is rewritten.
			d.Log.Error("record delivered log lines", "err", err)
		}
	}
	backoff := 100 * time.Millisecond
	var err error
	for {
		if d.Queue != nil {
			err = d.Queue.EnqueueMeta(ctx, payload, meta, commit)
		} else {
			err = d.Sink(ctx, payload, commit)
		}
		if err == nil || recorded {
			break
		}
		d.sinkErrors.Add(1)
		if ctx.Err() != nil {
			return fmt.Errorf("hand batch to sink: %w", err)
		}
		d.Log.Warn("sink refused log batch, retrying", "err", err, "retry_in", backoff)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("hand batch to sink: %w", ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
	if err != nil {
		d.Log.Error("sink failed after accepting a log batch", "err", err)
	}
	commit()
	if err := d.Ring.Sync(); err != nil {
		d.Log.Error("persist delivered log lines", "err", err)
	}
	return nil
}

// Reconcile adds to the ring the ids of this producer's payloads that are
// still queued and that the ring lacks (a crash fell between the queue's
// commit and the ring's write), and makes them durable. It returns how many
// ids it added. Tailers call it at start, before reading any file and
// before the queue begins sending; without a Queue it does nothing.
//
// Only the newest queued ids, as many as the ring holds, are considered:
// they are the lines delivered last, which a restart may read again, and
// adding older ones would evict them.
func (d *Deliverer) Reconcile() (int, error) {
	if d.Queue == nil {
		return 0, nil
	}
	// window keeps the newest ring-capacity ids, circularly from next.
	capacity := d.Ring.capacity
	var window []uint64
	next, bad := 0, 0
	d.Queue.PendingMeta(func(meta []byte) {
		ids, err := DecodeMeta(d.Tag, meta)
		switch {
		case errors.Is(err, errOtherTag):
			return
		case err != nil:
			bad++
			return
		}
		if len(ids) > capacity {
			ids = ids[len(ids)-capacity:]
		}
		for _, id := range ids {
			if len(window) < capacity {
				window = append(window, id)
				continue
			}
			window[next] = id
			next = (next + 1) % capacity
		}
	})
	if bad > 0 {
		d.Log.Warn("queued batches with unreadable metadata; their lines may be shipped again", "batches", bad)
	}
	var missing []uint64
	for _, part := range [][]uint64{window[next:], window[:next]} {
		for _, id := range part {
			if !d.Ring.Contains(id) {
				missing = append(missing, id)
			}
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	d.Log.Info("restored delivered-line ids from queued batches", "ids", len(missing))
	// A write error leaves them in memory, which covers this run; Sync
	// rewrites the file.
	_ = d.Ring.Record(missing)
	if err := d.Ring.Sync(); err != nil {
		return len(missing), fmt.Errorf("persist restored line ids: %w", err)
	}
	return len(missing), nil
}

// The metadata a Deliverer stores with a payload: a version byte, the
// length of the tag, the tag, then the line ids in the ring file's format.
const metaVersion = 1

var errOtherTag = errors.New("metadata of another producer")

// EncodeMeta returns the metadata for a payload of tag's lines ids.
func EncodeMeta(tag string, ids []uint64) []byte {
	if len(tag) > 255 {
		panic("tailbase: metadata tag longer than 255 bytes")
	}
	buf := make([]byte, 2+len(tag)+8*len(ids))
	buf[0] = metaVersion
	buf[1] = byte(len(tag))
	n := 2 + copy(buf[2:], tag)
	for i, id := range ids {
		binary.LittleEndian.PutUint64(buf[n+8*i:], id)
	}
	return buf
}

// DecodeMeta returns the ids of metadata written by EncodeMeta for tag.
func DecodeMeta(tag string, meta []byte) ([]uint64, error) {
	if len(meta) < 2 || meta[0] != metaVersion {
		return nil, errors.New("unknown metadata format")
	}
	n := 2 + int(meta[1])
	if len(meta) < n || (len(meta)-n)%8 != 0 {
		return nil, errors.New("truncated metadata")
	}
	if string(meta[2:n]) != tag {
		return nil, errOtherTag
	}
	ids := make([]uint64, (len(meta)-n)/8)
	for i := range ids {
		ids[i] = binary.LittleEndian.Uint64(meta[n+8*i:])
	}
	return ids, nil
}
