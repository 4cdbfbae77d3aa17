package nodecheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"vigil/internal/security/compliance"
)

func write(t *testing.T, path, data string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestCollectConfigFileAndFlags(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	write(t, filepath.Join(root, "etc/kubelet/config.yaml"), "authentication:\n  anonymous:\n    enabled: true\nreadOnlyPort: 10255\n", 0o644)
	write(t, filepath.Join(root, "etc/kubelet/kubeconfig"), "x", 0o600)
	write(t, filepath.Join(proc, "4242/cmdline"), "/usr/bin/kubelet\x00--config=/etc/kubelet/config.yaml\x00--kubeconfig\x00/etc/kubelet/kubeconfig\x00--authorization-mode=AlwaysAllow\x00", 0o644)
	write(t, filepath.Join(proc, "1/cmdline"), "/sbin/init\x00", 0o644)
	n, err := Collect(Config{NodeName: "n1", ProcPath: proc, RootFS: root})
	if err != nil {
		t.Fatal(err)
	}
	k := n.Kubelet
	if !k.AnonymousAuth || k.AuthorizationMode != "AlwaysAllow" || k.ReadOnlyPort != 10255 || k.ClientCAFile != "" {
		t.Errorf("settings %+v", k)
	}
	if k.Sources["authorizationMode"] != "kubelet flag --authorization-mode" || k.Sources["anonymousAuth"] != "/etc/kubelet/config.yaml: authentication.anonymous.enabled" {
		t.Errorf("sources %v", k.Sources)
	}
	if len(n.Files) != 2 || n.Files[0].Mode != 0o644 || n.Files[0].Path != "/etc/kubelet/config.yaml" || n.Files[1].Mode != 0o600 {
		t.Errorf("files %+v", n.Files)
	}
}

func TestCollectDefaultsAndNoKubelet(t *testing.T) {
	root, proc := t.TempDir(), t.TempDir()
	if _, err := Collect(Config{NodeName: "n", ProcPath: proc, RootFS: root}); !errors.Is(err, ErrNoKubelet) {
		t.Fatalf("err = %v, want ErrNoKubelet", err)
	}
	write(t, filepath.Join(root, defaultConfig), "authentication:\n  x509:\n    clientCAFile: /etc/kubernetes/pki/ca.crt\n", 0o600)
	n, err := Collect(Config{NodeName: "n", ProcPath: proc, RootFS: root})
	if err != nil {
		t.Fatal(err)
	}
	if k := n.Kubelet; k.AnonymousAuth || k.AuthorizationMode != "Webhook" || k.ReadOnlyPort != 0 || k.ClientCAFile != "/etc/kubernetes/pki/ca.crt" {
		t.Errorf("file defaults not applied: %+v", k)
	}
	write(t, filepath.Join(root, defaultConfig), "authentication: [not, a, map]\n", 0o600)
	if _, err := Collect(Config{NodeName: "n", ProcPath: proc, RootFS: root}); err == nil {
		t.Error("malformed config accepted")
	}
}

func TestParseFlags(t *testing.T) {
	f := ParseFlags([]string{"--a=1", "--b", "2", "--c", "--d=", "x"})
	if f["a"] != "1" || f["b"] != "2" || f["c"] != "true" || f["d"] != "" {
		t.Errorf("%v", f)
	}
}

// The kubelet config file and command line come from the host: any bytes
// must give settings or a clear error, never a panic.
func FuzzKubeletConfig(f *testing.F) {
	f.Add([]byte("authentication:\n  anonymous:\n    enabled: false\n  x509:\n    clientCAFile: /ca\nauthorization:\n  mode: Webhook\nreadOnlyPort: 0\n"), "/usr/bin/kubelet\x00--read-only-port=10255\x00--anonymous-auth\x00false")
	f.Add([]byte("readOnlyPort: [1]\n"), "kubelet\x00--config")
	f.Fuzz(func(t *testing.T, conf []byte, cmdline string) {
		k := compliance.KubeletSettings{Sources: map[string]string{}}
		if err := applyConfigFile(&k, "/c", conf); err != nil {
			return
		}
		applyFlags(&k, ParseFlags(strings.Split(cmdline, "\x00")))
		if _, err := compliance.NodeObject(compliance.NodeInput{Node: "n", Kubelet: k}); err != nil {
			t.Fatalf("settings rejected: %v", err)
		}
	})
}
