package bench

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat;
// it is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Proc is a subprocess whose CPU time and memory can be read while it runs.
type Proc struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

var (
	procsMu sync.Mutex
	procs   = map[*Proc]struct{}{}
)

// Start runs bin with args; its output goes to logPath. The process gets its
// own process group and is killed if this process dies.
func Start(name, logPath string, env []string, bin string, args ...string) (*Proc, error) {
	out, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &Proc{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	procsMu.Lock()
	procs[p] = struct{}{}
	procsMu.Unlock()
	go func() {
		p.err = cmd.Wait()
		out.Close()
		procsMu.Lock()
		delete(procs, p)
		procsMu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended, and how.
func (p *Proc) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Stop sends SIGTERM, waits up to grace, then kills the process group.
func (p *Proc) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
		<-p.done
	}
}

// KillAll kills every subprocess still running (used on exit and on signals).
func KillAll() {
	procsMu.Lock()
	list := make([]*Proc, 0, len(procs))
	for p := range procs {
		list = append(list, p)
	}
	procsMu.Unlock()
	for _, p := range list {
		_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	}
}

// LogTail returns the last n bytes of the process' output.
func (p *Proc) LogTail(n int64) string {
	f, err := os.Open(p.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	b := make([]byte, st.Size()-off)
	_, _ = f.ReadAt(b, off)
	return string(b)
}

// Usage is a snapshot of a process' resource use.
type Usage struct {
	CPU      float64 // user+system CPU seconds so far
	RSS      int64   // resident bytes now (VmRSS)
	PeakRSS  int64   // highest resident bytes so far (VmHWM)
	RSSAnon  int64   // anonymous resident bytes now (heap, stacks)
	RSSFile  int64   // file-backed resident bytes now (mostly the executable)
	Threads  int
	Captured time.Time
}

// Usage reads /proc/<pid>/stat and /proc/<pid>/status.
func (p *Proc) Usage() (Usage, error) { return ReadUsage(p.Pid()) }

// ReadUsage reads a process' CPU time and memory from /proc.
func ReadUsage(pid int) (Usage, error) {
	u := Usage{Captured: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// The command name may hold spaces and parentheses: fields start after the last ')'.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return u, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return u, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return u, errors.New("bad utime/stime in /proc stat")
	}
	u.CPU = float64(ut+st) / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fs[0], 10, 64)
		switch k {
		case "VmRSS":
			u.RSS = n << 10
		case "VmHWM":
			u.PeakRSS = n << 10
		case "RssAnon":
			u.RSSAnon = n << 10
		case "RssFile":
			u.RSSFile = n << 10
		case "Threads":
			u.Threads = int(n)
		}
	}
	return u, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
