package podlogs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"sync"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

const stateVersion = 1

// stateFile is the on-disk form of the tailer state: the fileconsumer's
// key/value checkpoint and the unfinished partial messages. Both live in one
// file so that they are always replaced together and stay consistent.
type stateFile struct {
	Version  int               `json:"version"`
	KV       map[string][]byte `json:"kv"`
	Partials assemblerState    `json:"partials"`
}

// fileStore implements the fileconsumer persister (operator.Persister) on
// top of a single state file that is rewritten atomically on every change.
type fileStore struct {
	path string
	log  *slog.Logger

	// prepare runs before each write. It must make everything read so far
	// durable downstream and return the partials to store alongside, so the
	// checkpoint never gets ahead of what was delivered.
	prepare func(ctx context.Context) (assemblerState, error)

	mu       sync.Mutex
	kv       map[string][]byte
	partials assemblerState
	last     []byte
	lastErr  error
}

// openFileStore loads the state file if present. A corrupt file is moved
// aside and the tailer starts afresh: re-reading the files from the start is
// better than refusing to ship logs, and the delivered-id ring still
// suppresses the lines shipped most recently.
func openFileStore(path string, log *slog.Logger) (*fileStore, error) {
	s := &fileStore{path: path, log: log, kv: make(map[string][]byte)}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil || st.Version != stateVersion {
		aside := path + ".corrupt"
		log.Error("podlogs state unreadable, starting from scratch", "path", path, "moved_to", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("move corrupt state aside: %w", rerr)
		}
		return s, nil
	}
	if st.KV != nil {
		s.kv = st.KV
	}
	s.partials = st.Partials
	s.last = data
	return s, nil
}

// loadedPartials returns the partials read at open time.
func (s *fileStore) loadedPartials() assemblerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.partials
}

// err returns the error of the most recent write, nil once a write succeeds.
func (s *fileStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *fileStore) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[key]
	if !ok {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

func (s *fileStore) Set(ctx context.Context, key string, value []byte) error {
	return s.Batch(ctx, storage.SetOperation(key, value))
}

func (s *fileStore) Delete(ctx context.Context, key string) error {
	return s.Batch(ctx, storage.DeleteOperation(key))
}

// Batch applies ops and persists the result. Nothing is applied when
// persisting fails, so the in-memory view never claims more than the disk.
func (s *fileStore) Batch(ctx context.Context, ops ...*storage.Operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()

	kv := maps.Clone(s.kv)
	changed := false
	for _, op := range ops {
		switch op.Type {
		case storage.Get:
			op.Value = bytes.Clone(kv[op.Key])
		case storage.Set:
			kv[op.Key] = bytes.Clone(op.Value)
			changed = true
		case storage.Delete:
			delete(kv, op.Key)
			changed = true
		default:
			return fmt.Errorf("unknown storage operation %d", op.Type)
		}
	}
	if !changed {
		return nil
	}

	partials := s.partials
	if s.prepare != nil {
		p, err := s.prepare(ctx)
		if err != nil {
			s.lastErr = fmt.Errorf("flush before checkpoint: %w", err)
			return s.lastErr
		}
		partials = p
	}
	data, err := json.Marshal(stateFile{Version: stateVersion, KV: kv, Partials: partials})
	if err != nil {
		s.lastErr = fmt.Errorf("encode state: %w", err)
		return s.lastErr
	}
	// The fileconsumer saves after every poll; skip the fsyncs when idle.
	if !bytes.Equal(data, s.last) {
		if err := writeFileAtomic(s.path, data); err != nil {
			s.lastErr = fmt.Errorf("write state: %w", err)
			return s.lastErr
		}
		s.last = data
	}
	s.kv = kv
	s.partials = partials
	s.lastErr = nil
	return nil
}
