package inventory

import (
	"context"
	"io/fs"

	scalibrimage "github.com/google/osv-scalibr/artifact/image"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
)

// attributeLayers sets each package's layer to the layer that introduced it:
// the oldest layer from which on the package is present in every later layer.
// It re-reads a package's file only at the layers that changed that file, so
// an image with hundreds of OS packages costs one extra read per layer that
// touched the package database (osv-scalibr's own tracer compares package
// URLs pairwise, which is quadratic and took seconds here).
func attributeLayers(ctx context.Context, pkgs []*extractor.Package, chain []scalibrimage.ChainLayer, exs []filesystem.Extractor) map[*extractor.Package]int {
	out := map[*extractor.Package]int{}
	last := len(chain) - 1
	if last < 0 {
		return out
	}
	byName := map[string]filesystem.Extractor{}
	for _, e := range exs {
		byName[e.Name()] = e
	}
	type group struct {
		ex   filesystem.Extractor
		pkgs []*extractor.Package
	}
	groups := map[string]*group{}
	for _, p := range pkgs {
		path := p.Location.PathOrEmpty()
		out[p] = last
		if path == "" || len(p.Plugins) == 0 || byName[p.Plugins[0]] == nil {
			continue
		}
		g := groups[path]
		if g == nil {
			g = &group{ex: byName[p.Plugins[0]]}
			groups[path] = g
		}
		g.pkgs = append(g.pkgs, p)
	}
	for path, g := range groups {
		pending := map[string][]*extractor.Package{}
		for _, p := range g.pkgs {
			pending[pkgKey(p)] = append(pending[pkgKey(p)], p)
		}
		for i := last - 1; i >= 0 && len(pending) > 0; i-- {
			if ctx.Err() != nil {
				return out
			}
			// Layer i+1 left the file as it was: chain i holds the same packages.
			if _, err := fs.Stat(chain[i+1].Layer().FS(), path); err != nil && !chain[i+1].Layer().IsEmpty() {
				continue
			} else if chain[i+1].Layer().IsEmpty() {
				continue
			}
			present := map[string]bool{}
			cfs := chain[i].FS()
			if info, err := fs.Stat(cfs, path); err == nil && !info.IsDir() {
				if f, err := cfs.Open(path); err == nil {
					inv, err := g.ex.Extract(ctx, &filesystem.ScanInput{FS: cfs, Path: path, Info: info, Reader: f})
					f.Close()
					if err == nil {
						for _, op := range inv.Packages {
							present[pkgKey(op)] = true
						}
					}
				}
			}
			for k, ps := range pending {
				if present[k] {
					continue
				}
				for _, p := range ps {
					out[p] = i + 1
				}
				delete(pending, k)
			}
		}
		for _, ps := range pending {
			for _, p := range ps {
				out[p] = 0
			}
		}
	}
	return out
}

func pkgKey(p *extractor.Package) string {
	return p.PURLType + "\x00" + p.Name + "\x00" + p.Version
}
