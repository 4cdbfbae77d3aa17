package kubelet

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"vigil/internal/store/metrics"
)

// Paths of a kubelet's resource metrics, relative to its base URL.
var NodePaths = []string{"/metrics/resource", "/metrics/cadvisor"}

// DefaultNodeURL is the agent's own kubelet: https://$NODE_IP:10250 (NODE_IP
// set from status.hostIP in the DaemonSet), or empty when unknown.
func DefaultNodeURL() string {
	ip := os.Getenv("NODE_IP")
	if ip == "" {
		return ""
	}
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return "https://" + ip + ":10250"
}

// NodeConfig configures scraping one node's kubelet (what the agent does).
type NodeConfig struct {
	Node     string
	BaseURL  string // e.g. https://10.0.0.5:10250
	TLS      TLSOptions
	Token    string // default: the pod's service-account token, when mounted
	Interval time.Duration
	Sink     func(ctx context.Context, series []metrics.Series) error
	Log      *slog.Logger
}

// NewNodePoller returns a poller for one kubelet's /metrics/resource and /metrics/cadvisor.
func NewNodePoller(c NodeConfig) (*Poller, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kubelet URL %q: want http(s)://host:port", c.BaseURL)
	}
	if c.TLS.CAFile == "" && !c.TLS.Insecure {
		if _, err := os.Stat(ServiceAccountCAFile); err == nil {
			c.TLS.CAFile = ServiceAccountCAFile
		}
	}
	hc, err := NewHTTPClient(c.TLS, 10*time.Second)
	if err != nil {
		return nil, err
	}
	cl := &Client{HTTP: hc, Token: c.Token}
	if cl.Token == "" {
		if _, err := os.Stat(ServiceAccountTokenFile); err == nil {
			cl.TokenFile = ServiceAccountTokenFile
		}
	}
	urls := make([]string, len(NodePaths))
	for i, p := range NodePaths {
		urls[i] = base + p
	}
	node := c.Node
	return &Poller{URLs: urls, Nodes: func() []string { return []string{node} }, Client: cl,
		Sink: c.Sink, Interval: c.Interval, Concurrency: 2, Log: c.Log}, nil
}
