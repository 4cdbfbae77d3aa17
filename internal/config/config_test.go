package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/spf13/pflag"
)

func newFlags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("listen", ":8080", "")
	fs.String("data-dir", "./data", "")
	fs.Duration("logs-retention", 0, "")
	return fs
}

func TestPrecedenceFlagEnvFileDefault(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "vigil.yaml")
	if err := os.WriteFile(file, []byte("listen: \":9000\"\ndata-dir: /from/file\nlogs-retention: 48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIGIL_DATA_DIR", "/from/env")
	fs := newFlags()
	if err := fs.Parse([]string{"--listen", ":7000"}); err != nil {
		t.Fatal(err)
	}
	if err := Apply(fs, file); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"listen": ":7000", "data-dir": "/from/env", "logs-retention": "48h0m0s"} {
		if got := fs.Lookup(name).Value.String(); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestDefaultsWithoutFile(t *testing.T) {
	fs := newFlags()
	if err := Apply(fs, ""); err != nil {
		t.Fatal(err)
	}
	if got := fs.Lookup("listen").Value.String(); got != ":8080" {
		t.Errorf("listen = %q", got)
	}
}

func TestUnknownKeyAndBadValueAreErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("lisen: x\n"), 0o600)
	if err := Apply(newFlags(), bad); err == nil {
		t.Error("unknown key accepted")
	}
	t.Setenv("VIGIL_LOGS_RETENTION", "forever")
	if err := Apply(newFlags(), ""); err == nil {
		t.Error("bad duration accepted")
	}
}
