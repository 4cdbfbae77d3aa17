// Package vulntest builds real container images for tests and benchmarks:
// this machine's dpkg status database plus a Go binary compiled against old,
// vulnerable module versions, in a base layer and an application layer.
package vulntest

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Old module versions that are in the module cache of every machine that
// built vigil (so the build works offline) and that the Go vulnerability
// database lists as affected.
const (
	NetVersion  = "v0.51.0"
	TextVersion = "v0.34.0"
)

const program = `package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() {
	n, err := html.Parse(strings.NewReader("<p>hello</p>"))
	fmt.Println(n != nil, err, language.English)
}
`

// BuildGoBinary compiles a small program against golang.org/x/net and
// golang.org/x/text at the old versions above, in a separate temporary module
// (never the repository's), and returns the binary's path inside dir.
func BuildGoBinary(ctx context.Context, dir string) (string, error) {
	mod := filepath.Join(dir, "oldmods")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return "", err
	}
	gomod := fmt.Sprintf("module example.com/oldmods\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/net %s\n\tgolang.org/x/text %s\n)\n", NetVersion, TextVersion)
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(mod, "main.go"), []byte(program), 0o644); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "app")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = mod
	// The module cache already holds these versions; GOFLAGS=-mod=mod lets
	// go resolve go.sum entries from it, GOSUMDB=off keeps it offline, and
	// GOWORK=off keeps any enclosing workspace out.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOSUMDB=off", "GOWORK=off", "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build old-modules binary: %v\n%s", err, b)
	}
	return out, nil
}

// File is one file to put into a layer.
type File struct {
	Path string // inside the image, without a leading slash
	Data []byte
	Mode int64
}

// Layer makes an uncompressed tar layer of files (with their parent directories).
func Layer(files []File) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	mt := time.Unix(1700000000, 0)
	for _, f := range files {
		parts := strings.Split(f.Path, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/") + "/"
			if !dirs[d] {
				dirs[d] = true
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: mt}); err != nil {
					return nil, err
				}
			}
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.Path, Mode: mode, Size: int64(len(f.Data)), ModTime: mt}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (ioReadCloser, error) { return nopCloser{bytes.NewReader(b)}, nil })
}

// Image holds the built image and what went into it.
type Image struct {
	Image  v1.Image
	Binary string // path of the Go binary inside the image
}

// Build makes the two-layer test image: layer 0 (the "base image") holds
// etc/os-release and var/lib/dpkg/status of this machine, layer 1 the Go
// binary. The history marks layer 0 as the base image the way a Dockerfile
// build does (a CMD entry after it).
func Build(ctx context.Context, workDir string) (*Image, error) {
	status, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil {
		return nil, fmt.Errorf("this machine's dpkg status: %w", err)
	}
	osRelease, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return nil, fmt.Errorf("this machine's os-release: %w", err)
	}
	bin, err := BuildGoBinary(ctx, workDir)
	if err != nil {
		return nil, err
	}
	binData, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	base, err := Layer([]File{{Path: "etc/os-release", Data: osRelease}, {Path: "var/lib/dpkg/status", Data: status}})
	if err != nil {
		return nil, err
	}
	app, err := Layer([]File{{Path: "usr/local/bin/app", Data: binData, Mode: 0o755}})
	if err != nil {
		return nil, err
	}
	t := v1.Time{Time: time.Unix(1700000000, 0).UTC()}
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.History = []v1.History{
		{Created: t, CreatedBy: "/bin/sh -c #(nop) ADD file:rootfs in / "},
		{Created: t, CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`, EmptyLayer: true},
		{Created: t, CreatedBy: "COPY app /usr/local/bin/app # buildkit"},
	}
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/usr/local/bin/app"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, err
	}
	return &Image{Image: img, Binary: "/usr/local/bin/app"}, nil
}

// WriteTarball writes img as a `docker save` tarball tagged tag.
func WriteTarball(img v1.Image, path, tag string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}

// WriteLayout writes img as an OCI image layout directory.
func WriteLayout(img v1.Image, dir string) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img)
}

// VulnDBModule is the pinned version of golang.org/x/vulndb (see go.mod).
const VulnDBModule = "golang.org/x/vulndb@v0.0.0-20261105234957-e22db6528018"

// GoVulnDBDir is the directory of OSV records of the Go vulnerability database
// in the module cache; `go mod download` fetches the pinned version when the
// cache lacks it (it changes no go.mod).
func GoVulnDBDir(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", VulnDBModule)
	// Outside any module, so no go.mod or go.sum is touched.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %v %s %s", VulnDBModule, err, info.Error, out)
	}
	dir := filepath.Join(info.Dir, "data", "osv")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("Go vulnerability database records: %w", err)
	}
	return dir, nil
}

// AlpineImage is a one-layer Alpine 3.20 image whose apk database lists
// three packages at fixed versions.
func AlpineImage() (v1.Image, error) {
	osRelease := "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME=\"Alpine Linux v3.20\"\n"
	installed := ""
	for _, p := range [][3]string{{"busybox", "1.36.1-r28", "busybox"}, {"libcrypto3", "3.3.1-r3", "openssl"}, {"musl", "1.2.5-r0", "musl"}} {
		installed += fmt.Sprintf("C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:%s\nV:%s\nA:x86_64\nS:100\nI:200\nT:%s\nU:https://alpinelinux.org\nL:MIT\no:%s\nm:Test <test@example.invalid>\nt:1700000000\n\n", p[0], p[1], p[0], p[2])
	}
	l, err := Layer([]File{{Path: "etc/os-release", Data: []byte(osRelease)}, {Path: "lib/apk/db/installed", Data: []byte(installed)}})
	if err != nil {
		return nil, err
	}
	return mutate.AppendLayers(empty.Image, l)
}
