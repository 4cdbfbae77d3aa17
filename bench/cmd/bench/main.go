// Command bench measures vigil end to end and prints a table of figures:
// the agent tailing and shipping CRI pod logs (side by side with the
// OpenTelemetry Collector's filelog receiver on the same files), the
// server's ingestion rates, and LogsQL and PromQL query latencies.
//
// Run it from the repository root (`make bench`); see bench/README.md.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"vigil/bench"
)

const otelcolVersion = "0.165.1" // contrib; core 0.165.0 / 1.71.0 (bench/otelcol/go.mod)

type options struct {
	vigil, otelcol, otelcolSrc string
	lines, pods, runs          int
	idle                       time.Duration
	ingestLines, storeLines    int
	bigLines                   int
	samples                    int
	senders                    int
	sections                   string
	tmp                        string
	keep                       bool
	compression                string
	perfAgent                  string
}

func main() {
	var o options
	flag.StringVar(&o.vigil, "vigil", "bin/vigil", "vigil binary to measure")
	flag.StringVar(&o.otelcol, "otelcol", "", "collector binary (default: built from -otelcol-src into ~/.cache/vigil/otelcol-v"+otelcolVersion+"/, keyed by its sources)")
	flag.StringVar(&o.otelcolSrc, "otelcol-src", "bench/otelcol", "module the collector is built from")
	flag.IntVar(&o.lines, "lines", 1_000_000, "CRI lines the agent and the collector ship")
	flag.IntVar(&o.pods, "pods", 20, "pods the lines are spread over")
	flag.IntVar(&o.runs, "runs", 3, "runs of each shipper, alternating")
	flag.DurationVar(&o.idle, "idle", 30*time.Second, "how long after the last line the idle RSS is read")
	flag.IntVar(&o.ingestLines, "ingest-lines", 500_000, "lines POSTed to /v1/logs for the ingest rate")
	flag.IntVar(&o.storeLines, "store-lines", 2_000_000, "lines stored for the LogsQL queries (the ingest lines included)")
	flag.IntVar(&o.samples, "samples", 2_000_000, "samples sent by remote-write (1000 series) for the ingest rate and PromQL queries")
	flag.IntVar(&o.senders, "senders", 4, "concurrent ingestion senders")
	flag.IntVar(&o.bigLines, "big-lines", 10_000_000, "lines stored by the query10m section before its word queries")
	flag.StringVar(&o.sections, "sections", "tail,ingest,query", "what to run: tail, ingest, query (query needs ingest), query10m (ingest and word queries over -big-lines lines)")
	flag.StringVar(&o.tmp, "tmp", os.TempDir(), "where the temporary directory goes")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	flag.StringVar(&o.compression, "otelcol-compression", "none", "the collector exporter's compression (vigil's agent sends uncompressed protobuf)")
	flag.StringVar(&o.perfAgent, "perf-agent", "", "record the first agent run with `perf record -g` into this file (use an unstripped -vigil for symbols)")
	flag.Parse()

	dir, err := os.MkdirTemp(o.tmp, "vigil-bench-")
	if err != nil {
		fatal(err)
	}
	cleanup := func() {
		bench.KillAll()
		if !o.keep {
			os.RemoveAll(dir)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "bench: %v, cleaning up\n", s)
		cancel()
		cleanup()
		os.Exit(130)
	}()
	err = run(ctx, o, dir)
	cancel()
	cleanup()
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "  · "+format+"\n", args...)
}

func run(ctx context.Context, o options, dir string) error {
	vigil, err := filepath.Abs(o.vigil)
	if err != nil {
		return err
	}
	if _, err := os.Stat(vigil); err != nil {
		return fmt.Errorf("vigil binary: %w (run `make bin/vigil`)", err)
	}
	o.vigil = vigil
	want := map[string]bool{}
	for _, s := range strings.Split(o.sections, ",") {
		want[strings.TrimSpace(s)] = true
	}
	printHeader(o)
	if want["tail"] {
		if err := ensureOtelcol(ctx, &o); err != nil {
			return err
		}
		if err := tailSection(ctx, o, dir); err != nil {
			return err
		}
	}
	if want["ingest"] || want["query"] {
		if err := storeSection(ctx, o, dir, want["query"]); err != nil {
			return err
		}
	}
	if want["query10m"] {
		big := o
		big.storeLines, big.samples = o.bigLines, 10_000
		fmt.Printf("\n== %s stored lines: ingestion and full-text word queries\n", thousands(o.bigLines))
		if err := storeSection(ctx, big, filepath.Join(dir, "big"), true); err != nil {
			return err
		}
	}
	fmt.Printf("\nfinished %s, load average %s\n", time.Now().Format("15:04:05"), loadavg())
	return nil
}

func printHeader(o options) {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var memGiB float64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				memGiB = kb / (1 << 20)
			}
		}
	}
	ver, _ := exec.Command(o.vigil, "version").Output()
	fmt.Printf("vigil benchmarks  %s\n", time.Now().Format("2006-01-02 15:04:05 MST"))
	fmt.Printf("machine  %d CPUs (nproc), %s, %.0f GiB RAM, %s/%s, %s, load average %s\n",
		runtime.NumCPU(), model, memGiB, runtime.GOOS, runtime.GOARCH, runtime.Version(), loadavg())
	fmt.Printf("binary   %s (%s)\n", o.vigil, strings.TrimSpace(string(ver)))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// ensureOtelcol sets o.otelcol, building the collector into its cache when
// no binary for this version and these sources is there.
func ensureOtelcol(ctx context.Context, o *options) error {
	if o.otelcol != "" {
		_, err := os.Stat(o.otelcol)
		return err
	}
	src, err := filepath.Abs(o.otelcolSrc)
	if err != nil {
		return err
	}
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return fmt.Errorf("collector sources: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	o.otelcol = filepath.Join(home, ".cache", "vigil", "otelcol-v"+otelcolVersion, "otelcol-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(o.otelcol); err == nil {
		return nil
	}
	progress("building the OpenTelemetry Collector %s into %s (once; a few minutes)", otelcolVersion, o.otelcol)
	if err := os.MkdirAll(filepath.Dir(o.otelcol), 0o755); err != nil {
		return err
	}
	tmp := o.otelcol + ".tmp"
	args := []string{"go", "build", "-trimpath", "-ldflags", "-s -w", "-o", tmp, "."}
	if p, err := exec.LookPath("nice"); err == nil {
		args = append([]string{p}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build collector: %w", err)
	}
	return os.Rename(tmp, o.otelcol)
}

// ---------------------------------------------------------------- tail

type tailResult struct {
	wall      time.Duration
	cpu       float64 // shipper CPU-s until every record was stored
	peak      int64   // shipper VmHWM then
	idleRSS   int64   // shipper VmRSS after the idle wait
	peakAnon  int64   // highest RssAnon seen (sampled every 250 ms)
	idleAnon  int64   // RssAnon after the idle wait
	idleCPU   float64 // shipper CPU-s during the idle wait
	serverCPU float64
	final     int64 // records stored after the idle wait
}

func tailSection(ctx context.Context, o options, dir string) error {
	root := filepath.Join(dir, "pods")
	t0 := time.Now()
	c, err := bench.WriteCorpus(bench.CorpusConfig{
		Root: root, Lines: o.lines, Pods: o.pods, Seed: 42,
		Start: time.Now().Add(-time.Hour).Truncate(time.Second), Span: time.Hour,
	})
	if err != nil {
		return fmt.Errorf("write corpus: %w", err)
	}
	progress("wrote %d lines (%d partial, %d records) in %d files, %.0f MB, %.0f B/line, in %s",
		c.Lines, c.Partial, c.Records, len(c.Streams), float64(c.Bytes)/1e6, float64(c.Bytes)/float64(c.Lines), time.Since(t0).Round(time.Millisecond))

	kinds := []string{"vigil", "otelcol"}
	results := map[string][]tailResult{}
	for i := 0; i < o.runs; i++ {
		for _, kind := range kinds {
			runDir := filepath.Join(dir, fmt.Sprintf("%s-%d", kind, i+1))
			if err := os.MkdirAll(runDir, 0o755); err != nil {
				return err
			}
			perf := ""
			if kind == "vigil" && i == 0 {
				perf = o.perfAgent
			}
			r, err := tailRun(ctx, o, kind, c, root, runDir, perf)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", kind, i+1, err)
			}
			progress("%-7s run %d: %6.2f s, %7.0f lines/s, %5.2f CPU-s, peak %4.0f MiB, idle %4.0f MiB, server %5.2f CPU-s, stored %d",
				kind, i+1, r.wall.Seconds(), float64(c.Lines)/r.wall.Seconds(), r.cpu, mib(r.peak), mib(r.idleRSS), r.serverCPU, r.final)
			results[kind] = append(results[kind], r)
			if !o.keep {
				os.RemoveAll(runDir)
			}
		}
	}

	med := func(kind string, f func(tailResult) float64) float64 {
		var xs []float64
		for _, r := range results[kind] {
			xs = append(xs, f(r))
		}
		return median(xs)
	}
	perM := float64(c.Lines) / 1e6
	rows := []struct {
		name   string
		f      func(tailResult) float64
		format string
		ratio  bool
		target string
	}{
		{"wall time until all stored (s)", func(r tailResult) float64 { return r.wall.Seconds() }, "%.2f", true, ""},
		{"lines/s", func(r tailResult) float64 { return float64(c.Lines) / r.wall.Seconds() }, "%.0f", true, ""},
		{"shipper CPU-s per 1M lines", func(r tailResult) float64 { return r.cpu / perM }, "%.2f", true, "≤ 0.67"},
		{"shipper peak RSS (MiB)", func(r tailResult) float64 { return mib(r.peak) }, "%.1f", true, "≤ 0.50"},
		{fmt.Sprintf("shipper RSS %s after (MiB)", o.idle), func(r tailResult) float64 { return mib(r.idleRSS) }, "%.1f", true, ""},
		{"  of which anonymous (MiB)", func(r tailResult) float64 { return mib(r.idleAnon) }, "%.1f", true, ""},
		{"shipper peak anonymous RSS (MiB)", func(r tailResult) float64 { return mib(r.peakAnon) }, "%.1f", true, ""},
		{fmt.Sprintf("shipper CPU-s idle %s", o.idle), func(r tailResult) float64 { return r.idleCPU }, "%.2f", false, ""},
		{"server CPU-s per 1M lines", func(r tailResult) float64 { return r.serverCPU / perM }, "%.2f", true, ""},
	}
	fmt.Printf("\n1. Tail and ship %s CRI lines: %d files of %d pods, %.0f B/line, %d P lines, %d records after joining; median of %d runs each (alternating)\n",
		thousands(c.Lines), len(c.Streams), o.pods, float64(c.Bytes)/float64(c.Lines), c.Partial, c.Records, o.runs)
	fmt.Printf("   vigil agent (disk buffer, uncompressed protobuf) vs OpenTelemetry Collector %s: filelog (container operator) → batch → otlphttp (compression %s)\n", otelcolVersion, o.compression)
	fmt.Printf("   %-34s %14s %14s %10s %8s\n", "", "vigil agent", "otelcol", "agent/col", "target")
	for _, row := range rows {
		a, b := med("vigil", row.f), med("otelcol", row.f)
		ratio := ""
		if row.ratio && b != 0 {
			ratio = fmt.Sprintf("%.2f", a/b)
		}
		fmt.Printf("   %-34s %14s %14s %10s %8s\n", row.name, fmt.Sprintf(row.format, a), fmt.Sprintf(row.format, b), ratio, row.target)
	}
	for _, kind := range kinds {
		var ws []string
		for _, r := range results[kind] {
			ws = append(ws, fmt.Sprintf("%.1fs/%.2fcpu/%.0fMiB", r.wall.Seconds(), r.cpu, mib(r.peak)))
		}
		fmt.Printf("   runs %-8s %s\n", kind+":", strings.Join(ws, "  "))
	}
	for _, kind := range kinds {
		for _, r := range results[kind] {
			if r.final != int64(c.Records) {
				fmt.Printf("   NOTE: %s stored %d records, expected %d\n", kind, r.final, c.Records)
			}
		}
	}
	return nil
}

func tailRun(ctx context.Context, o options, kind string, c bench.Corpus, root, dir, perfOut string) (tailResult, error) {
	var res tailResult
	srv, err := bench.StartServer(ctx, o.vigil, dir, "server")
	if err != nil {
		return res, err
	}
	defer srv.Stop(15 * time.Second)

	var ship *bench.Proc
	start := time.Now()
	switch kind {
	case "vigil":
		ship, err = bench.Start("agent", filepath.Join(dir, "agent.log"), nil, o.vigil, "agent",
			"--server-url", srv.URL, "--token", srv.AgentToken, "--state-dir", filepath.Join(dir, "agent-state"),
			"--pod-logs-root", root, "--node-name", "bench", "--metrics-interval", "1h", "--log-level", "warn")
	case "otelcol":
		cfg := filepath.Join(dir, "otelcol.yaml")
		if err := os.WriteFile(cfg, []byte(otelcolConfig(root, srv.URL, srv.AgentToken, o.compression)), 0o600); err != nil {
			return res, err
		}
		ship, err = bench.Start("otelcol", filepath.Join(dir, "otelcol.log"), nil, o.otelcol, "--config", cfg)
	}
	if err != nil {
		return res, err
	}
	defer ship.Stop(15 * time.Second)

	var perf *exec.Cmd
	if perfOut != "" {
		perf = exec.Command("perf", "record", "-F", "499", "-g", "-o", perfOut, "-p", strconv.Itoa(ship.Pid()))
		perf.Stdout, perf.Stderr = nil, nil
		if err := perf.Start(); err != nil {
			progress("perf: %v", err)
			perf = nil
		}
	}

	alive := func() error {
		if exited, err := ship.Exited(); exited {
			return fmt.Errorf("%s exited (%v): %s", kind, err, ship.LogTail(3000))
		}
		if u, err := ship.Usage(); err == nil {
			res.peakAnon = max(res.peakAnon, u.RSSAnon)
		}
		return nil
	}
	wait, n, err := srv.WaitCount(ctx, "*", int64(c.Records), 250*time.Millisecond, 10*time.Minute, alive)
	if err != nil {
		return res, fmt.Errorf("waiting for %d records (have %d): %w; %s log: %s", c.Records, n, err, kind, ship.LogTail(2000))
	}
	res.wall = time.Since(start)
	_ = wait
	u, err := ship.Usage()
	if err != nil {
		return res, err
	}
	su, err := srv.Usage()
	if err != nil {
		return res, err
	}
	if perf != nil {
		_ = perf.Process.Signal(os.Interrupt)
		_ = perf.Wait()
		progress("perf profile of the agent written to %s (perf report -i %s --no-children)", perfOut, perfOut)
	}
	res.cpu, res.peak, res.serverCPU = u.CPU, u.PeakRSS, su.CPU
	res.peakAnon = max(res.peakAnon, u.RSSAnon)
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(o.idle):
	}
	ui, err := ship.Usage()
	if err != nil {
		return res, fmt.Errorf("%s after idle: %w: %s", kind, err, ship.LogTail(2000))
	}
	res.idleRSS, res.idleAnon, res.idleCPU = ui.RSS, ui.RSSAnon, ui.CPU-u.CPU
	if res.final, err = srv.Count(ctx, "*"); err != nil {
		return res, err
	}
	return res, nil
}

func otelcolConfig(root, serverURL, token, compression string) string {
	return fmt.Sprintf(`receivers:
  filelog:
    include: [%q]
    start_at: beginning
    include_file_path: true
    operators:
      - type: container
processors:
  batch: {}
exporters:
  otlphttp:
    endpoint: %q
    encoding: proto
    compression: %s
    headers:
      Authorization: "Bearer %s"
service:
  telemetry:
    logs:
      level: warn
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [filelog]
      processors: [batch]
      exporters: [otlphttp]
`, filepath.Join(root, "*", "*", "*.log"), serverURL, compression, token)
}

// ---------------------------------------------------------------- ingest and queries

func storeSection(ctx context.Context, o options, dir string, queries bool) error {
	sdir := filepath.Join(dir, "store")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return err
	}
	srv, err := bench.StartServer(ctx, o.vigil, sdir, "server")
	if err != nil {
		return err
	}
	defer srv.Stop(15 * time.Second)
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.senders * 2}}

	// Logs: batches of 1000 lines, shaped like the agent's, sent by a few
	// senders; encoded ahead of time, chunk by chunk, outside the timing.
	total := max(o.storeLines, o.ingestLines)
	const batchLines = 1000
	lb := bench.NewLogBatches(7, o.pods, time.Now().Add(-2*time.Hour), 2*time.Hour/time.Duration(max(total, 1)))
	type chunk struct {
		lines int
		secs  float64
		cpu   float64
	}
	var chunks []chunk
	for sent := 0; sent < total; {
		n := min(o.ingestLines, total-sent)
		var bodies [][]byte
		var payloadBytes int
		for k := 0; k < n; k += batchLines {
			b, err := lb.Next(min(batchLines, n-k), 4)
			if err != nil {
				return err
			}
			bodies = append(bodies, b)
			payloadBytes += len(b)
		}
		u0, _ := srv.Usage()
		t0 := time.Now()
		if err := sendAll(ctx, o.senders, len(bodies), func(i int) error {
			return srv.Post(ctx, hc, "/v1/logs", "application/x-protobuf", bodies[i])
		}); err != nil {
			return fmt.Errorf("POST /v1/logs: %w", err)
		}
		secs := time.Since(t0).Seconds()
		u1, _ := srv.Usage()
		chunks = append(chunks, chunk{n, secs, u1.CPU - u0.CPU})
		progress("POST /v1/logs: %d lines (%.0f MB protobuf) in %.2f s: %.0f lines/s, server %.2f CPU-s",
			n, float64(payloadBytes)/1e6, secs, float64(n)/secs, u1.CPU-u0.CPU)
		sent += n
	}

	// Metrics: node_cpu_seconds_total, nodes×4 CPUs×5 modes = 1000 series,
	// one sample per 15 s ending now. Each sender owns a shard of the
	// series (as Prometheus' remote-write shards do) and all advance one
	// window at a time, so every series is appended in order.
	const nodes, cpus = 50, 4
	const interval = 15 * time.Second
	series := nodes * cpus * 5
	scrapes := max(o.samples/series, 1)
	end := time.Now().Truncate(interval)
	startT := end.Add(-time.Duration(scrapes-1) * interval)
	gen := bench.NewNodeCPU(nodes, cpus, interval, startT, 3)
	const window = 40 // scrapes per request: 250 series × 40 = 10k samples
	shards := o.senders
	per := (series + shards - 1) / shards
	var reqs [][][]byte // [window][shard]
	samples := 0
	for w := 0; w < scrapes; w += window {
		var row [][]byte
		for s := 0; s < shards; s++ {
			b, n, err := gen.Request(s*per, min((s+1)*per, series), w, min(w+window, scrapes))
			if err != nil {
				return err
			}
			row = append(row, b)
			samples += n
		}
		reqs = append(reqs, row)
	}
	// Prometheus sends "Content-Encoding: snappy"; when the server refuses
	// that header, say so and go on without it.
	rwHeaders := bench.RemoteWriteHeaders
	var rwNote string
	mu0, _ := srv.Usage()
	t0 := time.Now()
	for w, row := range reqs {
		if w == 0 {
			err := srv.Post(ctx, hc, "/api/v1/write", "application/x-protobuf", row[0], rwHeaders...)
			var se *bench.StatusError
			if errors.As(err, &se) && se.Code == http.StatusUnsupportedMediaType {
				rwNote = fmt.Sprintf("NOTE: /api/v1/write refuses Prometheus' \"Content-Encoding: snappy\" header (%d %s); sent without it", se.Code, se.Body)
				progress("%s", rwNote)
				rwHeaders = []string{"X-Prometheus-Remote-Write-Version", "0.1.0"}
				err = srv.Post(ctx, hc, "/api/v1/write", "application/x-protobuf", row[0], rwHeaders...)
			}
			if err != nil {
				return fmt.Errorf("remote write: %w", err)
			}
			row = row[1:]
		}
		if err := sendAll(ctx, len(row), len(row), func(i int) error {
			return srv.Post(ctx, hc, "/api/v1/write", "application/x-protobuf", row[i], rwHeaders...)
		}); err != nil {
			return fmt.Errorf("remote write: %w", err)
		}
	}
	msecs := time.Since(t0).Seconds()
	mu1, _ := srv.Usage()
	progress("remote write: %d samples in %.2f s: %.0f samples/s, server %.2f CPU-s", samples, msecs, float64(samples)/msecs, mu1.CPU-mu0.CPU)

	fmt.Printf("\n2. Server ingestion (%d concurrent senders, pre-encoded bodies, loopback)\n", o.senders)
	fmt.Printf("   %-72s %12s %20s\n", "", "rate", "server CPU-s per 1M")
	c0 := chunks[0]
	fmt.Printf("   %-72s %12s %20.2f\n", fmt.Sprintf("POST /v1/logs, %s lines in batches of %d (lines/s)", thousands(c0.lines), batchLines), fmt.Sprintf("%.0f", float64(c0.lines)/c0.secs), c0.cpu/float64(c0.lines)*1e6)
	if len(chunks) > 1 {
		var l int
		var s, cpu float64
		for _, ch := range chunks {
			l, s, cpu = l+ch.lines, s+ch.secs, cpu+ch.cpu
		}
		fmt.Printf("   %-72s %12s %20.2f\n", fmt.Sprintf("POST /v1/logs, all %s lines (store growing) (lines/s)", thousands(l)), fmt.Sprintf("%.0f", float64(l)/s), cpu/float64(l)*1e6)
	}
	fmt.Printf("   %-72s %12s %20.2f\n", fmt.Sprintf("remote write, %d series × %d scrapes, %d per request (samples/s)", series, scrapes, per*window),
		fmt.Sprintf("%.0f", float64(samples)/msecs), (mu1.CPU-mu0.CPU)/float64(samples)*1e6)
	if rwNote != "" {
		fmt.Printf("   %s\n", rwNote)
	}

	if !queries {
		return nil
	}

	// Queries: wait until every line is searchable and check the counts.
	t1 := time.Now()
	if _, n, err := srv.WaitCount(ctx, "*", int64(lb.Records), 250*time.Millisecond, 5*time.Minute, nil); err != nil {
		return fmt.Errorf("waiting for %d stored lines (have %d): %w", lb.Records, n, err)
	}
	counted := time.Since(t1)
	// Counts see new rows a little before row queries return them: wait
	// until the word filter returns rows too.
	for {
		b, err := srv.Get(ctx, "/select/logsql/query", url.Values{"query": {"error"}, "limit": {"100"}})
		if err != nil {
			return err
		}
		if strings.Count(string(b), "\n") >= min(100, lb.Errors) {
			break
		}
		if time.Since(t1) > time.Minute {
			return fmt.Errorf("the word filter `error` still returns %d rows a minute after the last POST", strings.Count(string(b), "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	progress("all %d lines counted %.1f s and returned by queries %.1f s after the last POST", lb.Records, counted.Seconds(), time.Since(t1).Seconds())
	errCount, err := srv.Count(ctx, "error")
	if err != nil {
		return err
	}
	if errCount != int64(lb.Errors) {
		fmt.Printf("   NOTE: `error` matched %d lines, %d were generated with the word\n", errCount, lb.Errors)
	}
	stored, err := srv.Get(ctx, "/api/v1/query", url.Values{"query": {"sum(count_over_time(node_cpu_seconds_total[" + strconv.Itoa(int(math.Ceil(float64(scrapes)*interval.Hours()))+1) + "h]))"}, "time": {strconv.FormatInt(end.Unix(), 10)}})
	if err != nil {
		return err
	}
	if !strings.Contains(string(stored), fmt.Sprintf(`"%d"`, samples)) {
		fmt.Printf("   NOTE: stored sample count is not %d: %s\n", samples, stored)
	}

	type q struct {
		name   string
		path   string
		params url.Values
		check  func([]byte) error
	}
	rangeParams := func(expr string) url.Values {
		return url.Values{"query": {expr}, "start": {strconv.FormatInt(end.Add(-6*time.Hour).Unix(), 10)}, "end": {strconv.FormatInt(end.Unix(), 10)}, "step": {"60"}}
	}
	qs := []q{
		{"LogsQL `error`, limit=100", "/select/logsql/query", url.Values{"query": {"error"}, "limit": {"100"}}, func(b []byte) error {
			if n := strings.Count(string(b), "\n"); n != 100 {
				return fmt.Errorf("%d rows, want 100", n)
			}
			return nil
		}},
		{"LogsQL `\"connection refused\"` (phrase), limit=100", "/select/logsql/query", url.Values{"query": {`"connection refused"`}, "limit": {"100"}}, func(b []byte) error {
			if n := strings.Count(string(b), "\n"); n != 100 {
				return fmt.Errorf("%d rows, want 100", n)
			}
			return nil
		}},
		{"LogsQL `error` over the last 15 minutes, limit=100", "/select/logsql/query", url.Values{"query": {"error"}, "limit": {"100"}, "start": {"15m"}}, nil},
		{"LogsQL `error | stats count()`", "/select/logsql/query", url.Values{"query": {"error | stats count() n"}}, func(b []byte) error {
			if !strings.Contains(string(b), strconv.Itoa(lb.Errors)) {
				return fmt.Errorf("got %s, want n=%d", strings.TrimSpace(string(b)), lb.Errors)
			}
			return nil
		}},
		{"PromQL sum by (node) (rate(node_cpu_seconds_total[5m])), 6h/60s", "/api/v1/query_range", rangeParams("sum by (node) (rate(node_cpu_seconds_total[5m]))"), nil},
		{"PromQL rate(node_cpu_seconds_total[5m]) (1000 series), 6h/60s", "/api/v1/query_range", rangeParams("rate(node_cpu_seconds_total[5m])"), nil},
	}
	type qres struct {
		name           string
		med, lo, hi    float64
		bytes, checkOK int
		err            error
	}
	var out []qres
	for _, qq := range qs {
		var ds []float64
		r := qres{name: qq.name}
		for i := 0; i < 5; i++ {
			t := time.Now()
			b, err := srv.Get(ctx, qq.path, qq.params)
			ds = append(ds, time.Since(t).Seconds()*1000)
			if err != nil {
				return fmt.Errorf("%s: %w", qq.name, err)
			}
			r.bytes = len(b)
			if qq.check != nil && r.err == nil {
				r.err = qq.check(b)
			}
		}
		r.med = median(ds)
		r.lo, r.hi = slices.Min(ds), slices.Max(ds)
		out = append(out, r)
	}
	u, _ := srv.Usage()
	fmt.Printf("\n3. Query latency over %s stored lines (%d with `error`) and %s samples; median of 5, client-side wall time\n", thousands(lb.Records), lb.Errors, thousands(samples))
	fmt.Printf("   %-64s %10s %18s %10s\n", "", "median ms", "min–max ms", "response")
	for _, r := range out {
		note := ""
		if r.err != nil {
			note = "  WRONG RESULT: " + r.err.Error()
		}
		fmt.Printf("   %-64s %10.1f %18s %10s%s\n", r.name, r.med, fmt.Sprintf("%.1f–%.1f", r.lo, r.hi), humanBytes(r.bytes), note)
	}
	fmt.Printf("   server peak RSS %.0f MiB, %.1f CPU-s in all\n", mib(u.PeakRSS), u.CPU)
	return nil
}

// sendAll runs n calls of f on k goroutines and returns the first error.
func sendAll(ctx context.Context, k, n int, f func(i int) error) error {
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range k {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		})
	}
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return first
}

// ---------------------------------------------------------------- formatting

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
