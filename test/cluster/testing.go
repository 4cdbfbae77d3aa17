package cluster

import (
	"context"
	"testing"
)

// StartForTest starts a cluster for t, fails t if that is not possible and
// stops the cluster when t ends. When t has failed, the tails of the
// component logs are logged first.
func StartForTest(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	c, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start test cluster: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test cluster logs (%s):\n%s", c.Dir, c.LogTails(30))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("stop test cluster: %v", err)
		}
	})
	return c
}
