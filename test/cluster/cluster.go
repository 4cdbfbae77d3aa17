// Package cluster runs a real, local Kubernetes control plane for tests:
// etcd, kube-apiserver, kube-controller-manager and kube-scheduler, plus kwok
// for simulated nodes and pods, all listening on 127.0.0.1.
//
// The binaries are built from pinned Go modules by test/cluster/build.sh
// (make cluster-build) into a cache directory outside the repository. Start
// fails with an explanatory error when they are missing; it never skips.
package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Versions of the components, and so of the cache directory's name. They
// must match test/cluster/build.sh and the tool modules under tools/.
const (
	KubernetesVersion = "v1.37.2"
	EtcdVersion       = "v3.6.16"
	KwokVersion       = "v0.8.0"
)

// Annotation and taint that mark a node as simulated by kwok.
const (
	KwokNodeAnnotation = "kwok.x-k8s.io/node"
	KwokNodeTaintKey   = "kwok.x-k8s.io/node"
	KwokNodeValue      = "fake"
)

// KwokToleration lets a pod be scheduled onto nodes made by CreateFakeNode.
var KwokToleration = corev1.Toleration{
	Key:      KwokNodeTaintKey,
	Operator: corev1.TolerationOpEqual,
	Value:    KwokNodeValue,
	Effect:   corev1.TaintEffectNoSchedule,
}

// Users of the static token file.
const (
	AdminUser             = "admin"
	ControllerManagerUser = "system:kube-controller-manager"
	SchedulerUser         = "system:kube-scheduler"
	KwokUser              = "kwok"
)

// Options configure Start. The zero value is a working configuration.
type Options struct {
	// Dir holds certificates, configuration, data and the component logs
	// (Dir/logs/<component>.log). Empty: a new temporary directory that Stop
	// removes unless KeepDir is set.
	Dir string
	// KeepDir keeps a temporary Dir after Stop.
	KeepDir bool
	// BinDir holds the binaries. Empty: $VIGIL_K8S_BIN, else DefaultBinDir().
	BinDir string
	// AuditWebhookURL, when set, makes the apiserver send audit events
	// (audit.k8s.io/v1 EventList, batched, about 1 s after the action) to
	// this URL. Plain http on loopback works.
	AuditWebhookURL string
	// AuditLogPath, when set, makes the apiserver also write audit events
	// as JSON lines to this file.
	AuditLogPath string
	// StartTimeout bounds Start in addition to its context. Default 2 min.
	StartTimeout time.Duration
	// ExtraAPIServerArgs are appended to the kube-apiserver command line.
	ExtraAPIServerArgs []string
	// Logf, when set, receives progress messages.
	Logf func(format string, args ...any)
}

// Cluster is a running control plane. Stop it when done.
type Cluster struct {
	// Dir is the working directory (certificates, configs, logs/).
	Dir string
	// BinDir holds the component binaries, kubectl among them.
	BinDir string
	// Kubeconfig is the path of an admin kubeconfig (token auth).
	Kubeconfig string
	// Server is the apiserver URL, https://127.0.0.1:<port>.
	Server string
	// AdminToken is the bearer token of the "admin" user (system:masters).
	AdminToken string
	// KwokPort serves kwok's kubelet-like endpoints over HTTPS (certificate
	// signed by CAFile), e.g. /metrics/nodes/<node>/metrics/resource.
	KwokPort int
	// EtcdURL is etcd's client URL.
	EtcdURL string
	// CAFile is the cluster CA certificate (PEM), which signed the
	// apiserver's and kwok's serving certificates.
	CAFile string
	// StartDuration is how long Start took.
	StartDuration time.Duration

	caPEM     []byte
	removeDir bool
	procs     []*process
	logf      func(string, ...any)
	stopOnce  sync.Once
	stopErr   error
}

// DefaultBinDir is where build.sh puts the binaries:
// ${VIGIL_CACHE:-$HOME/.cache/vigil}/k8s-<v>-etcd-<v>-kwok-<v>/bin.
func DefaultBinDir() string {
	root := os.Getenv("VIGIL_CACHE")
	if root == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		root = filepath.Join(home, ".cache", "vigil")
	}
	return filepath.Join(root, fmt.Sprintf("k8s-%s-etcd-%s-kwok-%s", KubernetesVersion, EtcdVersion, KwokVersion), "bin")
}

// binDir returns the directory Start takes binaries from for these options.
func (o Options) binDir() string {
	if o.BinDir != "" {
		return o.BinDir
	}
	if d := os.Getenv("VIGIL_K8S_BIN"); d != "" {
		return d
	}
	return DefaultBinDir()
}

var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "kubectl"}

// shareFiles are the kwok manifests build.sh copies beside the bin directory.
var shareFiles = []string{
	"stages.yaml",
	"crds/kwok.x-k8s.io_logs.yaml",
	"crds/kwok.x-k8s.io_clusterlogs.yaml",
	"crds/kwok.x-k8s.io_metrics.yaml",
	"crds/kwok.x-k8s.io_resourceusages.yaml",
	"crds/kwok.x-k8s.io_clusterresourceusages.yaml",
	"metrics-resource.yaml",
	"usage-from-annotation.yaml",
}

var kwokCRDs = []string{
	"logs.kwok.x-k8s.io",
	"clusterlogs.kwok.x-k8s.io",
	"metrics.kwok.x-k8s.io",
	"resourceusages.kwok.x-k8s.io",
	"clusterresourceusages.kwok.x-k8s.io",
}

func checkInstall(bin string) (share string, err error) {
	share = filepath.Join(filepath.Dir(bin), "share")
	var missing []string
	for _, b := range binaries {
		if st, err := os.Stat(filepath.Join(bin, b)); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, filepath.Join(bin, b))
		}
	}
	for _, f := range shareFiles {
		if _, err := os.Stat(filepath.Join(share, f)); err != nil {
			missing = append(missing, filepath.Join(share, f))
		}
	}
	if len(missing) > 0 {
		what := missing[0]
		if len(missing) > 1 {
			what += fmt.Sprintf(" and %d more", len(missing)-1)
		}
		return "", fmt.Errorf("test cluster binaries are missing (%s); run `make cluster-build` "+
			"(test/cluster/build.sh, 15-25 min the first time) or point VIGIL_K8S_BIN at a bin directory built by it", what)
	}
	return share, nil
}

// Start builds the configuration of a new cluster in opts.Dir and starts all
// components, returning once each is healthy, kwok's CRDs and metrics are
// in place and the default service account exists. ctx bounds start-up only;
// the processes run until Stop. On error, everything started is stopped and
// the directory is kept for its logs.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	began := time.Now()
	bin, err := filepath.Abs(opts.binDir())
	if err != nil {
		return nil, err
	}
	share, err := checkInstall(bin)
	if err != nil {
		return nil, err
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	c := &Cluster{BinDir: bin, logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if opts.Dir == "" {
		d, err := os.MkdirTemp("", "vigil-cluster-")
		if err != nil {
			return nil, err
		}
		c.Dir = d
		c.removeDir = !opts.KeepDir
	} else {
		d, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		c.Dir = d
	}
	if err := c.start(ctx, opts, share); err != nil {
		// Keep the directory: its logs explain the failure.
		c.removeDir = false
		_ = c.Stop()
		return nil, fmt.Errorf("start test cluster in %s: %w", c.Dir, err)
	}
	c.StartDuration = time.Since(began)
	c.logf("cluster ready in %s (%s)", c.StartDuration.Round(time.Millisecond), c.Dir)
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opts Options, share string) error {
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort, kwokPort := ports[0], ports[1], ports[2], ports[3], ports[4], ports[5]
	c.KwokPort = kwokPort
	c.EtcdURL = "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	c.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)

	pkiDir := filepath.Join(c.Dir, "pki")
	p, err := writePKI(pkiDir)
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	c.CAFile = p.CACert
	c.caPEM = p.caPEM

	tokens := map[string]string{}
	for _, u := range []string{AdminUser, ControllerManagerUser, SchedulerUser, KwokUser} {
		tokens[u] = randomToken()
	}
	c.AdminToken = tokens[AdminUser]
	var tf strings.Builder
	fmt.Fprintf(&tf, "%s,%s,%s,\"system:masters\"\n", tokens[AdminUser], AdminUser, AdminUser)
	// The controller manager runs every controller under its own name (no
	// per-controller service accounts), so it needs more than its bootstrap
	// role grants.
	fmt.Fprintf(&tf, "%s,%s,%s,\"system:masters\"\n", tokens[ControllerManagerUser], ControllerManagerUser, "kube-controller-manager")
	fmt.Fprintf(&tf, "%s,%s,%s\n", tokens[SchedulerUser], SchedulerUser, "kube-scheduler")
	fmt.Fprintf(&tf, "%s,%s,%s,\"system:masters\"\n", tokens[KwokUser], KwokUser, KwokUser)
	tokenFile := filepath.Join(pkiDir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(tf.String()), 0o600); err != nil {
		return err
	}

	cfgDir := filepath.Join(c.Dir, "config")
	if err := os.MkdirAll(cfgDir, 0o755); err != nil {
		return err
	}
	kubeconfig := func(name, user string) (string, error) {
		path := filepath.Join(cfgDir, name+".kubeconfig")
		return path, os.WriteFile(path, []byte(tokenKubeconfig(c.Server, c.caPEM, user, tokens[user])), 0o600)
	}
	if c.Kubeconfig, err = kubeconfig("admin", AdminUser); err != nil {
		return err
	}
	kcmKubeconfig, err := kubeconfig("controller-manager", ControllerManagerUser)
	if err != nil {
		return err
	}
	schedKubeconfig, err := kubeconfig("scheduler", SchedulerUser)
	if err != nil {
		return err
	}
	kwokKubeconfig, err := kubeconfig("kwok", KwokUser)
	if err != nil {
		return err
	}

	// etcd, always from empty storage.
	if err := os.RemoveAll(filepath.Join(c.Dir, "etcd")); err != nil {
		return err
	}
	c.logf("starting etcd on %s", c.EtcdURL)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	etcd, err := c.run("etcd", []string{
		"--name=vigil",
		"--data-dir=" + filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls=" + c.EtcdURL,
		"--advertise-client-urls=" + c.EtcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=vigil=" + peerURL,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	})
	if err != nil {
		return err
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	if err := waitHealthy(ctx, etcd, plain, c.EtcdURL+"/health"); err != nil {
		return err
	}

	// kube-apiserver
	apiArgs := []string{
		"--etcd-servers=" + c.EtcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--cert-dir=" + filepath.Join(c.Dir, "apiserver"),
		"--tls-cert-file=" + p.APIServerCert,
		"--tls-private-key-file=" + p.APIServerKey,
		"--client-ca-file=" + p.CACert,
		"--token-auth-file=" + tokenFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.ServiceAccountPub,
		"--service-account-signing-key-file=" + p.ServiceAccountKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=Node,RBAC",
		"--allow-privileged=true",
		"--endpoint-reconciler-type=none",
		"--requestheader-client-ca-file=" + p.FrontProxyCACert,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--requestheader-allowed-names=front-proxy-client",
		"--kubelet-preferred-address-types=Hostname,InternalIP",
	}
	if opts.AuditWebhookURL != "" || opts.AuditLogPath != "" {
		policy := filepath.Join(cfgDir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return err
		}
		apiArgs = append(apiArgs, "--audit-policy-file="+policy)
	}
	if opts.AuditWebhookURL != "" {
		hook := filepath.Join(cfgDir, "audit-webhook.kubeconfig")
		if err := os.WriteFile(hook, []byte(webhookKubeconfig(opts.AuditWebhookURL)), 0o644); err != nil {
			return err
		}
		apiArgs = append(apiArgs,
			"--audit-webhook-config-file="+hook,
			"--audit-webhook-mode=batch",
			"--audit-webhook-batch-max-wait=1s",
		)
	}
	if opts.AuditLogPath != "" {
		apiArgs = append(apiArgs, "--audit-log-path="+opts.AuditLogPath, "--audit-log-format=json", "--audit-log-mode=blocking")
	}
	apiArgs = append(apiArgs, opts.ExtraAPIServerArgs...)
	c.logf("starting kube-apiserver on %s", c.Server)
	apiserver, err := c.run("kube-apiserver", apiArgs)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	trusted := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := waitHealthy(ctx, apiserver, trusted, c.Server+"/readyz"); err != nil {
		return err
	}

	// Controller manager and scheduler start while kwok's resources go in.
	c.logf("starting kube-controller-manager and kube-scheduler")
	kcm, err := c.run("kube-controller-manager", []string{
		"--kubeconfig=" + kcmKubeconfig,
		"--authentication-kubeconfig=" + kcmKubeconfig,
		"--authorization-kubeconfig=" + kcmKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(kcmPort),
		"--cert-dir=" + filepath.Join(c.Dir, "controller-manager"),
		"--service-account-private-key-file=" + p.ServiceAccountKey,
		"--root-ca-file=" + p.CACert,
		"--cluster-signing-cert-file=" + p.CACert,
		"--cluster-signing-key-file=" + p.CAKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--use-service-account-credentials=false",
		"--leader-elect=false",
		"--controllers=*",
	})
	if err != nil {
		return err
	}
	sched, err := c.run("kube-scheduler", []string{
		"--kubeconfig=" + schedKubeconfig,
		"--authentication-kubeconfig=" + schedKubeconfig,
		"--authorization-kubeconfig=" + schedKubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(schedPort),
		"--cert-dir=" + filepath.Join(c.Dir, "scheduler"),
		"--leader-elect=false",
	})
	if err != nil {
		return err
	}

	c.logf("applying kwok CRDs, metrics and resource usage")
	for _, f := range shareFiles {
		if strings.HasPrefix(f, "crds/") {
			if err := c.ApplyFile(ctx, filepath.Join(share, f)); err != nil {
				return err
			}
		}
	}
	if err := c.waitCRDsEstablished(ctx, kwokCRDs); err != nil {
		return err
	}
	for _, f := range []string{"metrics-resource.yaml", "usage-from-annotation.yaml"} {
		if err := c.ApplyFile(ctx, filepath.Join(share, f)); err != nil {
			return err
		}
	}

	c.logf("starting kwok on 127.0.0.1:%d", kwokPort)
	kwok, err := c.run("kwok", []string{
		"--config=" + filepath.Join(share, "stages.yaml"),
		"--kubeconfig=" + kwokKubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=" + KwokNodeValue,
		"--node-ip=127.0.0.1",
		"--node-name=localhost",
		"--node-port=" + strconv.Itoa(kwokPort),
		"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort),
		"--tls-cert-file=" + p.KwokCert,
		"--tls-private-key-file=" + p.KwokKey,
		"--cidr=10.244.0.0/16",
		"--enable-crds=Logs,ClusterLogs,Metric,ResourceUsage,ClusterResourceUsage",
	})
	if err != nil {
		return err
	}

	insecure := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	checks := []struct {
		p      *process
		client *http.Client
		url    string
	}{
		{kcm, insecure, "https://127.0.0.1:" + strconv.Itoa(kcmPort) + "/healthz"},
		{sched, insecure, "https://127.0.0.1:" + strconv.Itoa(schedPort) + "/healthz"},
		{kwok, trusted, "https://127.0.0.1:" + strconv.Itoa(kwokPort) + "/healthz"},
	}
	for _, ch := range checks {
		if err := waitHealthy(ctx, ch.p, ch.client, ch.url); err != nil {
			return err
		}
	}

	// Pods can only be created once the controller manager has made the
	// namespace's default service account.
	cs := c.Clientset()
	if err := c.poll(ctx, "default service account", func() (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}); err != nil {
		return err
	}
	return nil
}

// run starts a component binary with its log in Dir/logs.
func (c *Cluster) run(name string, args []string) (*process, error) {
	p, err := startProcess(c.Dir, name, filepath.Join(c.BinDir, name), args)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

// poll calls cond every 100 ms until it reports true, ctx ends or a
// component exits.
func (c *Cluster) poll(ctx context.Context, what string, cond func() (bool, error)) error {
	var last error
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		for _, p := range c.procs {
			if p.exited() {
				return p.exitError()
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitHealthy polls url until it answers 200, failing early (with the log
// tail) if the process exits.
func waitHealthy(ctx context.Context, p *process, client *http.Client, url string) error {
	var last string
	for {
		if p.exited() {
			return p.exitError()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy at %s: %s (%v); last lines of %s:\n%s",
				p.name, url, last, ctx.Err(), p.logPath, tailFile(p.logPath, 40))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop terminates every component (its whole process group), waits for all
// of them to exit and removes a temporary Dir. It is safe to call more than
// once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		// Everything but etcd first, so that nothing complains about storage.
		var wg sync.WaitGroup
		var etcd *process
		for _, p := range c.procs {
			if p.name == "etcd" {
				etcd = p
				continue
			}
			wg.Add(1)
			go func(p *process) {
				defer wg.Done()
				p.stop(10 * time.Second)
			}(p)
		}
		wg.Wait()
		if etcd != nil {
			etcd.stop(10 * time.Second)
		}
		if c.removeDir && c.Dir != "" {
			c.stopErr = os.RemoveAll(c.Dir)
		}
	})
	return c.stopErr
}

// PIDs maps each component's name to its process id (also its process
// group id).
func (c *Cluster) PIDs() map[string]int {
	m := map[string]int{}
	for _, p := range c.procs {
		m[p.name] = p.pid()
	}
	return m
}

// LogPath returns the log file of a component (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok).
func (c *Cluster) LogPath(component string) string {
	return filepath.Join(c.Dir, "logs", component+".log")
}

// LogTails returns the last n lines of every component's log, for failure
// reports.
func (c *Cluster) LogTails(n int) string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "==> %s <==\n%s\n", p.logPath, tailFile(p.logPath, n))
	}
	return b.String()
}

// RESTConfig returns a client configuration for the admin user.
func (c *Cluster) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            c.Server,
		BearerToken:     c.AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), c.caPEM...)},
		QPS:             100,
		Burst:           200,
	}
}

// Clientset returns a typed client for the admin user.
func (c *Cluster) Clientset() *kubernetes.Clientset {
	// The configuration is generated here and always valid.
	return kubernetes.NewForConfigOrDie(c.RESTConfig())
}

// HTTPClient returns an HTTP client that trusts the cluster CA, for kwok's
// endpoints (https://127.0.0.1:KwokPort/...) and the apiserver.
func (c *Cluster) HTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.caPEM)
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// KwokMetricsURL is where kwok serves kubelet-style resource metrics of a
// fake node (not reachable through the apiserver's node proxy).
func (c *Cluster) KwokMetricsURL(node string) string {
	return fmt.Sprintf("https://127.0.0.1:%d/metrics/nodes/%s/metrics/resource", c.KwokPort, node)
}

// Kubectl runs the built kubectl against the cluster and returns its
// combined output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "kubectl"), append([]string{"--kubeconfig=" + c.Kubeconfig}, args...)...)
	cmd.Env = componentEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// CreateFakeNode creates a node managed by kwok (annotation
// kwok.x-k8s.io/node=fake, taint kwok.x-k8s.io/node=fake:NoSchedule, 16 CPU,
// 64 GiB memory, 110 pods) and waits until kwok reports it Ready. Pods need
// KwokToleration to land on it.
func (c *Cluster) CreateFakeNode(ctx context.Context, name string, labels map[string]string) (*corev1.Node, error) {
	l := map[string]string{
		"type":                   "kwok",
		"kubernetes.io/hostname": name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     "amd64",
	}
	for k, v := range labels {
		l[k] = v
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("64Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   name,
			Labels: l,
			Annotations: map[string]string{
				KwokNodeAnnotation:             KwokNodeValue,
				"node.alpha.kubernetes.io/ttl": "0",
			},
		},
		Spec: corev1.NodeSpec{
			Taints: []corev1.Taint{{Key: KwokNodeTaintKey, Value: KwokNodeValue, Effect: corev1.TaintEffectNoSchedule}},
		},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res},
	}
	cs := c.Clientset()
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create node %s: %w", name, err)
	}
	var ready *corev1.Node
	err := c.poll(ctx, "node "+name+" Ready", func() (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = n
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, tailFile(c.LogPath("kwok"), 20))
	}
	return ready, nil
}

// freePorts reserves n distinct free loopback ports. They are released
// before returning, so another process could in theory take one first.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func tokenKubeconfig(server string, caPEM []byte, user, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: vigil
  context:
    cluster: vigil
    user: %s
current-context: vigil
`, server, base64.StdEncoding.EncodeToString(caPEM), quoteYAML(user), token, quoteYAML(user))
}

func webhookKubeconfig(url string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: audit
  cluster:
    server: %s
users:
- name: audit
contexts:
- name: audit
  context:
    cluster: audit
    user: audit
current-context: audit
`, quoteYAML(url))
}

func quoteYAML(s string) string { return strconv.Quote(s) }

// auditPolicy drops reads, leases and events, records full requests and
// responses for the workload objects and metadata for everything else.
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
- RequestReceived
rules:
- level: None
  verbs: ["get", "list", "watch"]
- level: None
  resources:
  - group: coordination.k8s.io
    resources: ["leases"]
- level: None
  resources:
  - group: ""
    resources: ["events"]
  - group: events.k8s.io
    resources: ["events"]
- level: RequestResponse
  resources:
  - group: ""
    resources: ["pods", "pods/*", "bindings", "nodes", "nodes/*"]
  - group: apps
    resources: ["deployments", "deployments/*", "replicasets", "replicasets/*"]
- level: Metadata
`
