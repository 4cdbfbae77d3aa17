package inventory

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirAndOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Dir(ctx, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory accepted")
	}
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, []byte("x"), 0o644)
	if _, err := Dir(ctx, f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as directory: %v", err)
	}
	if _, _, err := OpenImage(f, OpenOptions{}); err == nil || !strings.Contains(err.Error(), "docker-save tarball") {
		t.Errorf("junk tarball: %v", err)
	}
	if _, _, err := OpenImage(t.TempDir(), OpenOptions{}); err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("plain directory: %v", err)
	}
	if _, _, err := OpenImage("UPPER/Case:!!", OpenOptions{}); err == nil || !strings.Contains(err.Error(), "neither a file") {
		t.Errorf("bad reference: %v", err)
	}
}

// A directory with an apk database lists its packages with the Alpine
// release as the ecosystem and the origin as the source package.
func TestDirAlpine(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.MkdirAll(filepath.Join(root, "lib/apk/db"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/os-release"), []byte("ID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"), 0o644)
	os.WriteFile(filepath.Join(root, "lib/apk/db/installed"), []byte("P:libcrypto3\nV:3.3.1-r3\nA:x86_64\no:openssl\n\nP:musl\nV:1.2.5-r0\nA:x86_64\no:musl\n\n"), 0o644)
	inv, err := Dir(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if inv.OS != "Alpine Linux v3.20" || len(inv.Packages) != 2 {
		t.Fatalf("%+v", inv)
	}
	p := inv.Packages[0]
	if p.Name != "libcrypto3" || p.SourceName != "openssl" || p.Ecosystem != "Alpine:v3.20" || p.Layer != -1 || !p.OS() || !strings.HasPrefix(p.PURL, "pkg:apk/alpine/libcrypto3@3.3.1-r3") {
		t.Errorf("package %+v", p)
	}
}
