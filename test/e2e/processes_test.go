package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

type procRow struct {
	PID         int     `json:"pid"`
	Command     string  `json:"command"`
	Args        string  `json:"args"`
	User        string  `json:"user"`
	CPUPercent  float64 `json:"cpuPercent"`
	MemoryBytes float64 `json:"memoryBytes"`
}

type procList struct {
	Node        string    `json:"node"`
	CollectedAt time.Time `json:"collectedAt"`
	Processes   []procRow `json:"processes"`
}

func (s *vigilServer) processes(t *testing.T, node, query string) procList {
	t.Helper()
	b, code := s.get(t, "/api/nodes/"+url.PathEscape(node)+"/processes"+query)
	if code != 200 {
		t.Fatalf("processes API: %d %s", code, b)
	}
	var pl procList
	if err := json.Unmarshal(b, &pl); err != nil {
		t.Fatalf("processes API: %v: %s", err, b)
	}
	return pl
}

func findPID(pl procList, pid int) (procRow, bool) {
	for _, p := range pl.Processes {
		if p.PID == pid {
			return p, true
		}
	}
	return procRow{}, false
}

// TestUpListsTopProcesses runs `vigil up` on this machine and expects a
// busy process the test starts itself among the node's top processes — with
// its pid, command and user — in the API, in PromQL and on the node page;
// once it ends it leaves the list.
func TestUpListsTopProcesses(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// A script's name becomes the process's command (comm), so it is easy to recognise.
	dir := t.TempDir()
	script := filepath.Join(dir, "vigil-e2e-spin")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile :; do :; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	spin := exec.Command(script)
	// Run as another user when we can, so the user column is proven, not assumed.
	if os.Getuid() == 0 {
		if nobody, err := user.Lookup("nobody"); err == nil {
			uid, _ := strconv.Atoi(nobody.Uid)
			gid, _ := strconv.Atoi(nobody.Gid)
			for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir makes both 0700
				if err := os.Chmod(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			spin.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
			me = nobody
		}
	}
	if err := spin.Start(); err != nil {
		t.Fatal(err)
	}
	pid := spin.Process.Pid
	stopped := false
	stopSpin := func() {
		if !stopped {
			_ = spin.Process.Kill()
			_ = spin.Wait()
			stopped = true
		}
	}
	t.Cleanup(stopSpin)

	port := freePort(t)
	s := &vigilServer{url: fmt.Sprintf("http://127.0.0.1:%d", port), dataDir: t.TempDir(), password: "pw-" + randHex(8)}
	s.proc = startProc(t, "up", []string{"VIGIL_ADMIN_PASSWORD=" + s.password}, "up",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", s.dataDir, "--host-logs", "",
		"--metrics-interval", "5s", "--processes-top", "15", "--log-level", "warn")
	s.waitReady(t)
	s.apiToken = s.createAPIToken(t)

	var row procRow
	var seenAt time.Time
	waitFor(t, "the spinning process in the top list", 60*time.Second, func() (bool, string) {
		pl := s.processes(t, host, "")
		p, ok := findPID(pl, pid)
		if !ok {
			return false, fmt.Sprintf("%d processes, pid %d not among them", len(pl.Processes), pid)
		}
		row, seenAt = p, pl.CollectedAt
		// The first sample rates CPU over the process's lifetime; wait for an interval-based one.
		return p.CPUPercent > 2, fmt.Sprintf("%+v", p)
	})
	if row.Command != "vigil-e2e-spin" || row.User != me.Username || !strings.Contains(row.Args, script) || row.MemoryBytes <= 0 {
		t.Fatalf("process row %+v, want command vigil-e2e-spin, user %s", row, me.Username)
	}
	pl := s.processes(t, host, "")
	if len(pl.Processes) < 5 || len(pl.Processes) > 30 || pl.Node != host {
		t.Fatalf("top list of %d processes for node %q (want 15 by CPU ∪ 15 by memory)", len(pl.Processes), pl.Node)
	}
	for i := 1; i < len(pl.Processes); i++ {
		if pl.Processes[i].CPUPercent > pl.Processes[i-1].CPUPercent {
			t.Fatalf("not sorted by CPU: %+v", pl.Processes)
		}
	}
	// The same facts through PromQL, as the series are named.
	q := fmt.Sprintf(`vigil_process_cpu_usage_ratio{node=%q,pid="%d"}`, host, pid)
	v := s.promVector(t, q)
	if len(v) != 1 || v[0].Metric["command"] != "vigil-e2e-spin" || v[0].Metric["user"] != me.Username {
		t.Fatalf("%s = %v", q, v)
	}
	t.Logf("pid %d %s by %s at %.1f%% CPU, %.0f KiB", row.PID, row.Command, row.User, row.CPUPercent, row.MemoryBytes/1024)

	procScreenshot(t, s, host, pid)

	// Once it ends it leaves the list, while the list at an earlier time still has it.
	stopSpin()
	waitFor(t, "the ended process to leave the list", 30*time.Second, func() (bool, string) {
		pl := s.processes(t, host, "")
		_, ok := findPID(pl, pid)
		return !ok && pl.CollectedAt.After(seenAt), fmt.Sprintf("collected %v", pl.CollectedAt)
	})
	if _, ok := findPID(s.processes(t, host, "?time="+strconv.FormatInt(seenAt.Unix()+1, 10)), pid); !ok {
		t.Fatalf("pid %d missing from the list at %v", pid, seenAt)
	}
}

// procScreenshot opens the node page in headless Chromium and checks the process row.
func procScreenshot(t *testing.T, s *vigilServer, node string, pid int) {
	t.Helper()
	ctx := procBrowser(t)
	steps := func(what string, a ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	steps("log in",
		chromedp.Navigate(s.url+"/"),
		chromedp.WaitVisible(chromedp.ID("login-username")),
		chromedp.SendKeys(chromedp.ID("login-username"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), s.password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("current-user")),
	)
	rowSel := fmt.Sprintf(`.process-row[data-pid="%d"]`, pid)
	steps("node page",
		chromedp.Navigate(s.url+"/infrastructure/"+url.PathEscape(node)),
		chromedp.WaitVisible(chromedp.ID("node-process-table")),
		chromedp.WaitVisible(chromedp.CSS(rowSel)),
		chromedp.WaitVisible(chromedp.CSS(`.chart[data-title="CPU usage"].has-data canvas`)),
		chromedp.Sleep(time.Second),
	)
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(rowSel)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, strconv.Itoa(pid)) || !strings.Contains(text, "vigil-e2e-spin") {
		t.Fatalf("process row shows %q", text)
	}
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".process-row").length`))
	if err != nil || n < 5 {
		t.Fatalf("%d process rows (%v)", n, err)
	}
	// Long command lines are cut, so the user, CPU and memory columns stay on screen.
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector("#node-process-table").offsetWidth`))
	if err != nil || w > 1300 {
		t.Fatalf("process table %d px wide (%v)", w, err)
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(chromedp.ID("node-processes"))); err != nil {
		t.Fatal(err)
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(artifactDir(t), "processes-node-page.png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// procBrowser starts headless Chromium for the test's lifetime.
func procBrowser(t *testing.T) context.Context {
	t.Helper()
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is required for the UI test (apt-get install chromium): %v", err)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000))
	bctx, cancel := chromedp.NewContext(actx)
	// The browser starts with a context without deadline (a deadline would stop it).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		cancelA()
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	return ctx
}
