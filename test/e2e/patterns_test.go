package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	corev1 "k8s.io/api/core/v1"

	"vigil/internal/patterns/loggen"
	"vigil/test/cluster"
)

const (
	patternsNode = "kwok-patterns-0"
	patternsNS   = "loggen"
)

type apiPattern struct {
	ID            string  `json:"id"`
	Template      string  `json:"template"`
	Count         int64   `json:"count"`
	Share         float64 `json:"share"`
	PreviousCount int64   `json:"previous_count"`
	Trend         string  `json:"trend"`
	Sample        string  `json:"sample"`
	Query         string  `json:"query"`
	FirstSeen     string  `json:"first_seen"`
	LastSeen      string  `json:"last_seen"`
}

type apiPatterns struct {
	Mode          string       `json:"mode"`
	Total         int64        `json:"total"`
	PreviousTotal int64        `json:"previous_total"`
	Patterns      []apiPattern `json:"patterns"`
}

// truth is what the generators wrote: each line's template, and counts per
// template in the current and the previous hour.
type truth struct {
	template  map[string]string // line → "set/template index"
	cur, prev map[string]int64
}

// TestLogPatterns: three pods of a Deployment in the local cluster "log"
// lines from generators with known templates (kubelet-layout CRI files the
// agent tails); the pattern API and page must list exactly the generators'
// templates with their counts and trends, and each pattern's explorer query
// must find exactly its lines.
func TestLogPatterns(t *testing.T) {
	c := cluster.StartForTest(t, cluster.Options{})
	ctx := ctxTimeout(t, 8*time.Minute)
	if _, err := c.CreateFakeNode(ctx, patternsNode, nil); err != nil {
		t.Fatal(err)
	}
	pods := deployLoggen(t, ctx, c)

	sets := []*loggen.Set{loggen.Klog(), loggen.Syslog(), loggen.Spark()}
	root := t.TempDir()
	tr := writeGeneratedLogs(t, root, pods, sets)

	s := startServer(t, "--kubeconfig", c.Kubeconfig)
	startAgent(t, s, t.TempDir(), "--kubeconfig", c.Kubeconfig, "--node-name", patternsNode,
		"--pod-logs-root", root, "--metrics-interval", "5s")

	var total int64
	for _, n := range tr.cur {
		total += n
	}
	var prevTotal int64
	for _, n := range tr.prev {
		prevTotal += n
	}
	waitFor(t, "every generated line stored", 120*time.Second, func() (bool, string) {
		n := len(s.logRows(t, fmt.Sprintf(`namespace:=%q`, patternsNS)))
		return int64(n) == total+prevTotal, fmt.Sprintf("%d of %d", n, total+prevTotal)
	})

	var res apiPatterns
	waitFor(t, "patterns from the index", 60*time.Second, func() (bool, string) {
		b, code := s.get(t, "/api/patterns?"+url.Values{"query": {fmt.Sprintf(`{namespace=%q}`, patternsNS)}, "start": {"1h"}}.Encode())
		res = apiPatterns{}
		json.Unmarshal(b, &res)
		return code == 200 && res.Total == total && res.PreviousTotal == prevTotal,
			fmt.Sprintf("%d: total %d of %d, previous %d of %d", code, res.Total, total, res.PreviousTotal, prevTotal)
	})

	t.Run("the index lists every generator template with its count and trend", func(t *testing.T) {
		checkPatterns(t, res, tr, "index", func(string) bool { return true })
	})

	t.Run("each pattern's explorer query finds exactly its lines", func(t *testing.T) {
		for _, p := range res.Patterns {
			b, code := s.get(t, "/select/logsql/query?"+url.Values{"query": {p.Query}, "start": {"1h"}}.Encode())
			if code != 200 {
				t.Fatalf("explorer query %s: %d %s", p.Query, code, b)
			}
			if n := strings.Count(string(b), "\n"); int64(n) != p.Count {
				t.Errorf("pattern %q: explorer finds %d lines, pattern counts %d\n  query: %s", p.Template, n, p.Count, p.Query)
			}
		}
	})

	t.Run("any LogsQL query is mined from its matching lines", func(t *testing.T) {
		b, code := s.get(t, "/api/patterns?"+url.Values{"query": {fmt.Sprintf(`namespace:=%q "sshd"`, patternsNS)}, "start": {"1h"}}.Encode())
		var scan apiPatterns
		if err := json.Unmarshal(b, &scan); err != nil || code != 200 {
			t.Fatalf("scan: %d %s", code, b)
		}
		checkPatterns(t, scan, tr, "scan", func(line string) bool { return strings.Contains(line, "sshd") })
	})

	t.Run("bad input is a clear 400", func(t *testing.T) {
		for _, q := range []string{"start=yesterday", "start=2h&end=3h", "mode=index&query=error", "query=%ff%fe"} {
			if b, code := s.get(t, "/api/patterns?"+q); code != 400 {
				t.Errorf("%s: %d %s", q, code, b)
			}
		}
	})

	t.Run("the pattern page lists them and opens the explorer", func(t *testing.T) {
		checkPatternsUI(t, s, res)
	})
}

// checkPatterns compares an API answer with the generators' truth for the lines keep selects.
func checkPatterns(t *testing.T, res apiPatterns, tr truth, mode string, keep func(string) bool) {
	t.Helper()
	if res.Mode != mode {
		t.Errorf("mode %q, want %q", res.Mode, mode)
	}
	wantCur, wantPrev := map[string]int64{}, map[string]int64{}
	for line, tmpl := range tr.template {
		if keep(line) {
			wantCur[tmpl] += 0
			wantPrev[tmpl] += 0
		}
	}
	for tmpl := range wantCur {
		wantCur[tmpl], wantPrev[tmpl] = tr.cur[tmpl], tr.prev[tmpl]
		if wantCur[tmpl] == 0 {
			delete(wantCur, tmpl)
		}
	}
	if len(res.Patterns) != len(wantCur) {
		t.Errorf("%d patterns, want %d (one per generator template)", len(res.Patterns), len(wantCur))
	}
	seen := map[string]string{}
	var sum int64
	for _, p := range res.Patterns {
		tmpl, ok := tr.template[p.Sample]
		if !ok {
			t.Errorf("pattern %q: sample %q is no generated line", p.Template, p.Sample)
			continue
		}
		if other, dup := seen[tmpl]; dup {
			t.Errorf("generator template %s split into %q and %q", tmpl, other, p.Template)
		}
		seen[tmpl] = p.Template
		sum += p.Count
		if p.Count != wantCur[tmpl] || p.PreviousCount != wantPrev[tmpl] {
			t.Errorf("pattern %q (%s): count %d previous %d, want %d and %d", p.Template, tmpl, p.Count, p.PreviousCount, wantCur[tmpl], wantPrev[tmpl])
		}
		if want := trendOf(wantCur[tmpl], wantPrev[tmpl]); p.Trend != want {
			t.Errorf("pattern %q: trend %q, want %q", p.Template, p.Trend, want)
		}
		if p.Share <= 0 || p.Share > 1 || p.FirstSeen == "" || p.LastSeen < p.FirstSeen {
			t.Errorf("pattern %q: share %v first %s last %s", p.Template, p.Share, p.FirstSeen, p.LastSeen)
		}
	}
	if sum != res.Total {
		t.Errorf("pattern counts sum to %d, total %d", sum, res.Total)
	}
	t.Logf("%s: %d patterns, %d lines", mode, len(res.Patterns), res.Total)
}

func trendOf(cur, prev int64) string {
	switch {
	case prev == 0:
		return "new"
	case float64(cur) >= 1.5*float64(prev):
		return "rising"
	case float64(cur)*1.5 <= float64(prev):
		return "falling"
	}
	return "steady"
}

// deployLoggen runs a 3-replica Deployment on the kwok node and returns its pods by UID.
func deployLoggen(t *testing.T, ctx context.Context, c *cluster.Cluster) map[string]string {
	t.Helper()
	return deployOnKwok(t, ctx, c, patternsNS, patternsNode, map[string]string{"app": "loggen"},
		corev1.Container{Name: "app", Image: "busybox:1.36"})
}

// writeGeneratedLogs gives each pod one generator: 2,000 lines over the last
// 40 minutes, and for the first pod 1,000 more in the hour before (trends).
func writeGeneratedLogs(t *testing.T, root string, pods map[string]string, sets []*loggen.Set) truth {
	t.Helper()
	tr := truth{template: map[string]string{}, cur: map[string]int64{}, prev: map[string]int64{}}
	now := time.Now()
	i := 0
	for uid, pod := range pods {
		set := sets[i%len(sets)]
		dir := filepath.Join(root, fmt.Sprintf("%s_%s_%s", patternsNS, pod, uid), "app")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		add := func(lines []loggen.Line, from time.Time, span time.Duration, counts map[string]int64) {
			for j, l := range lines {
				key := fmt.Sprintf("%s/%d", set.Name, l.Template)
				if old, ok := tr.template[l.Text]; ok && old != key {
					t.Fatalf("line %q generated by two templates", l.Text)
				}
				tr.template[l.Text] = key
				counts[key]++
				ts := from.Add(time.Duration(j) * span / time.Duration(len(lines)))
				b.WriteString(criLine(ts, "stdout", "F", l.Text))
			}
		}
		if i == 0 {
			add(loggen.New(set, 7).Lines(1000), now.Add(-115*time.Minute), 50*time.Minute, tr.prev)
		}
		add(loggen.New(set, 42).Lines(2000), now.Add(-40*time.Minute), 38*time.Minute, tr.cur)
		if err := os.WriteFile(filepath.Join(dir, "0.log"), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		i++
	}
	return tr
}

func checkPatternsUI(t *testing.T, s *vigilServer, res apiPatterns) {
	t.Helper()
	b := openBrowser(t, s, withViewport(1500, 1000), withTimeout(3*time.Minute))
	shot := func(name string, full bool) {
		t.Helper()
		act := chromedp.CaptureScreenshot()
		if full {
			act = chromedp.FullScreenshot(100)
		}
		buf, err := chromedp.Run(b.ctx, act)
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(artifactDir(t), "patterns-"+name)
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}

	q := fmt.Sprintf(`{namespace=%q}`, patternsNS)
	b.do("pattern page",
		chromedp.Navigate(s.url+"/logs/patterns?"+url.Values{"query": {q}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS(".pattern-row")),
		chromedp.Sleep(500*time.Millisecond),
	)
	shot("page.png", true)
	rows := eval(`JSON.stringify([...document.querySelectorAll('.pattern-row')].map(r => [r.dataset.id, r.dataset.count]))`)
	var got [][2]string
	if err := json.Unmarshal([]byte(rows), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(res.Patterns) {
		t.Errorf("page shows %d patterns, API %d", len(got), len(res.Patterns))
	}
	byID := map[string]apiPattern{}
	for _, p := range res.Patterns {
		byID[p.ID] = p
	}
	for _, r := range got {
		if p, ok := byID[r[0]]; !ok || fmt.Sprint(p.Count) != r[1] {
			t.Errorf("row %v does not match the API (%+v)", r, p)
		}
	}
	if mode := eval(`document.getElementById('patterns-mode')?.dataset.mode ?? ''`); mode != "index" {
		t.Errorf("page says mode %q", mode)
	}
	first := res.Patterns[0]
	b.do("open a pattern in the explorer",
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`.pattern-row[data-id=%q]`, first.ID))),
		chromedp.WaitVisible(chromedp.ID("logs-query")),
		chromedp.WaitVisible(chromedp.CSS(".log-row")),
		chromedp.Sleep(time.Second),
	)
	shot("explorer.png", false)
	if v := eval(`document.getElementById('logs-query').value`); v != first.Query {
		t.Errorf("explorer query %q, want %q", v, first.Query)
	}
	if path := eval(`location.pathname`); path != "/logs" {
		t.Errorf("clicking a pattern went to %s", path)
	}
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.log-row').length`))
	if err != nil || n == 0 {
		t.Errorf("explorer shows %d rows (%v)", n, err)
	}
}
