// Package e2e runs vigil as real processes against a real Kubernetes API
// server, real log files and a real browser.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

var vigilBin string

func TestMain(m *testing.M) {
	vigilBin = os.Getenv("VIGIL_BIN")
	if vigilBin == "" {
		// Build it when run directly with `go test` (make test passes VIGIL_BIN).
		dir, err := os.MkdirTemp("", "vigil-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		vigilBin = filepath.Join(dir, "vigil")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-tags", "kustomize_disable_go_plugin_support", "-o", vigilBin, "./cmd/vigil") // see Makefile
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build vigil:", err)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// artifactDir is where screenshots and logs of failed runs are kept.
func artifactDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a vigil subprocess.
type proc struct {
	t       *testing.T
	name    string
	args    []string
	env     []string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, env: env, logPath: filepath.Join(t.TempDir(), name+".log")}
	p.start()
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("%s log tail:\n%s", p.name, b)
		}
	})
	return p
}

func (p *proc) start() {
	p.t.Helper()
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.cmd = exec.Command(vigilBin, p.args...)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = f, f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, f *os.File) {
		_ = cmd.Wait()
		f.Close()
		close(p.exited)
	}(p.cmd, f)
}

// stop sends sig and waits for the process to exit (SIGKILL after 30 s).
func (p *proc) stop(sig syscall.Signal) {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// vigilServer is a `vigil server` subprocess with an API token for queries.
type vigilServer struct {
	*proc
	url        string
	dataDir    string
	agentToken string
	apiToken   string
	password   string
}

func startServer(t *testing.T, extra ...string) *vigilServer {
	t.Helper()
	port := freePort(t)
	s := &vigilServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: t.TempDir(),
		agentToken: "agent-" + randHex(12), password: "pw-" + randHex(8)}
	args := append([]string{"server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", s.dataDir,
		"--agent-token", s.agentToken, "--log-level", "warn"}, extra...)
	s.proc = startProc(t, "server", []string{"VIGIL_ADMIN_PASSWORD=" + s.password}, args...)
	s.waitReady(t)
	s.apiToken = s.createAPIToken(t)
	return s
}

func (s *vigilServer) waitReady(t *testing.T) {
	t.Helper()
	waitFor(t, "server ready", 60*time.Second, func() (bool, string) {
		if !s.running() {
			t.Fatalf("server exited")
		}
		resp, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

func (s *vigilServer) restart(t *testing.T) {
	s.proc.start()
	s.waitReady(t)
}

// createAPIToken logs in like the UI does and creates an API token.
func (s *vigilServer) createAPIToken(t *testing.T) string {
	t.Helper()
	resp, err := http.Post(s.url+"/api/auth/login", "application/json",
		strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, s.password)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("login: %s", resp.Status)
	}
	var login struct{ CSRF string }
	json.NewDecoder(resp.Body).Decode(&login)
	req, _ := http.NewRequest("POST", s.url+"/api/tokens", strings.NewReader(`{"name":"e2e","kind":"api"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", login.CSRF)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Body.Close()
	var tok struct{ Token string }
	json.NewDecoder(r2.Body).Decode(&tok)
	if tok.Token == "" {
		t.Fatalf("no token: %s", r2.Status)
	}
	return tok.Token
}

func (s *vigilServer) get(t *testing.T, path string) ([]byte, int) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+s.apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return []byte(err.Error()), 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b, resp.StatusCode
}

// waitLogRows polls a LogsQL query until its rows satisfy ok (failing the test
// at the timeout) and returns those rows: stored logs arrive asynchronously.
func (s *vigilServer) waitLogRows(t *testing.T, what string, timeout time.Duration, query string, ok func(rows []map[string]string) bool) []map[string]string {
	t.Helper()
	var rows []map[string]string
	waitFor(t, what, timeout, func() (bool, string) {
		rows = s.logRows(t, query)
		return ok(rows), fmt.Sprintf("%d rows", len(rows))
	})
	return rows
}

// someRows is a waitLogRows condition: at least one row.
func someRows(rows []map[string]string) bool { return len(rows) > 0 }

// nRows is a waitLogRows condition: exactly n rows.
func nRows(n int) func([]map[string]string) bool {
	return func(rows []map[string]string) bool { return len(rows) == n }
}

// logRows runs a LogsQL query and returns all rows.
func (s *vigilServer) logRows(t *testing.T, query string) []map[string]string {
	t.Helper()
	b, code := s.get(t, "/select/logsql/query?query="+url.QueryEscape(query))
	if code != 200 {
		t.Logf("LogsQL %q: %d %s", query, code, b)
		return nil
	}
	var rows []map[string]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		var r map[string]string
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad row %q: %v", sc.Text(), err)
		}
		rows = append(rows, r)
	}
	return rows
}

// promVector runs an instant PromQL query.
func (s *vigilServer) promVector(t *testing.T, q string) []struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
} {
	t.Helper()
	b, code := s.get(t, "/api/v1/query?query="+url.QueryEscape(q))
	var r struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if code != 200 {
		t.Logf("PromQL %q: %d %s", q, code, b)
		return nil
	}
	json.Unmarshal(b, &r)
	return r.Data.Result
}

func startAgent(t *testing.T, s *vigilServer, stateDir string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"agent", "--server-url", s.url, "--token", s.agentToken, "--state-dir", stateDir, "--log-level", "warn"}, extra...)
	return startProc(t, "agent", nil, args...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, info := cond()
		if ok {
			return
		}
		last = info
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
}

func randHex(n int) string {
	b := make([]byte, n)
	f, _ := os.Open("/dev/urandom")
	io.ReadFull(f, b)
	f.Close()
	return fmt.Sprintf("%x", b)
}

// criLine formats one kubelet (CRI) log line.
func criLine(ts time.Time, stream, tag, msg string) string {
	return ts.UTC().Format(time.RFC3339Nano) + " " + stream + " " + tag + " " + msg + "\n"
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
