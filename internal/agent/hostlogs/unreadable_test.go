package hostlogs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var openLines = []string{"readable one", "readable two", "readable three"}

// unreadableScenario tails dir, where secret.log may not be opened, until
// open.log's lines have arrived and a few more polls have passed, and
// returns the bodies received. The tailer logs to logw.
func unreadableScenario(dir string, logw io.Writer) ([]string, error) {
	var mu sync.Mutex
	var bodies []string
	tl, err := New(Config{
		Include: []string{filepath.Join(dir, "*.log")}, StateDir: filepath.Join(dir, "state"),
		PollInterval: 20 * time.Millisecond,
		CommitSink: func(_ context.Context, p []byte, committed func()) error {
			recs, err := decodeRecords(p)
			if err != nil {
				return err
			}
			mu.Lock()
			for _, r := range recs {
				bodies = append(bodies, r.body)
			}
			mu.Unlock()
			committed()
			return nil
		},
	}, slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tl.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := len(bodies)
		mu.Unlock()
		if n >= len(openLines) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // more polls: still one warning
	cancel()
	if err := <-done; err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return bodies, nil
}

func unreadableChild(dir string) int {
	bodies, err := unreadableScenario(dir, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, b := range bodies {
		fmt.Println(b)
	}
	return 0
}

func TestTailerSkipsUnreadableFiles(t *testing.T) {
	dir, err := os.MkdirTemp("", "hostlogs-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "open.log"), []byte(strings.Join(openLines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(dir, "secret.log")
	if err := os.WriteFile(secret, []byte("ERROR you may not read this\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	var bodies []string
	var logs bytes.Buffer
	if os.Geteuid() == 0 {
		// Root may open any file, so the tailer runs as nobody in a child
		// process: a copy of this test binary in a directory nobody may
		// enter.
		bin := filepath.Join(dir, "hostlogs.test")
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		state := filepath.Join(dir, "state")
		if err := os.Mkdir(state, 0o700); err != nil {
			t.Fatal(err)
		}
		for path, mode := range map[string]os.FileMode{dir: 0o755, state: 0o777} {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(bin, "-test.run=^$")
		cmd.Env = append(os.Environ(), envUnreadable+"="+dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stdout bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &logs
		if err := cmd.Run(); err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Fatalf("tailer failed: %v\n%s", err, logs.String())
			}
			t.Fatalf("cannot run the tailer as nobody (the test needs root's setuid): %v", err)
		}
		bodies = strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	} else {
		if err := os.Chmod(secret, 0); err != nil {
			t.Fatal(err)
		}
		bodies, err = unreadableScenario(dir, &logs)
		if err != nil {
			t.Fatal(err)
		}
	}

	if strings.Join(bodies, "|") != strings.Join(openLines, "|") {
		t.Errorf("received %q, want %q", bodies, openLines)
	}
	var warnings []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, "unreadable") {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "level=WARN") || !strings.Contains(warnings[0], secret) {
		t.Errorf("want one warning naming %s, got:\n%s", secret, logs.String())
	}
}
