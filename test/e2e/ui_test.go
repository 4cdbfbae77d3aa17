package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// checkUI logs in through the real UI in headless Chromium, opens the node
// page and the log search, asserts what they show and saves screenshots.
func checkUI(t *testing.T, s *vigilServer, node, logQuery string) {
	t.Helper()
	b := openBrowser(t, s, withViewport(1400, 900), withTimeout(3*time.Minute), withLoginShot("ui-login.png"))
	user, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.ID("current-user")))
	if err != nil || user != "admin" {
		t.Errorf("current user shown as %q (%v)", user, err)
	}

	row := chromedp.CSS(fmt.Sprintf(`.node-row[data-node=%q]`, node))
	b.do("node list", chromedp.Click(chromedp.ID("nav-infrastructure")), chromedp.WaitVisible(row))
	if n := b.count(".node-row"); n < 1 {
		t.Errorf("node list has %d rows", n)
	}
	b.do("node detail",
		chromedp.Click(row),
		chromedp.WaitVisible(chromedp.ID("node-name")),
		chromedp.WaitVisible(chromedp.CSS(`.chart[data-title="CPU usage"].has-data canvas`)),
		chromedp.WaitVisible(chromedp.CSS(`.chart[data-title="Memory"].has-data canvas`)),
		chromedp.Sleep(time.Second), // let uPlot finish drawing before the picture
	)
	b.shot("ui-node.png")

	b.do("log search",
		chromedp.Click(chromedp.ID("nav-logs")),
		chromedp.WaitVisible(chromedp.ID("logs-query")),
		chromedp.SetValue(chromedp.ID("logs-query"), logQuery),
		chromedp.Click(chromedp.ID("logs-run")),
		chromedp.WaitVisible(chromedp.CSS(".log-row")),
		chromedp.Sleep(time.Second),
	)
	if n := b.count(".log-row"); n == 0 {
		t.Errorf("log search shows no rows")
	}
	first, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".log-row")))
	if err != nil || first == "" {
		t.Errorf("first log row text %q (%v)", first, err)
	}
	b.shot("ui-logs.png")
}
