// Package nodecheck reads the kubelet's settings and the permissions of its
// configuration and credential files on this host — what the CIS
// Kubernetes Benchmark's node section asks for — and sends them to the
// server, which evaluates them with the other compliance controls.
package nodecheck

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"vigil/internal/security/compliance"
)

// Config says where the host's files are.
type Config struct {
	NodeName string
	ProcPath string // host /proc
	RootFS   string // host root file system ("/" on the host, e.g. /host in a pod)
	// KubeletConfig overrides the kubelet config file found from the kubelet's command line.
	KubeletConfig string
}

// Defaults kubeadm and most distributions use, when no kubelet process says otherwise.
const (
	defaultConfig     = "/var/lib/kubelet/config.yaml"
	defaultKubeconfig = "/etc/kubernetes/kubelet.conf"
)

// ErrNoKubelet means this host runs no kubelet and has no kubelet configuration.
var ErrNoKubelet = errors.New("no kubelet on this host")

// Collect reads the kubelet's effective settings and file modes.
func Collect(cfg Config) (compliance.NodeInput, error) {
	out := compliance.NodeInput{Node: cfg.NodeName, Kubelet: compliance.KubeletSettings{Sources: map[string]string{}}}
	if cfg.RootFS == "" {
		cfg.RootFS = "/"
	}
	if cfg.ProcPath == "" {
		cfg.ProcPath = "/proc"
	}
	flags, running := kubeletFlags(cfg.ProcPath)
	confPath := cfg.KubeletConfig
	if confPath == "" {
		confPath = flags["config"]
	}
	if confPath == "" && !running {
		confPath = defaultConfig
	}
	host := func(p string) string { return filepath.Join(cfg.RootFS, p) }

	// Flags-only kubelets get the command-line defaults, which are insecure.
	k := &out.Kubelet
	k.AnonymousAuth, k.AuthorizationMode, k.ReadOnlyPort = true, "AlwaysAllow", 10255
	for _, f := range []string{"anonymousAuth", "authorizationMode", "readOnlyPort", "clientCAFile"} {
		k.Sources[f] = "kubelet command-line default"
	}
	haveConfig := false
	if confPath != "" {
		b, err := os.ReadFile(host(confPath))
		switch {
		case err == nil:
			haveConfig = true
			if err := applyConfigFile(k, confPath, b); err != nil {
				return out, err
			}
			out.Files = append(out.Files, fileInfo("kubelet-config", confPath, host(confPath))...)
		case !os.IsNotExist(err):
			return out, fmt.Errorf("read kubelet config %s: %w", confPath, err)
		}
	}
	if !running && !haveConfig {
		return out, ErrNoKubelet
	}
	applyFlags(k, flags)
	kc := flags["kubeconfig"]
	if kc == "" {
		kc = defaultKubeconfig
	}
	out.Files = append(out.Files, fileInfo("kubelet-kubeconfig", kc, host(kc))...)
	if k.ClientCAFile != "" {
		out.Files = append(out.Files, fileInfo("client-ca", k.ClientCAFile, host(k.ClientCAFile))...)
	}
	return out, nil
}

// kubeletConfigFile is the part of KubeletConfiguration (v1beta1) checked.
type kubeletConfigFile struct {
	Authentication struct {
		Anonymous struct {
			Enabled *bool `json:"enabled"`
		} `json:"anonymous"`
		X509 struct {
			ClientCAFile string `json:"clientCAFile"`
		} `json:"x509"`
	} `json:"authentication"`
	Authorization struct {
		Mode string `json:"mode"`
	} `json:"authorization"`
	ReadOnlyPort *int `json:"readOnlyPort"`
}

// applyConfigFile sets the settings from a config file; fields it leaves out
// take the file format's defaults (anonymous off, Webhook, no read-only port).
func applyConfigFile(k *compliance.KubeletSettings, path string, b []byte) error {
	var c kubeletConfigFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		return fmt.Errorf("parse kubelet config %s: %w", path, err)
	}
	src := func(field string) string { return path + ": " + field }
	k.AnonymousAuth, k.Sources["anonymousAuth"] = false, path+": authentication.anonymous.enabled (default false)"
	if c.Authentication.Anonymous.Enabled != nil {
		k.AnonymousAuth, k.Sources["anonymousAuth"] = *c.Authentication.Anonymous.Enabled, src("authentication.anonymous.enabled")
	}
	k.AuthorizationMode, k.Sources["authorizationMode"] = "Webhook", path+": authorization.mode (default Webhook)"
	if c.Authorization.Mode != "" {
		k.AuthorizationMode, k.Sources["authorizationMode"] = c.Authorization.Mode, src("authorization.mode")
	}
	k.ReadOnlyPort, k.Sources["readOnlyPort"] = 0, path+": readOnlyPort (default 0)"
	if c.ReadOnlyPort != nil {
		k.ReadOnlyPort, k.Sources["readOnlyPort"] = *c.ReadOnlyPort, src("readOnlyPort")
	}
	k.ClientCAFile, k.Sources["clientCAFile"] = c.Authentication.X509.ClientCAFile, src("authentication.x509.clientCAFile")
	return nil
}

// applyFlags lets command-line flags override the config file, as the kubelet does.
func applyFlags(k *compliance.KubeletSettings, flags map[string]string) {
	if v, ok := flags["anonymous-auth"]; ok {
		k.AnonymousAuth, k.Sources["anonymousAuth"] = v != "false", "kubelet flag --anonymous-auth"
	}
	if v, ok := flags["authorization-mode"]; ok {
		k.AuthorizationMode, k.Sources["authorizationMode"] = v, "kubelet flag --authorization-mode"
	}
	if v, ok := flags["read-only-port"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			k.ReadOnlyPort, k.Sources["readOnlyPort"] = n, "kubelet flag --read-only-port"
		}
	}
	if v, ok := flags["client-ca-file"]; ok {
		k.ClientCAFile, k.Sources["clientCAFile"] = v, "kubelet flag --client-ca-file"
	}
}

// kubeletFlags finds a kubelet process and parses its --flags.
func kubeletFlags(procPath string) (map[string]string, bool) {
	ents, err := os.ReadDir(procPath)
	if err != nil {
		return nil, false
	}
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procPath, e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if filepath.Base(args[0]) != "kubelet" {
			continue
		}
		return ParseFlags(args[1:]), true
	}
	return nil, false
}

// ParseFlags reads --name=value, --name value and bare --bool flags.
func ParseFlags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			continue
		}
		a = strings.TrimLeft(a, "-")
		if name, v, ok := strings.Cut(a, "="); ok {
			out[name] = v
			continue
		}
		if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
			out[a] = args[i+1]
			i++
			continue
		}
		out[a] = "true"
	}
	return out
}

func fileInfo(role, display, path string) []compliance.NodeFile {
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	f := compliance.NodeFile{Role: role, Path: display, Mode: uint32(st.Mode().Perm())}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		f.UID, f.GID = int(sys.Uid), int(sys.Gid)
	}
	return []compliance.NodeFile{f}
}

// Sender posts reports to the server.
type Sender struct {
	URL    string // server base URL
	Token  string
	Client *http.Client
}

// NewSender builds a sender trusting tlsCfg's roots (nil: the system's).
func NewSender(serverURL, token string, tlsCfg *tls.Config) *Sender {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if tlsCfg != nil {
		tr.TLSClientConfig = tlsCfg
	}
	return &Sender{URL: strings.TrimSuffix(serverURL, "/"), Token: token, Client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// Send posts one report.
func (s *Sender) Send(ctx context.Context, n compliance.NodeInput) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/compliance/nodes", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("send node checks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("send node checks: %s: %s", resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Run collects and sends every interval (retrying sooner after a failure)
// until ctx ends. Hosts without a kubelet send nothing.
func Run(ctx context.Context, cfg Config, s *Sender, every time.Duration, log *slog.Logger) error {
	wait := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = every
		n, err := Collect(cfg)
		if errors.Is(err, ErrNoKubelet) {
			log.Debug("node checks: no kubelet on this host")
			continue
		}
		if err != nil {
			log.Warn("node checks", "err", err)
			continue
		}
		if err := s.Send(ctx, n); err != nil && ctx.Err() == nil {
			log.Warn("node checks", "err", err)
			wait = min(every, time.Minute)
		}
	}
}
