// Package podlogs tails the kubelet's container log files, parses the CRI
// log format and hands OTLP log batches to a durable sink, exactly once per
// line within the limits documented on Tailer.
package podlogs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/attrs"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/trim"
	"go.opentelemetry.io/collector/component"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"vigil/internal/agent/podlogs/tailbase"
)

// Defaults for Config fields left zero.
const (
	DefaultRoot            = "/var/log/pods"
	DefaultMaxMessageBytes = 1 << 20
	DefaultPollInterval    = 200 * time.Millisecond
	DefaultMaxBatchRecords = 1000
	DefaultMaxBatchBytes   = 1 << 20
	DefaultDedupCapacity   = 1 << 18
	DefaultPartialTimeout  = 5 * time.Second
	DefaultShutdownTimeout = 10 * time.Second

	stateFileName = "podlogs-state.json"
	ringFileName  = "podlogs-delivered.ids"
	queueTag      = "podlogs" // names this tailer's batches in a shared Queue
	minMessage    = 64
)

// Config configures a Tailer.
type Config struct {
	// Root is the kubelet pod log directory.
	Root string
	// StateDir holds the checkpoint and the delivered-id ring. Required.
	StateDir string
	// NodeName is reported as k8s.node.name.
	NodeName string
	// Enricher adds workload and labels; may be nil.
	Enricher Enricher
	// MaxMessageBytes bounds a joined message; longer ones are cut into
	// several records marked log.truncated.
	MaxMessageBytes int
	// PollInterval is how often files are checked for new data.
	PollInterval time.Duration
	// MaxBatchRecords and MaxBatchBytes bound one payload handed to the sink.
	MaxBatchRecords int
	MaxBatchBytes   int
	// DedupCapacity is how many delivered line ids are remembered.
	DedupCapacity int
	// PartialTimeout is how long a partial message waits for its final line
	// before it is shipped as is, marked log.partial.
	PartialTimeout time.Duration
	// ShutdownTimeout bounds the final flush after Run's context ends.
	ShutdownTimeout time.Duration
	// CommitSink, when set, is used instead of the sink passed to New (which
	// may then be nil); see CommitSink.
	CommitSink CommitSink
	// Queue, when set, is used instead of CommitSink and the sink passed to
	// New; see Queue. It is the only one of the three that no crash can
	// make re-ship a batch it queued.
	Queue Queue
}

func (c *Config) setDefaults() {
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.PollInterval == 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MaxBatchRecords == 0 {
		c.MaxBatchRecords = DefaultMaxBatchRecords
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.DedupCapacity == 0 {
		c.DedupCapacity = DefaultDedupCapacity
	}
	if c.PartialTimeout == 0 {
		c.PartialTimeout = DefaultPartialTimeout
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

func (c *Config) validate() error {
	switch {
	case c.StateDir == "":
		return errors.New("state dir is required")
	case c.MaxMessageBytes < minMessage:
		return fmt.Errorf("max message bytes must be at least %d", minMessage)
	case c.PollInterval < 0, c.PartialTimeout < 0, c.ShutdownTimeout < 0:
		return errors.New("durations must not be negative")
	case c.MaxBatchRecords < 1, c.MaxBatchBytes < 1, c.DedupCapacity < 1:
		return errors.New("batch limits and dedup capacity must be positive")
	}
	return nil
}

// Sink receives one OTLP/HTTP protobuf ExportLogsServiceRequest and returns
// only once the payload is durably accepted (e.g. the shipper's Enqueue
// bound to the logs signal). It returns an error only when it did not
// accept the payload; the tailer then retries until its context ends.
type Sink func(ctx context.Context, payload []byte) error

// CommitSink is a Sink that also calls committed at the instant the payload
// becomes part of its durable queue, before any fsync it does afterwards
// (shipper.EnqueueCommit has this shape). The tailer records the batch's
// lines as delivered inside committed, which shrinks the crash window
// between the sink's queue and the tailer's id ring from an fsync to two
// adjacent syscalls; a Queue closes it. committed must be called at most
// once and only when the sink then returns nil.
type CommitSink func(ctx context.Context, payload []byte, committed func()) error

// Queue is a durable queue that keeps each batch's line ids with the batch,
// committed by the same step (shipper.Shipper.Queue(shipper.Logs) returns
// one). EnqueueMeta has the contract of CommitSink. New adds the ids of
// this tailer's batches that are still queued to the delivered-id ring, so
// a crash between the queue's commit and the ring's write cannot make the
// lines of a queued batch ship again; New must therefore run before the
// queue starts sending (before shipper.Run). Several tailers may share one
// queue: each restores only its own batches' ids.
type Queue = tailbase.Queue

// Stats are cumulative counters.
type Stats struct {
	Lines      uint64 // lines consumed (duplicates not counted)
	Duplicates uint64 // lines skipped because they were already shipped
	Records    uint64 // log records shipped
	Batches    uint64 // payloads accepted by the sink
	SinkErrors uint64 // failed sink attempts
}

// Tailer ships container logs.
//
// Delivery: the fileconsumer is at-least-once, it resumes from its last
// checkpoint (saved after every poll) and so re-reads what was read after it.
// The tailer makes that exactly-once:
//   - every line gets an id (hash of pod UID, container and the raw line,
//     which includes the runtime's nanosecond timestamp);
//   - before a checkpoint is written, all records read so far are handed to
//     the sink, and the partial messages still being joined are stored in
//     the same atomic file write as the checkpoint;
//   - when the sink accepts a batch, its line ids are appended (then fsynced)
//     to a bounded ring in the state dir;
//   - with a Queue, the batch's line ids are also stored in the queue with
//     the batch, and at start the ids of the batches still queued are added
//     to the ring: the ring can lag behind the queue only for batches that
//     are still queued, and those are exactly the ones it reconciles;
//   - a line whose id is in the ring, in the unsent batch or in a stored
//     partial is skipped.
//
// Residual windows:
//   - duplicate, without a Queue only: a crash after the sink accepted a
//     batch and before its ids were written to the ring file re-ships that
//     batch. With a plain Sink the window spans the sink's return path (for
//     the shipper, its directory fsync, about a millisecond per batch); with
//     a CommitSink it is the gap between the sink's rename and the ring's
//     write(2). With a Queue a batch and its ids are committed together;
//   - duplicate: a power loss after the queue sent and deleted a batch and
//     before the ring's fsync of its ids (the queue's send takes a network
//     round trip, the fsync follows the commit at once); without a Queue,
//     any power loss before that fsync. The ids are written to the ring
//     after the batch's rename, so a journaling filesystem that commits
//     metadata in order (ext4, XFS) never keeps the ids without the batch;
//   - duplicate: a re-read longer than DedupCapacity lines re-ships the lines
//     that fell out of the ring. The checkpoint is saved at the end of each
//     poll, so this needs a crash during a poll that read more than that,
//     i.e. while catching up on a large backlog;
//   - duplicate: the shipper's own window (the server accepted a batch, then
//     the agent died before deleting the batch file);
//   - merged: a container writing byte-identical lines on the same stream at
//     the same nanosecond, or a 64-bit id collision, ships the line once;
//   - loss: a file deleted before it was read to the end (e.g. rotated
//     twice or removed with its pod while the agent was down), a file
//     replaced by one with the same first kilobyte (the fileconsumer takes
//     it for the old one; CRI lines start with nanosecond timestamps), and
//     an unterminated last line, which is read only once its newline comes.
type Tailer struct {
	cfg  Config
	sink CommitSink
	log  *slog.Logger

	mgr     *fileconsumer.Manager
	store   *tailbase.Store[assemblerState]
	deliver *tailbase.Deliverer

	mu         sync.Mutex
	ring       *tailbase.Ring
	asm        *assembler
	batch      []record
	batchIDs   map[uint64]int
	batchBytes int
	lastFlush  time.Time

	// flushCtx is used by flushes not driven by an emit; it outlives Run's
	// context by ShutdownTimeout so the final checkpoint can be written.
	flushCtx atomic.Pointer[context.Context]

	running atomic.Bool

	lines, dups, records, batches atomic.Uint64
}

// New prepares a Tailer. It loads the state from cfg.StateDir but reads no
// log file until Run.
func New(cfg Config, sink Sink, logger *slog.Logger) (*Tailer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("podlogs config: %w", err)
	}
	commitSink := cfg.CommitSink
	if commitSink == nil && cfg.Queue == nil {
		if sink == nil {
			return nil, errors.New("podlogs: sink is required")
		}
		commitSink = func(ctx context.Context, payload []byte, _ func()) error { return sink(ctx, payload) }
	}
	if logger == nil {
		logger = slog.Default()
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("podlogs root: %w", err)
	}
	cfg.Root = filepath.Clean(root)
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}

	t := &Tailer{
		cfg:      cfg,
		sink:     commitSink,
		log:      logger,
		asm:      newAssembler(cfg.Root, cfg.MaxMessageBytes),
		batchIDs: make(map[uint64]int),
	}
	bg := context.Background()
	t.flushCtx.Store(&bg)

	t.store, err = tailbase.OpenStore[assemblerState](filepath.Join(cfg.StateDir, stateFileName), "partials", logger)
	if err != nil {
		return nil, err
	}
	t.ring, err = tailbase.OpenRing(filepath.Join(cfg.StateDir, ringFileName), cfg.DedupCapacity)
	if err != nil {
		return nil, err
	}
	t.deliver = &tailbase.Deliverer{Queue: cfg.Queue, Sink: tailbase.CommitSink(commitSink), Tag: queueTag, Ring: t.ring, Log: logger}
	if _, err := t.deliver.Reconcile(); err != nil {
		// The ids are in memory; only a crash before the next ring write
		// could still re-ship those batches.
		logger.Error("persist line ids of queued batches", "err", err)
	}
	t.asm.restore(t.store.Loaded(), t.ring.Contains, time.Now())
	t.store.Prepare = t.prepareCheckpoint

	fc := fileconsumer.NewConfig()
	fc.Include = []string{filepath.Join(cfg.Root, "*", "*", "*.log*")}
	// Rotated files are read too (a copytruncate copy holds the lines written
	// between the last read and the truncation); compressed ones were
	// already read before the kubelet compressed them.
	fc.Exclude = []string{filepath.Join(cfg.Root, "*", "*", "*.gz")}
	fc.StartAt = "beginning"
	fc.PollInterval = cfg.PollInterval
	// Raw bytes in, untouched: the CRI parser handles the message and
	// invalid UTF-8, and the line id hashes exactly what is on disk.
	fc.Encoding = "utf-8-raw"
	fc.TrimConfig = trim.Config{PreserveLeading: true, PreserveTrailing: true}
	// Never emit a line before its newline: the runtime writes whole lines,
	// and a forced flush would split one that is being written.
	fc.FlushPeriod = 0
	// A runtime line is at most a 16 KiB chunk plus its header; anything
	// longer is cut by the fileconsumer and the continuation shows up as a
	// malformed line rather than being lost.
	fc.MaxLogSize = helper.ByteSize(cfg.MaxMessageBytes + 64<<10)
	fc.Resolver = attrs.Resolver{IncludeFilePath: true}

	set := component.TelemetrySettings{
		Logger:         tailbase.NewZapLogger(logger),
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
	}
	t.mgr, err = fc.Build(set, t.emit, fileconsumer.WithSplitFunc(splitLines))
	if err != nil {
		_ = t.ring.Close()
		return nil, fmt.Errorf("build fileconsumer: %w", err)
	}
	return t, nil
}

// splitLines splits on '\n' and never returns an unterminated line.
func splitLines(data []byte, _ bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	return 0, nil, nil
}

// Run tails until ctx ends, then stops the fileconsumer, ships what was read
// and saves the checkpoint; it may be called once per Tailer. It returns nil
// after a clean shutdown and an error when the final checkpoint could not be
// saved (the next start then resumes from the previous one, and the ring
// suppresses what was shipped since).
func (t *Tailer) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("podlogs: Run called twice")
	}
	defer func() {
		t.mu.Lock()
		_ = t.ring.Close()
		t.mu.Unlock()
	}()

	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	t.flushCtx.Store(&flushCtx)

	if err := t.mgr.Start(t.store); err != nil {
		return fmt.Errorf("start fileconsumer: %w", err)
	}
	t.log.Info("tailing pod logs", "root", t.cfg.Root, "state_dir", t.cfg.StateDir)

	var wg sync.WaitGroup
	tickCtx, stopTick := context.WithCancel(ctx)
	wg.Go(func() { t.tick(tickCtx) })

	<-ctx.Done()
	stopTick()
	wg.Wait()

	timer := time.AfterFunc(t.cfg.ShutdownTimeout, cancelFlush)
	defer timer.Stop()
	// Stop waits for the current poll, then saves the checkpoint through the
	// store, which first ships everything read.
	if err := t.mgr.Stop(); err != nil {
		return fmt.Errorf("stop fileconsumer: %w", err)
	}
	if err := t.store.Err(); err != nil {
		return fmt.Errorf("final checkpoint: %w", err)
	}
	t.log.Info("pod log tailing stopped")
	return nil
}

// Stats returns a snapshot of the counters.
func (t *Tailer) Stats() Stats {
	return Stats{
		Lines:      t.lines.Load(),
		Duplicates: t.dups.Load(),
		Records:    t.records.Load(),
		Batches:    t.batches.Load(),
		SinkErrors: t.deliver.SinkErrors(),
	}
}

// tick ships partial messages whose final line is overdue and batches that
// wait longer than a poll interval.
func (t *Tailer) tick(ctx context.Context) {
	interval := min(t.cfg.PollInterval, t.cfg.PartialTimeout)
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	tk := time.NewTicker(interval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		now := time.Now()
		t.mu.Lock()
		t.asm.flushStale(now.Add(-t.cfg.PartialTimeout), now, t.appendLocked)
		var err error
		if len(t.batch) > 0 && now.Sub(t.lastFlush) >= t.cfg.PollInterval {
			err = t.flushLocked(ctx)
		}
		t.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			t.log.Error("ship pod logs", "err", err)
		}
	}
}

// emit is the fileconsumer callback: tokens are consecutive lines of one
// file; offsets[i] is where token i starts and offsets[len(tokens)] where the
// last one ends. The fileconsumer advances its offset only if ctx is still
// live when emit returns, and it calls emit for different files
// concurrently.
func (t *Tailer) emit(ctx context.Context, tokens [][]byte, attributes map[string]any, _ int64, offsets []int64) error {
	if len(tokens) == 0 {
		return nil
	}
	path, _ := attributes[attrs.LogFilePath].(string)
	ref := parsePodLogPath(t.cfg.Root, path)
	now := time.Now()

	ids := make([]uint64, len(tokens))
	for i, tok := range tokens {
		ids[i] = lineID(ref, path, tok)
	}

	t.mu.Lock()
	defer t.mu.Unlock()

	var first, end int64
	if len(offsets) > len(tokens) {
		first, end = offsets[0], offsets[len(tokens)]
	}
	fs := t.asm.begin(path, first, t.seenLocked(ids[0]))
	for i, tok := range tokens {
		if t.seenLocked(ids[i]) {
			t.dups.Add(1)
			continue
		}
		t.lines.Add(1)
		fs = t.asm.addLine(fs, path, ref, tok, ids[i], now, t.appendLocked)
		// Checked per line so a run of huge lines cannot pile up in memory.
		if len(t.batch) >= t.cfg.MaxBatchRecords || t.batchBytes >= t.cfg.MaxBatchBytes {
			if err := t.flushLocked(ctx); err != nil {
				// Shutting down: the fileconsumer keeps its offset before
				// this emit; what was consumed stays in the batch or the
				// partials for the final checkpoint, and is skipped when
				// re-read.
				if len(offsets) > i+1 {
					t.asm.end(fs, offsets[i+1])
				}
				return err
			}
		}
	}
	t.asm.end(fs, end)
	return nil
}

// seenLocked reports whether a line was already consumed: delivered, waiting
// in the batch, or held in a partial message.
func (t *Tailer) seenLocked(id uint64) bool {
	return t.ring.Contains(id) || t.batchIDs[id] > 0 || t.asm.isPending(id)
}

func (t *Tailer) appendLocked(r record) {
	if r.malformed {
		// Raw tokens may share memory with the reader's buffers.
		r.body = bytes.Clone(r.body)
	}
	t.batch = append(t.batch, r)
	for _, id := range r.ids {
		t.batchIDs[id]++
	}
	t.batchBytes += recordSize(r)
}

// flushLocked hands the batch to the sink, retrying failures with backoff
// until ctx ends, then records its line ids as delivered. On error the batch
// is kept for the next attempt.
func (t *Tailer) flushLocked(ctx context.Context) error {
	if len(t.batch) == 0 {
		return nil
	}
	// One payload per call keeps memory bounded by the batch limits, which
	// the emit path enforces before the batch grows much past them.
	// Stack traces become one record each. Joining only merges records
	// (their line ids travel together), so a failed delivery retried with
	// the same batch ships the same records.
	t.batch = joinTraces(t.batch, t.cfg.MaxMessageBytes)
	payload, err := tailbase.EncodeLogs(buildLogs(t.batch, t.cfg.NodeName, t.cfg.Enricher))
	if err != nil {
		return err
	}
	var ids []uint64
	for _, r := range t.batch {
		ids = append(ids, r.ids...)
	}
	if err := t.deliver.Deliver(ctx, payload, ids); err != nil {
		return err
	}
	t.records.Add(uint64(len(t.batch)))
	t.batches.Add(1)
	clear(t.batch)
	t.batch = t.batch[:0]
	clear(t.batchIDs)
	t.batchBytes = 0
	t.lastFlush = time.Now()
	return nil
}

// prepareCheckpoint runs before the store writes a checkpoint: everything
// read so far is shipped, then the partials are captured. The fileconsumer
// saves only between polls, when no emit is running, so the captured state
// matches the offsets being saved.
func (t *Tailer) prepareCheckpoint(_ context.Context) (assemblerState, error) {
	ctx := *t.flushCtx.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flushLocked(ctx); err != nil {
		return assemblerState{}, err
	}
	return t.asm.snapshot(), nil
}
