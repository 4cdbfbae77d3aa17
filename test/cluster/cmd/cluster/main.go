// Command cluster starts and stops the local test control plane of package
// vigil/test/cluster outside of go test, for manual work and make targets.
//
//	cluster up   --dir DIR [--audit-webhook URL] [--foreground]
//	cluster down --dir DIR
//	cluster status --dir DIR
//
// "up" starts a supervisor in the background, waits until the cluster is
// ready, prints its kubeconfig path and returns. The supervisor writes
// DIR/cluster.json and DIR/cluster.pid and keeps the components running
// until "down" (or SIGTERM to the pid in DIR/cluster.pid) stops them.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"vigil/test/cluster"
)

// state is what a running supervisor records in DIR/cluster.json.
type state struct {
	PID        int            `json:"pid"`
	Dir        string         `json:"dir"`
	Kubeconfig string         `json:"kubeconfig"`
	Server     string         `json:"server"`
	AdminToken string         `json:"adminToken"`
	KwokPort   int            `json:"kwokPort"`
	EtcdURL    string         `json:"etcdURL"`
	CAFile     string         `json:"caFile"`
	Components map[string]int `json:"components"`
	StartedIn  string         `json:"startedIn"`
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage:
  cluster up     --dir DIR [--audit-webhook URL] [--foreground] [--timeout 3m]
  cluster down   --dir DIR
  cluster status --dir DIR
`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", filepath.Join(os.TempDir(), "vigil-cluster"), "cluster directory")
	webhook := fs.String("audit-webhook", "", "URL that receives the apiserver's audit events")
	auditLog := fs.String("audit-log", "", "file the apiserver writes audit events to")
	foreground := fs.Bool("foreground", false, "run the cluster in this process until SIGINT/SIGTERM")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long up waits for the cluster")
	_ = fs.Parse(os.Args[2:])
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "up":
		if *foreground {
			err = runForeground(abs, *webhook, *auditLog, *timeout)
		} else {
			err = up(abs, *timeout)
		}
	case "down":
		err = down(abs)
	case "status":
		err = status(abs)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cluster:", err)
	os.Exit(1)
}

func statePath(dir string) string { return filepath.Join(dir, "cluster.json") }
func pidPath(dir string) string   { return filepath.Join(dir, "cluster.pid") }

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(statePath(dir))
	if err != nil {
		return nil, err
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// alive reports whether pid names a process that has not ended; a zombie
// (ended, not yet reaped by its parent) counts as ended.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the parenthesised command name.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// up starts "up --foreground" detached from this process and waits for it to
// report the cluster ready.
func up(dir string, timeout time.Duration) error {
	if s, err := readState(dir); err == nil && alive(s.PID) {
		return fmt.Errorf("a cluster is already running from %s (pid %d); run down first", dir, s.PID)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(statePath(dir))
	_ = os.Remove(pidPath(dir))
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logPath := filepath.Join(dir, "cluster.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := append([]string{"up", "--foreground", "--dir", dir, "--timeout", timeout.String()}, os.Args[2:]...)
	cmd := exec.Command(self, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(timeout + 10*time.Second)
	for {
		if s, err := readState(dir); err == nil {
			fmt.Printf("cluster ready in %s (supervisor pid %d)\n", s.StartedIn, s.PID)
			fmt.Printf("server:     %s\n", s.Server)
			fmt.Printf("kwok port:  %d\n", s.KwokPort)
			fmt.Printf("logs:       %s\n", filepath.Join(dir, "logs"))
			fmt.Printf("export KUBECONFIG=%s\n", s.Kubeconfig)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("cluster failed to start (%v); see %s:\n%s", err, logPath, tail(logPath))
		case <-deadline:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("cluster not ready after %s; see %s", timeout, logPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// runForeground runs the cluster until SIGINT or SIGTERM.
func runForeground(dir, webhook, auditLog string, timeout time.Duration) error {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sigs
		cancel()
	}()
	c, err := cluster.Start(ctx, cluster.Options{
		Dir:             dir,
		AuditWebhookURL: webhook,
		AuditLogPath:    auditLog,
		StartTimeout:    timeout,
		Logf: func(format string, args ...any) {
			fmt.Printf("%s "+format+"\n", append([]any{time.Now().Format(time.TimeOnly)}, args...)...)
		},
	})
	if err != nil {
		return err
	}
	s := state{
		PID:        os.Getpid(),
		Dir:        c.Dir,
		Kubeconfig: c.Kubeconfig,
		Server:     c.Server,
		AdminToken: c.AdminToken,
		KwokPort:   c.KwokPort,
		EtcdURL:    c.EtcdURL,
		CAFile:     c.CAFile,
		Components: c.PIDs(),
		StartedIn:  c.StartDuration.Round(time.Millisecond).String(),
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	if err := os.WriteFile(pidPath(dir), []byte(strconv.Itoa(s.PID)+"\n"), 0o644); err != nil {
		_ = c.Stop()
		return err
	}
	// Written last and atomically: its presence means "ready".
	tmp := statePath(dir) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		_ = c.Stop()
		return err
	}
	if err := os.Rename(tmp, statePath(dir)); err != nil {
		_ = c.Stop()
		return err
	}
	fmt.Printf("ready; export KUBECONFIG=%s\n", c.Kubeconfig)
	<-ctx.Done()
	fmt.Println("stopping")
	err = c.Stop()
	_ = os.Remove(statePath(dir))
	_ = os.Remove(pidPath(dir))
	fmt.Println("stopped")
	return err
}

// down stops the supervisor recorded in dir and waits for it to exit. If it
// does not, the component process groups are killed directly.
func down(dir string) error {
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) {
		// Started but never became ready, or already down.
		if b, err := os.ReadFile(pidPath(dir)); err == nil {
			if pid, err := strconv.Atoi(string(trimNL(b))); err == nil && alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
				waitGone(pid, 30*time.Second)
			}
		}
		fmt.Println("no cluster running from", dir)
		return nil
	}
	if err != nil {
		return err
	}
	if alive(s.PID) {
		_ = syscall.Kill(s.PID, syscall.SIGTERM)
		if !waitGone(s.PID, 30*time.Second) {
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
		}
	}
	for _, pid := range s.Components {
		if alive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
	}
	_ = os.Remove(statePath(dir))
	_ = os.Remove(pidPath(dir))
	fmt.Println("cluster stopped")
	return nil
}

func waitGone(pid int, d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if !alive(pid) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return !alive(pid)
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func status(dir string) error {
	s, err := readState(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && !alive(s.PID)) {
		fmt.Println("not running")
		os.Exit(3)
	}
	if err != nil {
		return err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	fmt.Println(string(b))
	return nil
}
