package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderConfig names the Lease that replicated servers compete for.
type LeaderConfig struct {
	Namespace string // where the Lease lives
	Name      string // the Lease's name
	Identity  string // this replica; defaults to the host name and a random suffix
}

// RunAsLeader calls lead with a context that ends when this replica stops
// leading, each time it becomes the leader, until ctx ends. Only the leader
// writes cluster-wide state (kube-state series, events), so N replicas do
// not record everything N times.
func RunAsLeader(ctx context.Context, cs kubernetes.Interface, cfg LeaderConfig, log *slog.Logger, lead func(context.Context)) error {
	if cfg.Identity == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("leader identity: %w", err)
		}
		// Unique per process: two replicas on one host must not share it.
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		cfg.Identity = h + "_" + hex.EncodeToString(b)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: cfg.Namespace, Name: cfg.Name},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	for ctx.Err() == nil {
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   15 * time.Second,
			RenewDeadline:   10 * time.Second,
			RetryPeriod:     2 * time.Second,
			ReleaseOnCancel: true,
			Name:            cfg.Name,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					log.Info("leading: watching the cluster for all replicas", "lease", cfg.Namespace+"/"+cfg.Name, "identity", cfg.Identity)
					lead(lctx)
				},
				OnStoppedLeading: func() { log.Info("stopped leading", "identity", cfg.Identity) },
				OnNewLeader: func(id string) {
					if id != cfg.Identity {
						log.Info("another replica leads", "leader", id)
					}
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		le.Run(ctx) // returns when leadership is lost or ctx ends; then compete again
	}
	return nil
}
