package tailbase

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
	"sync/atomic"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

const stateVersion = 1

// Store implements the fileconsumer persister (operator.Persister) on top of
// a single state file that is rewritten atomically on every change. Next to
// the fileconsumer's key/value checkpoint the file holds the tailer's own
// state of type T, so the two are always replaced together and stay
// consistent:
//
//	{"version": 1, "kv": {...}, "<extra key>": T}
type Store[T any] struct {
	path     string
	extraKey string
	log      *slog.Logger

	// Prepare runs before each write. It must make everything read so far
	// durable downstream and return the state to store alongside, so the
	// checkpoint never gets ahead of what was delivered. Set it before the
	// store is handed to the fileconsumer.
	Prepare func(ctx context.Context) (T, error)

	mu      sync.Mutex
	kv      map[string][]byte
	extra   T
	last    []byte
	lastErr error
	writes  atomic.Uint64
}

// OpenStore loads the state file if present; extraKey names the member that
// holds T. A corrupt file is moved aside and the tailer starts afresh:
// re-reading the files from the start is better than refusing to ship logs,
// and the delivered-id ring still suppresses the lines shipped most recently.
func OpenStore[T any](path, extraKey string, log *slog.Logger) (*Store[T], error) {
	s := &Store[T]{path: path, extraKey: extraKey, log: log, kv: make(map[string][]byte)}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if err := s.decode(data); err != nil {
		aside := path + ".corrupt"
		log.Error("tailer state unreadable, starting from scratch", "path", path, "moved_to", aside, "err", err)
		if rerr := os.Rename(path, aside); rerr != nil {
			return nil, fmt.Errorf("move corrupt state aside: %w", rerr)
		}
		s.kv = make(map[string][]byte)
		var zero T
		s.extra = zero
		return s, nil
	}
	s.last = data
	return s, nil
}

func (s *Store[T]) decode(data []byte) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return err
	}
	var version int
	if err := json.Unmarshal(members["version"], &version); err != nil || version != stateVersion {
		return fmt.Errorf("unknown state version %s", members["version"])
	}
	if raw, ok := members["kv"]; ok {
		if err := json.Unmarshal(raw, &s.kv); err != nil {
			return fmt.Errorf("decode checkpoint: %w", err)
		}
		if s.kv == nil {
			s.kv = make(map[string][]byte)
		}
	}
	if raw, ok := members[s.extraKey]; ok {
		if err := json.Unmarshal(raw, &s.extra); err != nil {
			return fmt.Errorf("decode %s: %w", s.extraKey, err)
		}
	}
	return nil
}

// Loaded returns the tailer state as of the last write (or as read at open).
func (s *Store[T]) Loaded() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.extra
}

// Empty reports whether no checkpoint has been stored yet, i.e. the
// fileconsumer has never recorded a file in this state directory.
func (s *Store[T]) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.kv) == 0
}

// Writes counts the checkpoints this store has persisted since it was opened.
func (s *Store[T]) Writes() uint64 { return s.writes.Load() }

// Err returns the error of the most recent write, nil once a write succeeds.
func (s *Store[T]) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

func (s *Store[T]) Get(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kv[key]
	if !ok {
		return nil, nil
	}
	return bytes.Clone(v), nil
}

func (s *Store[T]) Set(ctx context.Context, key string, value []byte) error {
	return s.Batch(ctx, storage.SetOperation(key, value))
}

func (s *Store[T]) Delete(ctx context.Context, key string) error {
	return s.Batch(ctx, storage.DeleteOperation(key))
}

// Batch applies ops and persists the result. Nothing is applied when
// persisting fails, so the in-memory view never claims more than the disk.
func (s *Store[T]) Batch(ctx context.Context, ops ...*storage.Operation) error {
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

	extra := s.extra
	if s.Prepare != nil {
		e, err := s.Prepare(ctx)
		if err != nil {
			s.lastErr = fmt.Errorf("flush before checkpoint: %w", err)
			return s.lastErr
		}
		extra = e
	}
	// A map marshals with sorted keys, so equal states encode to equal bytes.
	data, err := json.Marshal(map[string]any{"version": stateVersion, "kv": kv, s.extraKey: extra})
	if err != nil {
		s.lastErr = fmt.Errorf("encode state: %w", err)
		return s.lastErr
	}
	// The fileconsumer saves after every poll; skip the fsyncs when idle.
	if !bytes.Equal(data, s.last) {
		if err := WriteFileAtomic(s.path, data); err != nil {
			s.lastErr = fmt.Errorf("write state: %w", err)
			return s.lastErr
		}
		s.last = data
	}
	s.kv = kv
	s.extra = extra
	s.lastErr = nil
	s.writes.Add(1)
	return nil
}
