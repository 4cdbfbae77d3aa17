package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"vigil/internal/store/metrics"
)

// NodePlaceholder in a URL template is replaced by each node's name.
const NodePlaceholder = "{node}"

// Poller scrapes every node's kubelet endpoints on an interval.
type Poller struct {
	// URLs are templates; NodePlaceholder is replaced by the node name
	// (e.g. kwok's https://127.0.0.1:10247/metrics/nodes/{node}/metrics/resource).
	URLs   []string
	Nodes  func() []string // the nodes to scrape in this round
	Client *Client
	// Sink receives each target's series (with staleness markers for vanished ones).
	Sink        func(ctx context.Context, series []metrics.Series) error
	Interval    time.Duration // default 15 s
	Concurrency int           // parallel scrapes; default 8
	Log         *slog.Logger

	mu    sync.Mutex
	stale Staleness
}

// TargetURL expands a URL template for a node.
func TargetURL(tmpl, node string) string {
	return strings.ReplaceAll(tmpl, NodePlaceholder, url.PathEscape(node))
}

// ValidateTemplate checks a URL template before it is used.
func ValidateTemplate(tmpl string) error {
	u, err := url.Parse(TargetURL(tmpl, "node"))
	if err != nil {
		return fmt.Errorf("kubelet URL %q: %w", tmpl, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("kubelet URL %q: want http(s)://host/...", tmpl)
	}
	return nil
}

// Run scrapes until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	every := p.Interval
	if every <= 0 {
		every = 15 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := p.Once(ctx, time.Now()); err != nil && ctx.Err() == nil {
			p.log().Warn("kubelet scrape", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Poller) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

type target struct{ node, url string }

// Once scrapes every target once and hands the results to Sink. It returns
// the scrape errors joined; successful targets are delivered regardless.
func (p *Poller) Once(ctx context.Context, now time.Time) error {
	var targets []target
	for _, n := range p.Nodes() {
		for _, tmpl := range p.URLs {
			targets = append(targets, target{n, TargetURL(tmpl, n)})
		}
	}
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t.url] = true
	}
	conc := p.Concurrency
	if conc <= 0 {
		conc = 8
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, conc)
		emu  sync.Mutex
		errs []error
	)
	for _, tg := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			series, err := p.Client.Scrape(ctx, tg.url, ParseOptions{Node: tg.node, Time: now})
			if err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
				series = nil
			}
			p.mu.Lock()
			series = p.stale.Mark(tg.url, series, now)
			p.mu.Unlock()
			if len(series) == 0 {
				return
			}
			if err := p.Sink(ctx, series); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("store %s: %w", tg.url, err))
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	// Targets of nodes that left the inventory: their series end now.
	var gone []metrics.Series
	p.mu.Lock()
	for _, u := range p.stale.Targets() {
		if !keep[u] {
			gone = append(gone, p.stale.Mark(u, nil, now)...)
		}
	}
	p.mu.Unlock()
	if len(gone) > 0 {
		if err := p.Sink(ctx, gone); err != nil {
			errs = append(errs, fmt.Errorf("store staleness markers: %w", err))
		}
	}
	return errors.Join(errs...)
}
