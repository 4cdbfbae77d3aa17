package tailbase

import (
	"context"
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

// Deliverer hands payloads to a CommitSink and records their line ids in a
// Ring the moment the sink commits them. It is not safe for concurrent use;
// tailers call it under the lock that guards their batch.
type Deliverer struct {
	Sink CommitSink
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
	encoded := EncodeIDs(ids)
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
		err = d.Sink(ctx, payload, commit)
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
