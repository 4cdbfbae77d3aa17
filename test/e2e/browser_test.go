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

// browser is headless Chromium logged in to a vigil server's UI.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string
}

// browserConfig holds what differs between the UI tests' browsers.
type browserConfig struct {
	width, height int
	timeout       time.Duration
	loginShot     string
}

type browserOption func(*browserConfig)

// withViewport sets the window size, which decides the screenshots' layout.
func withViewport(width, height int) browserOption {
	return func(c *browserConfig) { c.width, c.height = width, height }
}

// withTimeout bounds everything the browser does.
func withTimeout(d time.Duration) browserOption {
	return func(c *browserConfig) { c.timeout = d }
}

// withLoginShot saves a screenshot of the login page before logging in.
func withLoginShot(name string) browserOption {
	return func(c *browserConfig) { c.loginShot = name }
}

// openBrowser starts Chromium, logs in as admin and returns at the overview.
func openBrowser(t *testing.T, s *vigilServer, options ...browserOption) *browser {
	t.Helper()
	cfg := browserConfig{width: 1440, height: 960, timeout: 5 * time.Minute}
	for _, o := range options {
		o(&cfg)
	}
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
		chromedp.WindowSize(cfg.width, cfg.height),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelA)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	// Start the browser with a context that has no deadline (a deadline would stop the browser).
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancelT := context.WithTimeout(bctx, cfg.timeout)
	t.Cleanup(cancelT)
	b := &browser{t: t, ctx: ctx, url: s.url}
	b.do("open login", chromedp.Navigate(s.url+"/"), chromedp.WaitVisible(chromedp.ID("login-username")))
	if cfg.loginShot != "" {
		b.shot(cfg.loginShot)
	}
	b.do("log in",
		chromedp.SendKeys(chromedp.ID("login-username"), "admin"),
		chromedp.SendKeys(chromedp.ID("login-password"), s.password),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("current-user")),
	)
	return b
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// open navigates to a path of the UI and waits for a selector to be visible.
func (b *browser) open(path, waitSel string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.url+path), chromedp.WaitVisible(chromedp.CSS(waitSel)))
}

// shot saves a full-page PNG screenshot into the artifacts directory.
func (b *browser) shot(name string) string {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	prefix := strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name())
	path := filepath.Join(artifactDir(b.t), prefix+"-"+name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	return path
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, sel)))
	if err != nil {
		b.t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// text is the text of the first element matching a CSS selector ("" if none).
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ""`, sel)))
	if err != nil {
		b.t.Fatalf("text %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// visibleText is the rendered text (innerText) of the first element matching
// a CSS selector ("" if none): hidden elements do not count.
func (b *browser) visibleText(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q)||{}).innerText||''`, sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

// waitText waits until the selector's text satisfies ok.
func (b *browser) waitText(sel string, timeout time.Duration, ok func(string) bool) string {
	b.t.Helper()
	var last string
	waitFor(b.t, "text of "+sel, timeout, func() (bool, string) {
		last = b.text(sel)
		return ok(last), last
	})
	return last
}

// waitCount waits until the selector matches a count satisfying ok.
func (b *browser) waitCount(sel string, timeout time.Duration, ok func(int) bool) int {
	b.t.Helper()
	var n int
	waitFor(b.t, "elements "+sel, timeout, func() (bool, string) {
		n = b.count(sel)
		return ok(n), fmt.Sprint(n)
	})
	return n
}
