package main

import (
	"time"

	"github.com/spf13/pflag"

	"vigil/internal/agent"
	"vigil/internal/agent/processes"
	"vigil/internal/kubelet"
	"vigil/internal/server"
)

// Kubelet resource metrics and host processes: the agent scrapes its own
// node's kubelet; the server can scrape every node itself.
func addKubeletServerFlags(fs *pflag.FlagSet, c *server.Config) {
	fs.StringSliceVar(&c.Kubelet.URLs, "kubelet-scrape-url", nil,
		"scrape every inventory node's kubelet metrics from this URL template ({node} is the node name; repeatable), e.g. https://<apiserver>/api/v1/nodes/{node}/proxy/metrics/resource")
	fs.BoolVar(&c.Kubelet.InsecureTLS, "kubelet-scrape-insecure-tls", false, "do not verify the certificates of --kubelet-scrape-url")
	fs.StringVar(&c.Kubelet.CAFile, "kubelet-scrape-ca-file", "", "CA that signed the certificates of --kubelet-scrape-url")
	fs.DurationVar(&c.Kubelet.Interval, "kubelet-scrape-interval", 15*time.Second, "how often --kubelet-scrape-url is scraped")
}

func addKubeletAgentFlags(fs *pflag.FlagSet, c *agent.Config) {
	fs.StringVar(&c.KubeletURL, "kubelet-url", kubelet.DefaultNodeURL(), "this node's kubelet for container metrics (default https://$NODE_IP:10250; empty disables)")
	fs.BoolVar(&c.KubeletInsecureTLS, "kubelet-insecure-tls", false, "do not verify the kubelet's serving certificate (often self-signed)")
	fs.IntVar(&c.ProcessesTop, "processes-top", processes.DefaultTop, "report this many top processes by CPU and by memory (0 disables)")
}
