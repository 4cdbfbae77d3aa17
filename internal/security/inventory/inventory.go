// Package inventory lists the software in a container image or a directory:
// OS packages (dpkg, apk, rpm) and language packages (Go binaries' build
// info, npm, Python, Java archives), each with the image layer it came from.
//
// Extraction is osv-scalibr's; only the extractors listed in extractors() are
// linked in, which keeps the binary tens of MB smaller than scalibr's full set.
package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/osv-scalibr/artifact/image/layerscanning/image"
	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/osrelease"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	scalibrfs "github.com/google/osv-scalibr/fs"
	"github.com/google/osv-scalibr/stats"
)

// Package is one piece of software found.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Ecosystem is the OSV ecosystem, with the distribution release when known ("Debian:12", "Go").
	Ecosystem string `json:"ecosystem"`
	// Type is the package URL type: deb, apk, rpm, golang, npm, pypi, maven.
	Type string `json:"type"`
	PURL string `json:"purl"`
	// SourceName and SourceVersion are the source package of an OS package,
	// which is what distribution advisories name.
	SourceName    string `json:"sourceName,omitempty"`
	SourceVersion string `json:"sourceVersion,omitempty"`
	// Path is the file the package was read from (the status database, the binary).
	Path string `json:"path"`
	// Layer is the index of the layer that introduced the package (-1: not an image).
	Layer    int      `json:"layer"`
	Licenses []string `json:"licenses,omitempty"`
}

// OS reports whether the package is managed by the operating system's package manager.
func (p Package) OS() bool { return p.Type == "deb" || p.Type == "apk" || p.Type == "rpm" }

// Layer is one layer of an image.
type Layer struct {
	Index   int    `json:"index"`
	DiffID  string `json:"diffID,omitempty"`
	Command string `json:"command,omitempty"`
	Empty   bool   `json:"empty,omitempty"`
	// Base marks layers of the base image (found from the build history).
	Base bool `json:"base,omitempty"`
}

// Inventory is what one scan found.
type Inventory struct {
	// OS is the distribution's PRETTY_NAME (or ID VERSION_ID) from os-release.
	OS       string    `json:"os,omitempty"`
	Layers   []Layer   `json:"layers,omitempty"`
	Packages []Package `json:"packages"`
}

func extractors() ([]filesystem.Extractor, error) {
	cfg := &cpb.PluginConfig{}
	var out []filesystem.Extractor
	for _, mk := range []func(*cpb.PluginConfig) (filesystem.Extractor, error){
		dpkg.New, apk.New, rpm.New, gobinary.New, packagejson.New, wheelegg.New, archive.New,
	} {
		e, err := mk(cfg)
		if err != nil {
			return nil, fmt.Errorf("set up extractor: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// ImageOptions bound the work on untrusted images.
type ImageOptions struct {
	// MaxFileBytes skips larger files when unpacking (default 512 MB).
	MaxFileBytes int64
}

// Image lists the software in img. It unpacks the layers into a temporary
// directory, removed before it returns.
func Image(ctx context.Context, img v1.Image, opts ImageOptions) (*Inventory, error) {
	cfg := image.DefaultConfig()
	cfg.MaxFileBytes = 512 << 20
	if opts.MaxFileBytes > 0 {
		cfg.MaxFileBytes = opts.MaxFileBytes
	}
	simg, err := image.FromV1Image(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("unpack image: %w", err)
	}
	defer simg.CleanUp()
	exs, err := extractors()
	if err != nil {
		return nil, err
	}
	chain, err := simg.ChainLayers()
	if err != nil {
		return nil, fmt.Errorf("image layers: %w", err)
	}
	roots := []*scalibrfs.ScanRoot{{FS: simg.FS()}}
	inv, _, err := filesystem.Run(ctx, &filesystem.Config{Extractors: exs, ScanRoots: roots, Stats: stats.NoopCollector{}})
	if err != nil {
		return nil, fmt.Errorf("extract packages: %w", err)
	}
	layerOf := attributeLayers(ctx, inv.Packages, chain, exs)

	out := &Inventory{OS: osName(simg.FS())}
	for i, cl := range chain {
		l := cl.Layer()
		out.Layers = append(out.Layers, Layer{
			Index: i, DiffID: l.DiffID().String(), Command: l.Command(), Empty: l.IsEmpty(),
			Base: simg.BaseImageIndex >= 0 && i <= simg.BaseImageIndex,
		})
	}
	for _, p := range inv.Packages {
		pk := convert(p)
		pk.Layer = layerOf[p]
		out.Packages = append(out.Packages, pk)
	}
	sortPackages(out.Packages)
	return out, nil
}

// Dir lists the software under a directory (a root filesystem or a project checkout).
func Dir(ctx context.Context, root string) (*Inventory, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("scan %s: not a directory", root)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	exs, err := extractors()
	if err != nil {
		return nil, err
	}
	sr := scalibrfs.RealFSScanRoot(abs)
	inv, _, err := filesystem.Run(ctx, &filesystem.Config{
		Extractors: exs, ScanRoots: []*scalibrfs.ScanRoot{sr}, Stats: stats.NoopCollector{},
		DirsToSkip: []string{filepath.Join(abs, "proc"), filepath.Join(abs, "sys"), filepath.Join(abs, "dev")},
	})
	if err != nil {
		return nil, fmt.Errorf("extract packages: %w", err)
	}
	out := &Inventory{OS: osName(sr.FS)}
	for _, p := range inv.Packages {
		pk := convert(p)
		pk.Layer = -1
		out.Packages = append(out.Packages, pk)
	}
	sortPackages(out.Packages)
	return out, nil
}

func osName(fsys scalibrfs.FS) string {
	m, err := osrelease.GetOSRelease(fsys)
	if err != nil {
		return ""
	}
	if n := m["PRETTY_NAME"]; n != "" {
		return n
	}
	return strings.TrimSpace(m["ID"] + " " + m["VERSION_ID"])
}

func convert(p *extractor.Package) Package {
	out := Package{
		Name: p.Name, Version: p.Version, Type: p.PURLType,
		Ecosystem: p.Ecosystem().String(), Path: "/" + strings.TrimPrefix(p.Location.PathOrEmpty(), "/"),
		Licenses: p.Licenses,
	}
	if pu := p.PURL(); pu != nil {
		out.PURL = pu.String()
	}
	switch m := p.Metadata.(type) {
	case *dpkgmeta.Metadata:
		out.SourceName, out.SourceVersion = m.SourceName, m.SourceVersion
	case *apkmeta.Metadata:
		out.SourceName = m.OriginName
	}
	return out
}

func sortPackages(ps []Package) {
	slices.SortFunc(ps, func(a, b Package) int {
		if c := strings.Compare(a.Type, b.Type); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
}

// ErrNoImage is returned when a reference names nothing loadable.
var ErrNoImage = errors.New("no image found")
