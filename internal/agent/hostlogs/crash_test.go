package hostlogs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"vigil/internal/agent/shipper"
)

// Child processes started by the tests below run this test binary with one
// of these variables set instead of the tests.
const (
	envCrashDir   = "HOSTLOGS_CRASH_DIR"
	envCrashState = "HOSTLOGS_CRASH_STATE"
	envCrashQueue = "HOSTLOGS_CRASH_QUEUE"
	envUnreadable = "HOSTLOGS_UNREADABLE_DIR"
	// envCrashAtCommit=N makes the child kill itself at the N-th batch
	// between the queue's commit and the ring's write.
	envCrashAtCommit = "HOSTLOGS_CRASH_AT_COMMIT"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(envCrashDir); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(envCrashState), os.Getenv(envCrashQueue), os.Getenv(envCrashAtCommit)))
	}
	if dir := os.Getenv(envUnreadable); dir != "" {
		os.Exit(unreadableChild(dir))
	}
	os.Exit(m.Run())
}

func crashConfig(dir, state string, q Queue) Config {
	return Config{Include: []string{filepath.Join(dir, "*.log*")}, StateDir: state, NodeName: "host-1",
		PollInterval: 20 * time.Millisecond, Queue: q}
}

// killingQueue SIGKILLs its own process when the queue commits its at-th
// batch, before the tailer's committed runs: the window a queue without
// metadata would leave open.
type killingQueue struct {
	shipper.SignalQueue
	at, n int
}

func (k *killingQueue) EnqueueMeta(ctx context.Context, payload, meta []byte, committed func()) error {
	return k.SignalQueue.EnqueueMeta(ctx, payload, meta, func() {
		if k.n++; k.n == k.at {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		committed()
	})
}

// crashChild tails into the real shipper queue until it is killed.
func crashChild(dir, state, queue, atCommit string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q, err := shipper.New(shipper.Config{Dir: queue}, log)
	if err != nil {
		log.Error("shipper", "err", err)
		return 2
	}
	var lq Queue = q.Queue(shipper.Logs)
	if n, err := strconv.Atoi(atCommit); err == nil {
		lq = &killingQueue{SignalQueue: q.Queue(shipper.Logs), at: n}
	}
	tl, err := New(crashConfig(dir, state, lq), log)
	if err != nil {
		log.Error("tailer", "err", err)
		return 2
	}
	if err := tl.Run(context.Background()); err != nil {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

// The tailer runs in a child process that is killed with SIGKILL over and
// over while three logs are written, rotated by rename and by copytruncate,
// and repeat lines verbatim; what reaches the server must be every line
// exactly as often as it was written.
func TestTailerExactlyOnceAcrossSIGKILL(t *testing.T) {
	dir := t.TempDir()
	state := t.TempDir()
	queue := t.TempDir()
	exp := newExpectations()
	logs := []*logFile{
		newLogFile(t, filepath.Join(dir, "app.log")),
		newLogFile(t, filepath.Join(dir, "db.log")),
		newLogFile(t, filepath.Join(dir, "web.log")),
	}
	rotations := make([]int, len(logs))

	const perLog = 1500
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := range perLog {
			for k, l := range logs {
				if i%10 == 0 {
					exp.line(l, filepath.Base(l.path)+" repeated verbatim")
				} else {
					exp.line(l, fmt.Sprintf("%s line %05d %s", filepath.Base(l.path), i, bytes.Repeat([]byte("z"), i%37)))
				}
				if i > 0 && i%300 == 0 {
					rotations[k]++
					// Distinct rotated names, all matched: a generation is
					// never replaced before it was read to the end.
					to := fmt.Sprintf("%s.%d", l.path, rotations[k])
					if k%2 == 0 {
						l.rotateRename(to, func() { exp.line(l, fmt.Sprintf("%s renamed %05d", l.path, i)) })
					} else {
						l.rotateCopyTruncate(to)
					}
				}
			}
			time.Sleep(3 * time.Millisecond)
		}
	}()

	var childLog bytes.Buffer
	kills := 0
	for running := true; running; {
		select {
		case <-writerDone:
			running = false
		default:
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashState+"="+state, envCrashQueue+"="+queue)
		if kills%3 == 2 {
			// Every third child dies inside the commit window itself.
			cmd.Env = append(cmd.Env, envCrashAtCommit+"="+strconv.Itoa(1+rand.IntN(4)))
		}
		cmd.Stdout = &childLog
		cmd.Stderr = &childLog
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(150+rand.IntN(450)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		kills++
	}
	for _, l := range logs {
		l.close()
	}
	t.Logf("killed the tailer %d times while writing %d lines", kills, exp.len())

	// Final run in-process until it stops finding anything new.
	q, err := shipper.New(shipper.Config{Dir: queue}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	tl, err := New(crashConfig(dir, state, q.Queue(shipper.Logs)), quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	var last Stats
	for quiet := 0; quiet < 10; {
		time.Sleep(100 * time.Millisecond)
		if s := tl.Stats(); s == last {
			quiet++
		} else {
			quiet, last = 0, s
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("final Run: %v", err)
	}
	t.Logf("final run: %+v", tl.Stats())

	// Deliver the queue to a real HTTP peer and judge what it received.
	var mu sync.Mutex
	var recs []gotRecord
	batchNo := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		if _, err := body.ReadFrom(r.Body); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		got := decodePayload(t, body.Bytes())
		mu.Lock()
		batchNo++
		for i := range got {
			got[i].batch = batchNo
		}
		recs = append(recs, got...)
		mu.Unlock()
	}))
	defer srv.Close()
	sender, err := shipper.New(shipper.Config{Dir: queue, Endpoint: srv.URL, Token: "t"}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	sdone := make(chan error, 1)
	go func() { sdone <- sender.Run(sctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for sender.Stats().QueuedBatches > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	scancel()
	<-sdone

	mu.Lock()
	defer mu.Unlock()
	verify(t, exp, recs, "host-1")
	if t.Failed() {
		// Whole batches repeated point at the enqueue/ring window, single
		// lines at the re-read logic.
		seen := map[string]gotRecord{}
		shown := 0
		for _, r := range recs {
			if o, ok := seen[r.body]; ok && shown < 30 {
				shown++
				t.Logf("duplicate %q: batch %d (%v) and batch %d (%v)", r.body, o.batch, o.attrs[AttrFilePath], r.batch, r.attrs[AttrFilePath])
			}
			seen[r.body] = r
		}
		t.Logf("child output:\n%s", childLog.String())
	}
	t.Logf("%d records received for %d lines, %d batches", len(recs), exp.len(), sender.Stats().Sent)
}
