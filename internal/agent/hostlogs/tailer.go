// Package hostlogs tails plain-text log files of the host (syslog, daemons'
// own *.log files) and hands OTLP log batches to a durable sink, exactly
// once per line within the limits documented on Tailer. It is what gives a
// machine without Kubernetes real logs to search.
package hostlogs

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
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer/matcher"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/operator/helper"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/trim"
	"go.opentelemetry.io/collector/component"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"vigil/internal/agent/podlogs/tailbase"
)

// Defaults for Config fields left zero.
const (
	DefaultMaxMessageBytes = 64 << 10
	DefaultBacklogLimit    = 64 << 20
	DefaultPollInterval    = 500 * time.Millisecond
	DefaultMaxBatchRecords = 1000
	DefaultMaxBatchBytes   = 1 << 20
	DefaultDedupCapacity   = 1 << 18
	DefaultShutdownTimeout = 10 * time.Second

	stateFileName = "hostlogs-state.json"
	ringFileName  = "hostlogs-delivered.ids"
	queueTag      = "hostlogs" // names this tailer's batches in a shared Queue
	minMessage    = 64
)

// DefaultInclude returns the files tailed when Config.Include is empty: the
// syslog files of Debian and Red Hat style systems and daemons' *.log files,
// with their first rotated generation. The rotated names matter for
// copytruncate rotation, where the copy holds the lines written between the
// last read and the truncation; a renamed file is read to its end through
// the open handle whatever its new name.
func DefaultInclude() []string {
	return []string{
		"/var/log/*.log", "/var/log/*.log.1",
		"/var/log/syslog", "/var/log/syslog.1",
		"/var/log/messages", "/var/log/messages.1",
	}
}

// DefaultExclude returns the patterns skipped when Config.Exclude is nil:
// compressed generations, which were read before they were compressed.
func DefaultExclude() []string { return []string{"*.gz"} }

// CommitSink has the contract of podlogs.CommitSink: it receives one
// OTLP/HTTP protobuf ExportLogsServiceRequest, calls committed at the
// instant the payload becomes part of its durable queue (before any fsync
// it does afterwards), and returns an error only when it did not accept the
// payload. shipper.EnqueueCommit has this shape. It leaves the crash window
// between its commit and the ring's write that Queue closes.
type CommitSink func(ctx context.Context, payload []byte, committed func()) error

// Queue has the contract of podlogs.Queue: a durable queue that keeps each
// batch's line ids with the batch (shipper.Shipper.Queue(shipper.Logs)
// returns one). New adds the ids of this tailer's batches that are still
// queued to the delivered-id ring, so New must run before the queue starts
// sending. It may be shared with a podlogs tailer.
type Queue = tailbase.Queue

// Config configures a Tailer.
type Config struct {
	// Include lists the glob patterns of files to tail (** crosses
	// directories); empty means DefaultInclude.
	Include []string
	// Exclude lists patterns of files to skip; a pattern without '/' applies
	// to file names in any directory. Nil means DefaultExclude; pass an
	// empty, non-nil slice to exclude nothing.
	Exclude []string
	// StateDir holds the checkpoint and the delivered-id ring. Required.
	StateDir string
	// NodeName is reported as k8s.node.name and host.name.
	NodeName string
	// MaxMessageBytes bounds one record's body; longer lines are cut into
	// several records marked log.truncated and log.continuation.
	MaxMessageBytes int
	// CommitSink receives the batches unless Queue is set; one of the two
	// is required.
	CommitSink CommitSink
	// Queue, when set, receives the batches instead of CommitSink; unlike
	// CommitSink, no crash can make it re-ship a batch it queued.
	Queue Queue
	// BacklogLimit: on the agent's first start (no checkpoint in StateDir
	// yet), files larger than this are tailed from their end instead of
	// their beginning, so installing the agent does not ship gigabytes of
	// history. Zero means DefaultBacklogLimit, negative no limit.
	BacklogLimit int64
	// PollInterval is how often files are checked for new data.
	PollInterval time.Duration
	// MaxBatchRecords and MaxBatchBytes bound one payload handed to the sink.
	MaxBatchRecords int
	MaxBatchBytes   int
	// DedupCapacity is how many delivered line ids are remembered.
	DedupCapacity int
	// ShutdownTimeout bounds the final flush after Run's context ends.
	ShutdownTimeout time.Duration
}

func (c *Config) setDefaults() {
	if len(c.Include) == 0 {
		c.Include = DefaultInclude()
	}
	if c.Exclude == nil {
		c.Exclude = DefaultExclude()
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.BacklogLimit == 0 {
		c.BacklogLimit = DefaultBacklogLimit
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
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

func (c *Config) validate() error {
	switch {
	case c.StateDir == "":
		return errors.New("state dir is required")
	case c.CommitSink == nil && c.Queue == nil:
		return errors.New("commit sink or queue is required")
	case c.MaxMessageBytes < minMessage:
		return fmt.Errorf("max message bytes must be at least %d", minMessage)
	case c.PollInterval < 0, c.ShutdownTimeout < 0:
		return errors.New("durations must not be negative")
	case c.MaxBatchRecords < 1, c.MaxBatchBytes < 1, c.DedupCapacity < 1:
		return errors.New("batch limits and dedup capacity must be positive")
	}
	return nil
}

// Stats are cumulative counters.
type Stats struct {
	Lines      uint64 // lines and line pieces consumed (duplicates not counted)
	Duplicates uint64 // pieces skipped because they were already shipped
	Records    uint64 // log records shipped
	Batches    uint64 // payloads accepted by the sink
	SinkErrors uint64 // failed sink attempts
}

// Tailer ships host log files.
//
// Reading: every line becomes one record whose body is the line (invalid
// UTF-8 replaced), whose time is the timestamp the line starts with (or its
// time=/"ts" member) and otherwise when it was read, and whose severity is
// taken from the text when it is clear (see detectLevel). Lines longer than
// MaxMessageBytes are cut, at a rune boundary, into several records. Blank
// lines are skipped. Files that may not be read are skipped with one warning
// per file and start; they are picked up once they become readable. New
// files, and rotated ones, are read from their beginning, except for the
// backlog limit of the first start (Config.BacklogLimit).
//
// Delivery is that of podlogs: the fileconsumer resumes from its last
// checkpoint and so re-reads what was read after it; every line gets an id
// (see cursor.go); before a checkpoint is written everything read is handed
// to the sink; the sink's commit records the ids in a bounded ring; with a
// Queue the ids are also queued with their batch, and at start the ids of
// the batches still queued are added to the ring; lines whose id is in the
// ring or in the unsent batch are skipped. The cursors that derive the ids
// are stored in the same atomic file write as the checkpoint.
//
// Residual windows:
//   - duplicate, without a Queue only: a crash between the sink's commit
//     and the ring's write(2), as in podlogs;
//   - duplicate: a power loss after the queue sent and deleted a batch and
//     before the ring's fsync of its ids (without a Queue: before that
//     fsync), as in podlogs;
//   - duplicate: a re-read longer than DedupCapacity lines, which needs a
//     crash during a poll that read more than that;
//   - duplicate: a crash after a file was rotated under a name whose
//     rotation suffix rotationBase does not know (e.g. into another
//     directory), for the lines read since the last checkpoint;
//   - loss: a file removed, or renamed to a name Include does not match,
//     before it was read to the end (while the agent runs, a renamed file is
//     read to its end through the handle it holds); a file replaced by one
//     with the same first kilobyte (the fileconsumer takes it for the old
//     one); lines a copytruncate rotation writes between its copy and its
//     truncation; what a large file held at the first start (BacklogLimit);
//     and an unterminated last line, which is read once its newline comes.
type Tailer struct {
	cfg     Config
	exclude []string
	log     *slog.Logger

	mgr        *fileconsumer.Manager
	store      *tailbase.Store[cursorState]
	deliver    *tailbase.Deliverer
	firstStart bool

	mu         sync.Mutex
	ring       *tailbase.Ring
	cursors    *cursors
	batch      []record
	batchIDs   map[uint64]struct{}
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
func New(cfg Config, logger *slog.Logger) (*Tailer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("hostlogs config: %w", err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	include := make([]string, len(cfg.Include))
	for i, p := range cfg.Include {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("hostlogs include %q: %w", p, err)
		}
		include[i] = abs
	}
	cfg.Include = include
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}

	t := &Tailer{
		cfg:      cfg,
		exclude:  excludeGlobs(cfg.Exclude),
		log:      logger,
		batchIDs: make(map[uint64]struct{}),
	}
	bg := context.Background()
	t.flushCtx.Store(&bg)

	var err error
	t.store, err = tailbase.OpenStore[cursorState](filepath.Join(cfg.StateDir, stateFileName), "cursors", logger)
	if err != nil {
		return nil, err
	}
	t.ring, err = tailbase.OpenRing(filepath.Join(cfg.StateDir, ringFileName), cfg.DedupCapacity)
	if err != nil {
		return nil, err
	}
	t.deliver = &tailbase.Deliverer{Queue: cfg.Queue, Sink: tailbase.CommitSink(cfg.CommitSink), Tag: queueTag, Ring: t.ring, Log: logger}
	if _, err := t.deliver.Reconcile(); err != nil {
		// The ids are in memory; only a crash before the next ring write
		// could still re-ship those batches.
		logger.Error("persist line ids of queued batches", "err", err)
	}
	t.cursors = newCursors(t.store.Loaded())
	t.store.Prepare = t.prepareCheckpoint
	t.firstStart = t.store.Empty()

	t.mgr, err = t.buildConsumer(cfg.Include, t.exclude, "beginning")
	if err != nil {
		_ = t.ring.Close()
		return nil, err
	}
	return t, nil
}

func (t *Tailer) buildConsumer(include, exclude []string, startAt string) (*fileconsumer.Manager, error) {
	fc := fileconsumer.NewConfig()
	fc.Include = include
	fc.Exclude = exclude
	fc.StartAt = startAt
	fc.PollInterval = t.cfg.PollInterval
	// Raw bytes in, untouched: the line id hashes exactly what is on disk,
	// and invalid UTF-8 is replaced only in the record body.
	fc.Encoding = "utf-8-raw"
	fc.TrimConfig = trim.Config{PreserveLeading: true, PreserveTrailing: true}
	// Never emit a line before its newline: a forced flush would split a
	// line that is being written.
	fc.FlushPeriod = 0
	// splitLines cuts long lines itself, at a rune boundary, before the
	// fileconsumer's own limit would.
	fc.MaxLogSize = helper.ByteSize(t.cfg.MaxMessageBytes)
	fc.Resolver = attrs.Resolver{IncludeFilePath: true}
	set := component.TelemetrySettings{
		Logger:         tailbase.NewZapLogger(t.log),
		TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider:  metricnoop.NewMeterProvider(),
	}
	mgr, err := fc.Build(set, t.emit, fileconsumer.WithSplitFunc(splitLines(t.cfg.MaxMessageBytes)))
	if err != nil {
		return nil, fmt.Errorf("build fileconsumer: %w", err)
	}
	return mgr, nil
}

// splitLines splits on '\n' and never returns an unterminated line, except
// that a line longer than max is returned in pieces of at most max bytes.
// A piece is recognisable in emit: no newline follows it.
func splitLines(max int) func(data []byte, atEOF bool) (int, []byte, error) {
	return func(data []byte, _ bool) (int, []byte, error) {
		i := bytes.IndexByte(data, '\n')
		if i >= 0 && i <= max {
			return i + 1, data[:i], nil
		}
		if i > max || len(data) >= max {
			n := tailbase.CutPoint(data, max)
			return n, data[:n], nil
		}
		return 0, nil, nil
	}
}

// Run tails until ctx ends, then stops the fileconsumer, ships what was read
// and saves the checkpoint; it may be called once per Tailer. It returns nil
// after a clean shutdown and an error when the final checkpoint could not be
// saved (the next start then resumes from the previous one, and the ring
// suppresses what was shipped since).
func (t *Tailer) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("hostlogs: Run called twice")
	}
	defer func() {
		t.mu.Lock()
		_ = t.ring.Close()
		t.mu.Unlock()
	}()

	flushCtx, cancelFlush := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlush()
	t.flushCtx.Store(&flushCtx)

	if t.firstStart && t.cfg.BacklogLimit > 0 {
		if err := t.skipBacklog(ctx); err != nil {
			return err
		}
	}
	if err := t.mgr.Start(t.store); err != nil {
		return fmt.Errorf("start fileconsumer: %w", err)
	}
	t.log.Info("tailing host logs", "include", t.cfg.Include, "state_dir", t.cfg.StateDir)

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
	t.log.Info("host log tailing stopped")
	return nil
}

// skipBacklog runs on the first start only. The fileconsumer applies its
// start position to files it has no checkpoint for only while it has no
// checkpoint at all, so a consumer that starts at the end is run over the
// large files for one poll; it records them at their current size, and the
// main consumer then finds them in the checkpoint and reads every other
// file from its beginning.
func (t *Tailer) skipBacklog(ctx context.Context) error {
	m, err := matcher.New(matcher.Criteria{Include: t.cfg.Include, Exclude: t.exclude})
	if err != nil {
		return fmt.Errorf("hostlogs include: %w", err)
	}
	paths, _ := m.MatchFiles() // an error means no file matched yet
	var large []string
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() || info.Size() <= t.cfg.BacklogLimit {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			continue // the main consumer warns about it
		}
		_ = f.Close()
		t.log.Info("large log file on first start: shipping only lines written from now on",
			"path", p, "size", info.Size(), "limit", t.cfg.BacklogLimit)
		large = append(large, escapeGlob(p))
	}
	if len(large) == 0 {
		return nil
	}
	mgr, err := t.buildConsumer(large, nil, "end")
	if err != nil {
		return err
	}
	before := t.store.Writes()
	if err := mgr.Start(t.store); err != nil {
		return fmt.Errorf("start fileconsumer: %w", err)
	}
	deadline := time.NewTimer(max(5*time.Second, 20*t.cfg.PollInterval))
	defer deadline.Stop()
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
wait:
	for t.store.Writes() == before {
		select {
		case <-ctx.Done():
			break wait
		case <-deadline.C:
			t.log.Warn("large log files not recorded in time; they may be read from the start")
			break wait
		case <-tk.C:
		}
	}
	// Stop saves the checkpoint once more, now with the large files in it.
	if err := mgr.Stop(); err != nil {
		return fmt.Errorf("stop fileconsumer: %w", err)
	}
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

// tick ships batches that wait longer than a poll interval.
func (t *Tailer) tick(ctx context.Context) {
	tk := time.NewTicker(t.cfg.PollInterval)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
		}
		t.mu.Lock()
		var err error
		if len(t.batch) > 0 && time.Since(t.lastFlush) >= t.cfg.PollInterval {
			err = t.flushLocked(ctx)
		}
		t.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			t.log.Error("ship host logs", "err", err)
		}
	}
}

// emit is the fileconsumer callback: tokens are consecutive lines (or
// pieces of a long line) of one file; offsets[i] is where token i starts and
// offsets[len(tokens)] where the last one ends. The fileconsumer advances
// its offset only if ctx is still live when emit returns, and it calls emit
// for different files concurrently.
func (t *Tailer) emit(ctx context.Context, tokens [][]byte, attributes map[string]any, _ int64, offsets []int64) error {
	if len(tokens) == 0 || len(offsets) <= len(tokens) {
		return nil
	}
	path, _ := attributes[attrs.LogFilePath].(string)
	now := time.Now()

	t.mu.Lock()
	defer t.mu.Unlock()

	c := t.cursors.begin(path, offsets[0], now)
	start := c.End
	pos := start
	for i, tok := range tokens {
		off, next := offsets[i], offsets[i+1]
		// A piece cut by splitLines is not followed by a newline.
		cut := next-off == int64(len(tok))
		r := record{path: path, observed: now, truncated: cut, continuation: pos.Cut}
		if pos.Cut {
			r.time, r.level = pos.Time, pos.Level
		} else {
			r.time, r.level = parseLine(tok, now)
		}
		pos = position{Off: next}
		if cut {
			pos.Cut, pos.Time, pos.Level = true, r.time, r.level
		}

		body := tok
		if !cut {
			body = bytes.TrimSuffix(body, []byte{'\r'})
		}
		if len(body) == 0 && !cut && !r.continuation {
			continue
		}
		r.id = lineID(c.Seed, off, tok)
		if t.seenLocked(r.id) {
			t.dups.Add(1)
			continue
		}
		t.lines.Add(1)
		r.body = tailbase.ValidText(body)
		t.batch = append(t.batch, r)
		t.batchIDs[r.id] = struct{}{}
		t.batchBytes += recordSize(r)
		// Checked per line so a run of long lines cannot pile up in memory.
		if len(t.batch) >= t.cfg.MaxBatchRecords || t.batchBytes >= t.cfg.MaxBatchBytes {
			if err := t.flushLocked(ctx); err != nil {
				// Shutting down: the fileconsumer keeps its offset before
				// this emit, so the cursor stays there too; what was
				// consumed stays in the batch for the final checkpoint and
				// is skipped when re-read.
				return err
			}
		}
	}
	if ctx.Err() != nil {
		// The fileconsumer will not keep this batch's offset either.
		return nil
	}
	c.Prev, c.End, c.Seen = start, pos, now
	return nil
}

// seenLocked reports whether a line was already consumed: delivered or
// waiting in the batch.
func (t *Tailer) seenLocked(id uint64) bool {
	if t.ring.Contains(id) {
		return true
	}
	_, ok := t.batchIDs[id]
	return ok
}

// flushLocked hands the batch to the sink, retrying failures with backoff
// until ctx ends, then records its line ids as delivered. On error the batch
// is kept for the next attempt.
func (t *Tailer) flushLocked(ctx context.Context) error {
	if len(t.batch) == 0 {
		return nil
	}
	payload, err := tailbase.EncodeLogs(buildLogs(t.batch, t.cfg.NodeName))
	if err != nil {
		return err
	}
	ids := make([]uint64, len(t.batch))
	for i, r := range t.batch {
		ids[i] = r.id
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
// read so far is shipped, then the cursors are captured. The fileconsumer
// saves only between polls, when no emit is running, so the captured
// cursors match the offsets being saved.
func (t *Tailer) prepareCheckpoint(_ context.Context) (cursorState, error) {
	ctx := *t.flushCtx.Load()
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flushLocked(ctx); err != nil {
		return cursorState{}, err
	}
	return t.cursors.snapshot(time.Now()), nil
}
