package kubelet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"vigil/internal/store/metrics"
)

// ServiceAccountTokenFile is where a pod finds its service-account token.
const ServiceAccountTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// ServiceAccountCAFile is the cluster CA mounted into every pod.
const ServiceAccountCAFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"

// TLSOptions say how to trust a kubelet's serving certificate.
type TLSOptions struct {
	Insecure bool   // skip verification (kubelets often serve self-signed certificates)
	CAFile   string // extra CA to trust; empty = system roots only
}

// NewHTTPClient returns a client for kubelet endpoints.
func NewHTTPClient(o TLSOptions, timeout time.Duration) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure} //nolint:gosec // opt-in flag
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read kubelet CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no certificates in %s", o.CAFile)
		}
		tc.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}

// Client scrapes kubelet metric endpoints.
type Client struct {
	HTTP *http.Client
	// Token, or else TokenFile (re-read on every scrape because projected
	// service-account tokens rotate), is sent as a bearer token when set.
	Token     string
	TokenFile string
	MaxBytes  int64 // 0 = DefaultMaxBytes
}

func (c *Client) bearer() (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	if c.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(c.TokenFile)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Scrape fetches one exposition and parses it (see Parse).
func (c *Client) Scrape(ctx context.Context, url string, opts ParseOptions) ([]metrics.Series, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	tok, err := c.bearer()
	if err != nil {
		return nil, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("scrape %s: %s: %s", url, resp.Status, strings.TrimSpace(string(msg)))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err == nil && mt != "text/plain" {
			return nil, fmt.Errorf("scrape %s: unsupported content type %q (want Prometheus text)", url, ct)
		}
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = c.MaxBytes
	}
	series, err := Parse(resp.Body, opts)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return series, nil
}

// Staleness remembers which series each target returned last time, so series
// that disappear (a deleted pod, a process that left the top list) get a
// Prometheus staleness marker and stop showing in instant queries at once
// instead of lingering for the lookback window.
type Staleness struct {
	prev map[string]map[uint64]labels.Labels
}

// Mark returns cur plus a stale marker at t for every series target returned
// last time but not now. A nil cur (a failed scrape) marks all of them.
func (st *Staleness) Mark(target string, cur []metrics.Series, t time.Time) []metrics.Series {
	if st.prev == nil {
		st.prev = map[string]map[uint64]labels.Labels{}
	}
	now := make(map[uint64]labels.Labels, len(cur))
	for _, s := range cur {
		now[s.Labels.Hash()] = s.Labels
	}
	stale := math.Float64frombits(value.StaleNaN)
	for h, l := range st.prev[target] {
		if _, ok := now[h]; !ok {
			cur = append(cur, metrics.Series{Labels: l, Samples: []metrics.Sample{{T: t.UnixMilli(), V: stale}}})
		}
	}
	if len(now) == 0 {
		delete(st.prev, target)
	} else {
		st.prev[target] = now
	}
	return cur
}

// Targets lists the targets with remembered series.
func (st *Staleness) Targets() []string {
	out := make([]string, 0, len(st.prev))
	for t := range st.prev {
		out = append(out, t)
	}
	return out
}
