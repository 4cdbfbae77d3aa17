// Package shipper buffers OTLP payloads on disk and sends them to the vigil
// server over OTLP/HTTP, oldest first, without ever dropping one: when the
// buffer is full, Enqueue blocks; batches the server rejects as malformed
// are moved aside, not deleted.
//
// A batch may carry metadata of the producer's own (EnqueueMeta), stored in
// the same file as the payload and never sent. PendingMeta returns it for
// the batches still queued, so a producer that keeps a record of what it
// handed over can, after a crash, complete that record from the queue
// itself: a batch and its metadata are committed by one rename.
//
// On disk, Dir holds one file per batch, named by a sequence number and the
// signal: "<seq>.<signal>.pb" holds the bare payload, "<seq>.<signal>.pbm"
// the metadata header described at metaMagic followed by the payload.
package shipper

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/fsutil"
)

// Signal selects the OTLP endpoint of a batch.
type Signal int

const (
	Logs Signal = iota
	Metrics
)

func (s Signal) String() string {
	switch s {
	case Logs:
		return "logs"
	case Metrics:
		return "metrics"
	default:
		return "signal" + strconv.Itoa(int(s))
	}
}

func (s Signal) urlPath() string { return "/v1/" + s.String() }

func parseSignal(s string) (Signal, bool) {
	switch s {
	case "logs":
		return Logs, true
	case "metrics":
		return Metrics, true
	}
	return 0, false
}

// Defaults for Config fields left zero.
const (
	DefaultMaxBytes       = 256 << 20
	DefaultMinBackoff     = 500 * time.Millisecond
	DefaultMaxBackoff     = 30 * time.Second
	DefaultRequestTimeout = 30 * time.Second

	rejectedDir  = "rejected"
	batchExt     = ".pb"
	batchMetaExt = ".pbm"

	// metaMagic starts a .pbm file; a little-endian uint32 with the length
	// of the metadata follows, then the metadata, then the payload.
	metaMagic  = "vgm1"
	metaHeader = len(metaMagic) + 4
	// maxMeta bounds the metadata length read back from a file.
	maxMeta = 64 << 20
)

// Config configures a Shipper.
type Config struct {
	// Endpoint is the server's base URL, e.g. https://vigil.example:8443.
	Endpoint string
	// Token is sent as "Authorization: Bearer <token>".
	Token string
	// Dir holds the buffered batches. Required. Batches the server rejects
	// as malformed are moved to Dir/rejected and left for an operator; they
	// do not count against MaxBytes.
	Dir string
	// MaxBytes bounds the buffered bytes: payloads and their metadata.
	MaxBytes int64
	// HTTPClient sends the requests; when nil one is built with TLS and
	// RequestTimeout.
	HTTPClient *http.Client
	TLS        *tls.Config
	// RequestTimeout bounds one request of the default client.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the retry delay, which doubles per
	// failure and is jittered.
	MinBackoff time.Duration
	MaxBackoff time.Duration
}

// Stats is a snapshot of the shipper's counters.
type Stats struct {
	QueuedBatches int
	QueuedBytes   int64
	Sent          uint64 // batches accepted by the server
	SentBytes     uint64
	Retries       uint64 // failed attempts that will be retried
	Rejected      uint64 // batches moved to the rejected dir
}

// Shipper is a disk-backed queue with a sender. Enqueue may be called from
// any goroutine; Run must run exactly once for batches to leave.
type Shipper struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client

	// enq serializes writers so sequence numbers reach the disk in order; a
	// channel rather than a mutex so a waiting Enqueue honours its context.
	enq chan struct{}

	mu      sync.Mutex
	queue   []entry // oldest first
	bytes   int64
	nextSeq uint64
	space   chan struct{} // closed and replaced when bytes are freed
	wake    chan struct{} // buffered: a batch was added

	running atomic.Bool

	sent, sentBytes, retries, rejected atomic.Uint64
}

type entry struct {
	seq    uint64
	signal Signal
	size   int64 // of the file
	meta   bool  // a .pbm file
}

func (e entry) name() string {
	ext := batchExt
	if e.meta {
		ext = batchMetaExt
	}
	return fmt.Sprintf("%020d.%s%s", e.seq, e.signal, ext)
}

// New opens (or creates) the buffer directory and indexes the batches left
// by a previous run. Only their names and sizes are kept in memory.
func New(cfg Config, logger *slog.Logger) (*Shipper, error) {
	if cfg.Dir == "" {
		return nil, errors.New("shipper: dir is required")
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxBytes < 0 {
		return nil, errors.New("shipper: max bytes must be positive")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	cfg.MaxBackoff = max(cfg.MaxBackoff, cfg.MinBackoff)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	cfg.Endpoint = strings.TrimRight(cfg.Endpoint, "/")
	if logger == nil {
		logger = slog.Default()
	}
	client := cfg.HTTPClient
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		if cfg.TLS != nil {
			tr.TLSClientConfig = cfg.TLS.Clone()
		}
		client = &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	}
	s := &Shipper{
		cfg:    cfg,
		log:    logger,
		client: client,
		enq:    make(chan struct{}, 1),
		space:  make(chan struct{}),
		wake:   make(chan struct{}, 1),
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, rejectedDir), 0o700); err != nil {
		return nil, fmt.Errorf("create shipper dir: %w", err)
	}
	if err := s.scan(); err != nil {
		return nil, err
	}
	return s, nil
}

// scan indexes existing batch files and removes temporary files left by a
// crash mid-write (their batch was never acknowledged to the caller).
func (s *Shipper) scan() error {
	if rdes, err := os.ReadDir(filepath.Join(s.cfg.Dir, rejectedDir)); err == nil {
		for _, de := range rdes {
			if de.Type().IsRegular() && strings.HasPrefix(de.Name(), ".tmp-") {
				_ = os.Remove(filepath.Join(s.cfg.Dir, rejectedDir, de.Name()))
			}
		}
	}
	des, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("read shipper dir: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if !de.Type().IsRegular() {
			continue
		}
		if strings.HasPrefix(name, ".tmp-") {
			_ = os.Remove(filepath.Join(s.cfg.Dir, name))
			continue
		}
		e, ok := parseName(name)
		if !ok {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", name, err)
		}
		e.size = info.Size()
		s.queue = append(s.queue, e)
		s.bytes += e.size
		s.nextSeq = max(s.nextSeq, e.seq+1)
	}
	slices.SortFunc(s.queue, func(a, b entry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	if len(s.queue) > 0 {
		s.log.Info("resuming buffered batches", "batches", len(s.queue), "bytes", s.bytes)
	}
	return nil
}

func parseName(name string) (entry, bool) {
	base, meta := strings.CutSuffix(name, batchMetaExt)
	if !meta {
		var ok bool
		if base, ok = strings.CutSuffix(name, batchExt); !ok {
			return entry{}, false
		}
	}
	num, sig, ok := strings.Cut(base, ".")
	if !ok {
		return entry{}, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil {
		return entry{}, false
	}
	signal, ok := parseSignal(sig)
	if !ok {
		return entry{}, false
	}
	return entry{seq: seq, signal: signal, meta: meta}, true
}

// Enqueue stores payload durably and returns once it is on disk. While the
// buffer is full it blocks (back-pressure) until the sender frees space or
// ctx ends. A payload larger than MaxBytes is accepted once the buffer is
// empty, so it cannot block forever. An error means the payload was not
// stored.
func (s *Shipper) Enqueue(ctx context.Context, signal Signal, payload []byte) error {
	return s.EnqueueMeta(ctx, signal, payload, nil, nil)
}

// EnqueueCommit is Enqueue that also calls committed (when non-nil) at the
// moment the batch becomes part of the queue: right after its file is
// renamed into place and before the directory fsync. A caller that records
// "enqueued" in a store of its own does it there, so a process crash can
// only fall between two adjacent syscalls rather than around an fsync.
// Once committed has been called, EnqueueCommit returns nil. committed runs
// on the caller's goroutine and must not call back into the Shipper.
//
// A record kept in committed is written after the batch, so a crash in
// between leaves the batch without it; EnqueueMeta closes that gap.
func (s *Shipper) EnqueueCommit(ctx context.Context, signal Signal, payload []byte, committed func()) error {
	return s.EnqueueMeta(ctx, signal, payload, nil, committed)
}

// EnqueueMeta is EnqueueCommit that stores meta in the batch's file, ahead
// of the payload, so that the batch and its metadata are committed by the
// same rename: whenever the batch is queued, PendingMeta returns meta. meta
// is never sent; an empty meta stores a plain batch. A producer that records
// "enqueued" in committed and, at its start, adds to that record what
// PendingMeta returns has a record no crash can leave behind the queue.
func (s *Shipper) EnqueueMeta(ctx context.Context, signal Signal, payload, meta []byte, committed func()) error {
	if signal != Logs && signal != Metrics {
		return fmt.Errorf("enqueue: unknown signal %d", signal)
	}
	select {
	case s.enq <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("enqueue %s: %w", signal, ctx.Err())
	}
	defer func() { <-s.enq }()

	if len(meta) > maxMeta {
		return fmt.Errorf("enqueue %s: metadata of %d bytes exceeds %d", signal, len(meta), maxMeta)
	}
	var header []byte
	if len(meta) > 0 {
		header = make([]byte, 0, metaHeader+len(meta))
		header = append(header, metaMagic...)
		header = binary.LittleEndian.AppendUint32(header, uint32(len(meta)))
		header = append(header, meta...)
	}

	size := int64(len(header) + len(payload))
	for {
		s.mu.Lock()
		if s.bytes+size <= s.cfg.MaxBytes || len(s.queue) == 0 {
			break // leaves the loop holding s.mu
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return fmt.Errorf("enqueue %s: buffer full: %w", signal, ctx.Err())
		}
	}
	e := entry{seq: s.nextSeq, signal: signal, size: size, meta: header != nil}
	s.nextSeq++
	// Reserve the bytes before writing so concurrent checks see them.
	s.bytes += size
	s.mu.Unlock()

	if err := s.writeBatch(e, header, payload, committed); err != nil {
		s.mu.Lock()
		s.bytes -= size
		s.mu.Unlock()
		return fmt.Errorf("enqueue %s: %w", signal, err)
	}

	s.mu.Lock()
	s.queue = append(s.queue, e)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// writeBatch writes header and payload to tmp, fsyncs, renames into place
// and fsyncs the dir, so a batch file either exists whole or not at all. The
// rename is the commit point: after it the batch is queued whatever happens
// next.
func (s *Shipper) writeBatch(e entry, header, payload []byte, committed func()) error {
	tmp, err := os.CreateTemp(s.cfg.Dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("create batch file: %w", err)
	}
	tmpName := tmp.Name()
	fail := func(err error) error {
		_ = tmp.Close()
		_ = os.Remove(tmpName)
		return err
	}
	if len(header) > 0 {
		if _, err := tmp.Write(header); err != nil {
			return fail(fmt.Errorf("write batch: %w", err))
		}
	}
	if _, err := tmp.Write(payload); err != nil {
		return fail(fmt.Errorf("write batch: %w", err))
	}
	if err := tmp.Sync(); err != nil {
		return fail(fmt.Errorf("fsync batch: %w", err))
	}
	if err := tmp.Close(); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("close batch: %w", err)
	}
	if err := os.Rename(tmpName, filepath.Join(s.cfg.Dir, e.name())); err != nil {
		_ = os.Remove(tmpName)
		return fmt.Errorf("rename batch: %w", err)
	}
	if committed != nil {
		committed()
	}
	// Returning an error now would make the caller enqueue the batch a
	// second time; the file is in place and is indexed either way.
	if err := fsutil.SyncDir(s.cfg.Dir); err != nil {
		s.log.Error("fsync buffer dir after enqueue", "file", e.name(), "err", err)
	}
	return nil
}

// PendingMeta calls fn, oldest first, with the metadata of each batch of
// signal that is still queued and was stored with metadata (EnqueueMeta).
// fn runs on the caller's goroutine and may keep meta.
//
// A batch the sender delivers while PendingMeta runs may or may not be
// seen; a producer that reconciles with the queue at its start therefore
// calls PendingMeta before Run starts sending. Unreadable batches are
// logged and skipped.
func (s *Shipper) PendingMeta(signal Signal, fn func(meta []byte)) {
	s.mu.Lock()
	var pending []entry
	for _, e := range s.queue {
		if e.meta && e.signal == signal {
			pending = append(pending, e)
		}
	}
	s.mu.Unlock()
	for _, e := range pending {
		meta, err := readMeta(filepath.Join(s.cfg.Dir, e.name()))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			// Sent meanwhile.
		case err != nil:
			s.log.Error("read metadata of buffered batch", "file", e.name(), "err", err)
		default:
			fn(meta)
		}
	}
}

// SignalQueue is a Shipper bound to one signal, in the shape the log
// tailers take as their queue (podlogs.Queue, hostlogs.Queue).
type SignalQueue struct {
	s      *Shipper
	signal Signal
}

// Queue returns the Shipper bound to signal.
func (s *Shipper) Queue(signal Signal) SignalQueue { return SignalQueue{s: s, signal: signal} }

// EnqueueMeta is Shipper.EnqueueMeta for the queue's signal.
func (q SignalQueue) EnqueueMeta(ctx context.Context, payload, meta []byte, committed func()) error {
	return q.s.EnqueueMeta(ctx, q.signal, payload, meta, committed)
}

// PendingMeta is Shipper.PendingMeta for the queue's signal.
func (q SignalQueue) PendingMeta(fn func(meta []byte)) { q.s.PendingMeta(q.signal, fn) }

// readMeta reads the metadata of a .pbm file without its payload.
func readMeta(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [metaHeader]byte
	if _, err := io.ReadFull(f, head[:]); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	n, err := metaLen(head[:])
	if err != nil {
		return nil, err
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(f, meta); err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	return meta, nil
}

func metaLen(head []byte) (int, error) {
	if len(head) < metaHeader || string(head[:len(metaMagic)]) != metaMagic {
		return 0, errors.New("not a batch with metadata")
	}
	n := binary.LittleEndian.Uint32(head[len(metaMagic):])
	if n > maxMeta {
		return 0, fmt.Errorf("metadata length %d out of range", n)
	}
	return int(n), nil
}

// splitBatch returns the payload of a batch file's content.
func splitBatch(e entry, data []byte) ([]byte, error) {
	if !e.meta {
		return data, nil
	}
	n, err := metaLen(data)
	if err != nil {
		return nil, err
	}
	if metaHeader+n > len(data) {
		return nil, fmt.Errorf("metadata length %d beyond the file's %d bytes", n, len(data))
	}
	return data[metaHeader+n:], nil
}

// Stats returns a snapshot of the counters.
func (s *Shipper) Stats() Stats {
	s.mu.Lock()
	st := Stats{QueuedBatches: len(s.queue), QueuedBytes: s.bytes}
	s.mu.Unlock()
	st.Sent = s.sent.Load()
	st.SentBytes = s.sentBytes.Load()
	st.Retries = s.retries.Load()
	st.Rejected = s.rejected.Load()
	return st
}

// Run sends buffered batches oldest first until ctx ends and returns nil
// then. Batches not yet acknowledged stay on disk for the next run.
func (s *Shipper) Run(ctx context.Context) error {
	if s.cfg.Endpoint == "" {
		return errors.New("shipper: endpoint is required to send")
	}
	// Two senders would send the head batch twice.
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("shipper: Run is already running")
	}
	defer s.running.Store(false)
	backoff := s.cfg.MinBackoff
	for {
		s.mu.Lock()
		var head entry
		ok := len(s.queue) > 0
		if ok {
			head = s.queue[0]
		}
		s.mu.Unlock()

		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}

		res := s.attempt(ctx, head)
		if ctx.Err() != nil {
			return nil
		}
		switch res {
		case sent, rejected, vanished:
			backoff = s.cfg.MinBackoff
		case retry:
			s.retries.Add(1)
			// Full jitter between half and all of the delay, so agents that
			// lost the server together do not come back in lockstep.
			wait := backoff/2 + rand.N(backoff/2+1)
			backoff = min(backoff*2, s.cfg.MaxBackoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

type outcome int

const (
	sent outcome = iota
	retry
	rejected
	vanished
)

// attempt sends one batch and settles it on disk.
func (s *Shipper) attempt(ctx context.Context, e entry) outcome {
	path := filepath.Join(s.cfg.Dir, e.name())
	payload, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Error("buffered batch disappeared", "file", e.name())
		s.dequeue(e)
		return vanished
	}
	if err != nil {
		s.log.Error("read buffered batch", "file", e.name(), "err", err)
		return retry
	}
	payload, err = splitBatch(e, payload)
	if err != nil {
		// Only a file damaged on disk gets here; sending it is pointless.
		return s.reject(e, path, nil, "unreadable batch file; kept for inspection", "err", err)
	}

	status, body, err := s.post(ctx, e.signal, payload)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.Warn("send batch failed, will retry", "file", e.name(), "err", err)
		}
		return retry
	case status >= 200 && status < 300:
		s.checkPartialSuccess(e, body)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Keeping it would resend a delivered batch; keep going, the
			// next start sees the file again and sends a duplicate.
			s.log.Error("remove sent batch", "file", e.name(), "err", err)
		}
		s.sent.Add(1)
		s.sentBytes.Add(uint64(len(payload)))
		s.dequeue(e)
		return sent
	case permanent(status):
		return s.reject(e, path, payload, "server rejected batch; kept for inspection",
			"status", status, "response", snippet(body))
	default:
		s.log.Warn("server refused batch, will retry", "file", e.name(), "status", status, "response", snippet(body))
		return retry
	}
}

// reject moves a batch to the rejected dir for an operator and logs msg. A
// batch with metadata is stored there as its bare payload (a plain .pb file
// that protobuf tools read); payload nil moves the file as it is.
func (s *Shipper) reject(e entry, path string, payload []byte, msg string, attrs ...any) outcome {
	rdir := filepath.Join(s.cfg.Dir, rejectedDir)
	dst := filepath.Join(rdir, e.name())
	if e.meta && payload != nil {
		plain := e
		plain.meta = false
		dst = filepath.Join(rdir, plain.name())
		// Written whole before the queued file goes: a crash in between
		// leaves the batch queued, to be rejected again into the same name.
		if err := writeFileAtomic(rdir, plain.name(), payload); err != nil {
			s.log.Error("store rejected batch aside, will retry", "file", e.name(), "err", err)
			return retry
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("remove rejected batch", "file", e.name(), "err", err)
		}
	} else if err := os.Rename(path, dst); err != nil {
		s.log.Error("move rejected batch aside, will retry", "file", e.name(), "err", err)
		return retry
	}
	if err := fsutil.SyncDir(rdir); err != nil {
		s.log.Warn("fsync rejected dir", "err", err)
	}
	s.log.Error(msg, append([]any{"file", dst, "signal", e.signal.String(), "bytes", e.size}, attrs...)...)
	s.rejected.Add(1)
	s.dequeue(e)
	return rejected
}

// writeFileAtomic writes dir/name through a temporary file that is fsynced
// and renamed into place.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmpName, filepath.Join(dir, name))
	}
	if err != nil {
		_ = os.Remove(tmpName)
	}
	return err
}

// permanent reports statuses that mean this payload will never be accepted.
// Auth and routing failures (401, 403, 404) are retried instead: they are
// fixed by configuration, after which the same batch goes through.
func permanent(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

func (s *Shipper) post(ctx context.Context, signal Signal, payload []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.Endpoint+signal.urlPath(), bytes.NewReader(payload))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if s.cfg.Token != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("post %s: %w", signal.urlPath(), err)
	}
	defer resp.Body.Close()
	// The body is small (an export response or an error text); the limit
	// guards against a misbehaving peer.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The server accepted; a broken response body does not change that.
		s.log.Debug("read response body", "err", err)
	}
	return resp.StatusCode, body, nil
}

// checkPartialSuccess logs records the server dropped from an accepted
// batch. Resending would not help, so it is only reported.
func (s *Shipper) checkPartialSuccess(e entry, body []byte) {
	if len(body) == 0 {
		return
	}
	switch e.signal {
	case Logs:
		r := plogotlp.NewExportResponse()
		if r.UnmarshalProto(body) == nil && r.PartialSuccess().RejectedLogRecords() > 0 {
			s.log.Warn("server dropped log records", "file", e.name(),
				"rejected", r.PartialSuccess().RejectedLogRecords(), "message", r.PartialSuccess().ErrorMessage())
		}
	case Metrics:
		r := pmetricotlp.NewExportResponse()
		if r.UnmarshalProto(body) == nil && r.PartialSuccess().RejectedDataPoints() > 0 {
			s.log.Warn("server dropped data points", "file", e.name(),
				"rejected", r.PartialSuccess().RejectedDataPoints(), "message", r.PartialSuccess().ErrorMessage())
		}
	}
}

func (s *Shipper) dequeue(e entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 && s.queue[0].seq == e.seq {
		s.queue = s.queue[1:]
	}
	s.bytes -= e.size
	// Wake every blocked Enqueue; each re-checks for room.
	close(s.space)
	s.space = make(chan struct{})
}

func snippet(b []byte) string {
	const limit = 512
	if len(b) > limit {
		b = b[:limit]
	}
	return strings.ToValidUTF8(string(b), "?")
}
