package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// checkUI logs in through the real UI in headless Chromium, opens the node
// page and the log search, asserts what they show and saves screenshots.
func checkUI(t *testing.T, s *vigilServer, node, logQuery string) {
	t.Helper()
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is required for the UI test (apt-get install chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	// Start the browser with a context that has no deadline (a deadline would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, 3*time.Minute)
	defer cancelT()

	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		prefix := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
		path := filepath.Join(artifactDir(t), prefix+"-"+name)
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	count := func(sel string) int {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
		if err != nil {
			t.Fatalf("count %s: %v", sel, err)
		}
		return n
	}

	do("open login", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("login-username")))
	shot("ui-login.png")
	do("log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), s.password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("current-user")),
	)
	user, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("current-user")))
	if err != nil || user != "admin" {
		t.Errorf("current user shown as %q (%v)", user, err)
	}

	row := chromedp.CSS(fmt.Sprintf(`.node-row[data-node=%q]`, node))
	do("node list", chromedp.Click(chromedp.ID("nav-infrastructure")), chromedp.WaitVisible(row))
	if n := count(".node-row"); n < 1 {
		t.Errorf("node list has %d rows", n)
	}
	do("node detail",
		chromedp.Click(row),
		chromedp.WaitVisible(chromedp.ID("node-name")),
		chromedp.WaitVisible(chromedp.CSS(`.chart[data-title="CPU usage"].has-data canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`.chart[data-title="Memory"].has-data canvas`)),
		chromedp.Sleep(time.Second), // let uPlot finish drawing before the picture
	)
	shot("ui-node.png")

	do("log search",
		chromedp.Click(chromedp.ID("nav-logs")),
		chromedp.WaitVisible(chromedp.ID("logs-query")),
		chromedp.SetValue(chromedp.ID("logs-query"), logQuery),
		chromedp.Click(chromedp.ID("logs-run")),
		chromedp.WaitVisible(chromedp.CSS(".log-row")),
		chromedp.Sleep(time.Second),
	)
	if n := count(".log-row"); n == 0 {
		t.Errorf("log search shows no rows")
	}
	first, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".log-row")))
	if err != nil || first == "" {
		t.Errorf("first log row text %q (%v)", first, err)
	}
	shot("ui-logs.png")
}
