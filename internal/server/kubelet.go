package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"vigil/internal/kube"
	"vigil/internal/kubelet"
	"vigil/internal/store/metrics"
)

// KubeletScrapeConfig makes the server scrape every node's kubelet metrics
// itself: for clusters without agents (through the API server's node proxy,
// https://<apiserver>/api/v1/nodes/{node}/proxy/metrics/resource) or for
// simulated nodes (kwok's https://127.0.0.1:<port>/metrics/nodes/{node}/metrics/resource).
type KubeletScrapeConfig struct {
	URLs        []string // templates with {node}; empty disables
	InsecureTLS bool
	CAFile      string
	Interval    time.Duration // default 15 s
}

func (c KubeletScrapeConfig) validate() error {
	if c.Interval != 0 && c.Interval < time.Second {
		return fmt.Errorf("--kubelet-scrape-interval %v is below 1s", c.Interval)
	}
	for _, u := range c.URLs {
		if !strings.Contains(u, kubelet.NodePlaceholder) {
			return fmt.Errorf("--kubelet-scrape-url %q has no %s placeholder", u, kubelet.NodePlaceholder)
		}
		if err := kubelet.ValidateTemplate(u); err != nil {
			return err
		}
	}
	return nil
}

// startKubeletScrape scrapes the inventory's nodes until ctx ends; the
// returned channel closes when it has stopped writing.
func (s *Server) startKubeletScrape(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	c := s.cfg.Kubelet
	if len(c.URLs) == 0 || s.Kube == nil {
		if len(c.URLs) > 0 {
			s.log.Warn("kubelet scraping needs a cluster inventory (--kubeconfig); not scraping")
		}
		close(done)
		return done
	}
	log := s.log.With("component", "kubelet-scrape")
	hc, err := s.kubeletHTTPClient(c)
	if err != nil {
		log.Error("kubelet scraping disabled", "err", err)
		close(done)
		return done
	}
	p := &kubelet.Poller{
		URLs: c.URLs,
		Nodes: func() []string {
			nodes := s.Kube.Nodes()
			names := make([]string, len(nodes))
			for i, n := range nodes {
				names[i] = n.Name
			}
			return names
		},
		Client:   &kubelet.Client{HTTP: hc},
		Interval: c.Interval,
		Log:      log,
		Sink: func(ctx context.Context, series []metrics.Series) error {
			_, err := s.Metrics.Write(ctx, series)
			return err
		},
	}
	go func() {
		defer close(done)
		if err := s.Kube.WaitSynced(ctx); err != nil {
			return
		}
		_ = p.Run(ctx)
	}()
	return done
}

// kubeletHTTPClient authenticates like the inventory when the templates point
// at the API server (its node proxy), and otherwise trusts --kubelet-ca-file.
func (s *Server) kubeletHTTPClient(c KubeletScrapeConfig) (*http.Client, error) {
	rc, err := kube.Config(s.cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	viaAPIServer := rc != nil
	for _, u := range c.URLs {
		if rc == nil || !strings.HasPrefix(u, strings.TrimRight(rc.Host, "/")+"/") {
			viaAPIServer = false
		}
	}
	if viaAPIServer {
		rc = rest.CopyConfig(rc)
		rc.Timeout = 10 * time.Second
		return rest.HTTPClientFor(rc)
	}
	return kubelet.NewHTTPClient(kubelet.TLSOptions{Insecure: c.InsecureTLS, CAFile: c.CAFile}, 10*time.Second)
}
