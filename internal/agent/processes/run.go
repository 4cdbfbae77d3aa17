package processes

import (
	"context"
	"log/slog"
	"time"

	"vigil/internal/kubelet"
	"vigil/internal/store/metrics"
)

// Run collects every interval until ctx ends and hands the series to sink.
// Processes that leave the top list get staleness markers, so an instant
// query at any time shows exactly that collection's top processes.
func (c *Collector) Run(ctx context.Context, every time.Duration, sink func(context.Context, []metrics.Series) error, log *slog.Logger) error {
	if every <= 0 {
		every = 15 * time.Second
	}
	var stale kubelet.Staleness
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		now := time.Now()
		series, err := c.Collect(now)
		if err != nil {
			log.Warn("processes", "err", err)
		}
		if series = stale.Mark("processes", series, now); len(series) > 0 {
			if err := sink(ctx, series); err != nil && ctx.Err() == nil {
				log.Error("buffer process metrics", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
