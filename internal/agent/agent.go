// Package agent runs vigil's node agent: node metrics, container logs and
// Kubernetes metadata, shipped to the server through a durable buffer.
package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/oklog/run"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/agent/hostlogs"
	"vigil/internal/agent/nodecheck"
	"vigil/internal/agent/nodemetrics"
	"vigil/internal/agent/podlogs"
	"vigil/internal/agent/processes"
	"vigil/internal/agent/shipper"
	"vigil/internal/kube"
	"vigil/internal/kubelet"
	"vigil/internal/store/metrics"
)

// Config holds the agent's settings.
type Config struct {
	ServerURL       string
	Token           string
	NodeName        string
	StateDir        string
	PodLogsRoot     string
	HostLogs        []string // globs of plain-text host log files; empty disables
	ProcPath        string
	SysPath         string
	RootFS          string
	MetricsInterval time.Duration
	BufferMaxBytes  int64
	Kubeconfig      string
	CAFile          string // trust this CA for the server's certificate
	// KubeletURL is this node's kubelet (https://$NODE_IP:10250); empty disables
	// container resource metrics.
	KubeletURL         string
	KubeletInsecureTLS bool
	ProcessesTop       int // top processes by CPU and by memory to report; 0 disables
}

// Run runs the agent until ctx ends, then stops every part cleanly.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("node name not set and hostname unknown: %w", err)
		}
		cfg.NodeName = h
	}
	if cfg.MetricsInterval <= 0 {
		cfg.MetricsInterval = 15 * time.Second
	}
	log = log.With("node", cfg.NodeName)

	var tlsCfg *tls.Config
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificates in %s", cfg.CAFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	ship, err := shipper.New(shipper.Config{
		Endpoint: cfg.ServerURL, Token: cfg.Token, Dir: filepath.Join(cfg.StateDir, "buffer"),
		MaxBytes: cfg.BufferMaxBytes, TLS: tlsCfg,
	}, log.With("component", "shipper"))
	if err != nil {
		return err
	}
	nm, err := nodemetrics.New(nodemetrics.Config{NodeName: cfg.NodeName, ProcPath: cfg.ProcPath, SysPath: cfg.SysPath, RootFS: cfg.RootFS})
	if err != nil {
		return err
	}

	var g run.Group
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var enricher podlogs.Enricher
	rc, err := kube.Config(cfg.Kubeconfig)
	if err != nil {
		return err
	}
	if rc != nil {
		inv, err := kube.NewInventory(rc, cfg.NodeName, log)
		if err != nil {
			return err
		}
		enricher = podMeta{inv}
		// Wait (bounded) for the pod cache before tailing, so the first lines
		// already carry their pod's labels and workload.
		kctx, kcancel := context.WithCancel(ctx)
		inv.Start(kctx)
		syncCtx, syncCancel := context.WithTimeout(kctx, 30*time.Second)
		if err := inv.WaitSynced(syncCtx); err != nil {
			log.Warn("kubernetes metadata not synced yet; continuing", "err", err)
		}
		syncCancel()
		g.Add(func() error { <-kctx.Done(); return nil }, func(error) { kcancel(); inv.Shutdown() })
	}

	tailer, err := podlogs.New(podlogs.Config{
		Root: cfg.PodLogsRoot, StateDir: filepath.Join(cfg.StateDir, "podlogs"), NodeName: cfg.NodeName, Enricher: enricher,
		// Each batch carries its line ids into the queue, so after a crash the
		// tailer knows exactly which lines were already queued.
		Queue: ship.Queue(shipper.Logs),
	}, nil, log.With("component", "podlogs"))
	if err != nil {
		return err
	}

	if len(cfg.HostLogs) > 0 {
		host, err := hostlogs.New(hostlogs.Config{
			Include: cfg.HostLogs, StateDir: filepath.Join(cfg.StateDir, "hostlogs"), NodeName: cfg.NodeName,
			Queue: ship.Queue(shipper.Logs),
		}, log.With("component", "hostlogs"))
		if err != nil {
			return err
		}
		hctx, hcancel := context.WithCancel(ctx)
		g.Add(func() error { return host.Run(hctx) }, func(error) { hcancel() })
	}
	// The tailers are created above, before the sender runs: they restore the
	// ids of still-queued batches when created.
	{ // Stopping the sender early is safe: whatever it has not sent stays in the disk buffer.
		sctx, scancel := context.WithCancel(context.Background())
		g.Add(func() error { return ship.Run(sctx) }, func(error) { scancel() })
	}
	{
		tctx, tcancel := context.WithCancel(ctx)
		g.Add(func() error { return tailer.Run(tctx) }, func(error) { tcancel() })
	}
	{
		mctx, mcancel := context.WithCancel(ctx)
		g.Add(func() error { return metricsLoop(mctx, nm, ship, cfg.MetricsInterval, log) }, func(error) { mcancel() })
	}
	shipSeries := func(scope string) func(context.Context, []metrics.Series) error {
		return func(ctx context.Context, s []metrics.Series) error {
			payload, err := kubelet.EncodeOTLP(s, scope)
			if err != nil {
				return fmt.Errorf("encode %s metrics: %w", scope, err)
			}
			return ship.Enqueue(ctx, shipper.Metrics, payload)
		}
	}
	if cfg.KubeletURL != "" {
		kp, err := kubelet.NewNodePoller(kubelet.NodeConfig{Node: cfg.NodeName, BaseURL: cfg.KubeletURL,
			TLS: kubelet.TLSOptions{Insecure: cfg.KubeletInsecureTLS}, Interval: cfg.MetricsInterval,
			Sink: shipSeries("vigil/kubelet"), Log: log.With("component", "kubelet")})
		if err != nil {
			return err
		}
		kctx, kcancel := context.WithCancel(ctx)
		g.Add(func() error { return kp.Run(kctx) }, func(error) { kcancel() })
	}
	if cfg.ProcessesTop > 0 {
		var res processes.Resolver
		if rc != nil {
			idx, err := processes.NewPodIndex(rc, cfg.NodeName)
			if err != nil {
				return err
			}
			ictx, icancel := context.WithCancel(ctx)
			idx.Start(ictx)
			g.Add(func() error { <-ictx.Done(); return nil }, func(error) { icancel(); idx.Shutdown() })
			res = idx
		}
		pc, err := processes.New(processes.Config{NodeName: cfg.NodeName, ProcPath: cfg.ProcPath, Top: cfg.ProcessesTop, Resolver: res})
		if err != nil {
			return err
		}
		pctx, pcancel := context.WithCancel(ctx)
		plog := log.With("component", "processes")
		g.Add(func() error { return pc.Run(pctx, cfg.MetricsInterval, shipSeries("vigil/processes"), plog) }, func(error) { pcancel() })
	}
	// CIS node checks: the kubelet's settings and file permissions on this host.
	nctx, ncancel := context.WithCancel(ctx)
	ncfg := nodecheck.Config{NodeName: cfg.NodeName, ProcPath: cfg.ProcPath, RootFS: cfg.RootFS}
	g.Add(func() error {
		return nodecheck.Run(nctx, ncfg, nodecheck.NewSender(cfg.ServerURL, cfg.Token, tlsCfg), 10*time.Minute, log.With("component", "nodecheck"))
	}, func(error) { ncancel() })
	g.Add(func() error { <-ctx.Done(); return nil }, func(error) { cancel() })
	log.Info("agent started", "server", cfg.ServerURL, "podLogs", cfg.PodLogsRoot, "kubernetes", rc != nil)
	err = g.Run()
	log.Info("agent stopped")
	return err
}

func metricsLoop(ctx context.Context, nm *nodemetrics.Collector, ship *shipper.Shipper, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		md, err := nm.Collect(time.Now())
		if err != nil {
			log.Warn("node metrics incomplete", "err", err)
		}
		if md.DataPointCount() > 0 {
			payload, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
			if err != nil {
				return fmt.Errorf("encode node metrics: %w", err)
			}
			if err := ship.Enqueue(ctx, shipper.Metrics, payload); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.Error("buffer node metrics", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// podMeta adapts the Kubernetes inventory to the log tailer's enricher.
type podMeta struct{ inv *kube.Inventory }

func (p podMeta) Lookup(uid string) (podlogs.Meta, bool) {
	pod, ok := p.inv.PodByUID(uid)
	if !ok {
		return podlogs.Meta{}, false
	}
	// The node's zone is added by the server, which watches every node.
	return podlogs.Meta{Labels: pod.Labels, Workload: pod.Workload, WorkloadKind: pod.Kind, Node: pod.Node}, true
}
