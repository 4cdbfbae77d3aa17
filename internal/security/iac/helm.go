package iac

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"

	"vigil/internal/security/compliance"
)

// Helm renders the chart in dir with its default values (as `helm
// template` would, offline: no cluster lookups) and decodes the result. The
// release namespace is left empty: it is chosen at install time.
// Evidence points at the template file; lines are those of the rendered
// output.
func Helm(dir, display string) ([]compliance.Manifest, error) {
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", display, err)
	}
	vals, err := util.ToRenderValues(ch, map[string]any{}, common.ReleaseOptions{Name: "release", IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, fmt.Errorf("chart %s values: %w", display, err)
	}
	files, err := engine.Render(ch, vals)
	if err != nil {
		return nil, fmt.Errorf("render chart %s: %w", display, err)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []compliance.Manifest
	for _, n := range names {
		if path.Ext(n) != ".yaml" && path.Ext(n) != ".yml" || strings.TrimSpace(files[n]) == "" {
			continue // NOTES.txt, empty conditionals
		}
		// "vigil/templates/x.yaml" → "<display>/templates/x.yaml"
		rel := n
		if i := strings.Index(n, "/"); i >= 0 {
			rel = n[i+1:]
		}
		file := filepath.ToSlash(filepath.Join(display, rel)) + " (rendered)"
		ms, err := Manifests(file, []byte(files[n]))
		if err != nil {
			return nil, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
