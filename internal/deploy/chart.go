package deploy

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"
	"sigs.k8s.io/yaml"

	chartsrc "vigil/deploy"
)

// LoadChart loads the chart in dir, or the chart embedded in the binary when
// dir is empty.
func LoadChart(dir string) (*chart.Chart, error) {
	if dir != "" {
		c, err := loader.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("load chart %s: %w", dir, err)
		}
		return c, nil
	}
	files, err := embeddedFiles()
	if err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, fmt.Errorf("load embedded chart: %w", err)
	}
	return c, nil
}

func embeddedFiles() ([]*archive.BufferedFile, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(chartsrc.Chart, chartsrc.ChartRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(chartsrc.Chart, p)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: strings.TrimPrefix(p, chartsrc.ChartRoot+"/"), Data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read embedded chart: %w", err)
	}
	return files, nil
}

// WriteEmbeddedChart copies the embedded chart into dir/vigil and returns that
// path (helm lint works on directories).
func WriteEmbeddedChart(dir string) (string, error) {
	root := filepath.Join(dir, "vigil")
	files, err := embeddedFiles()
	if err != nil {
		return "", err
	}
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(path.Clean(f.Name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return "", err
		}
	}
	return root, nil
}

// MaxValuesBytes bounds one values file.
const MaxValuesBytes = 4 << 20

// ParseValues merges values files (in order), then --set and --set-string
// expressions, as helm does.
func ParseValues(files, sets, setStrings []string) (map[string]any, error) {
	base := map[string]any{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		if st.Size() > MaxValuesBytes {
			return nil, fmt.Errorf("values file %s is larger than %d bytes", f, MaxValuesBytes)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		base = loader.MergeMaps(base, m)
	}
	for _, s := range sets {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, fmt.Errorf("--set %q: %w", s, err)
		}
	}
	for _, s := range setStrings {
		if err := strvals.ParseIntoString(s, base); err != nil {
			return nil, fmt.Errorf("--set-string %q: %w", s, err)
		}
	}
	return base, nil
}

// TemplateKubeVersion is the Kubernetes version offline renders assume.
const TemplateKubeVersion = "v1.37.0"

// Template renders the chart offline, as `helm template` does (lookups find
// nothing, so generated secrets are new each time).
func Template(ctx context.Context, ch *chart.Chart, vals map[string]any, releaseName, namespace string) (string, error) {
	in := action.NewInstall(action.NewConfiguration(action.ConfigurationSetLogger(slog.DiscardHandler)))
	in.DryRunStrategy = action.DryRunClient
	in.ReleaseName, in.Namespace = releaseName, namespace
	in.Replace = true
	// Render for a current cluster (Helm's offline default is far older than the chart allows).
	kv, err := common.ParseKubeVersion(TemplateKubeVersion)
	if err != nil {
		return "", err
	}
	in.KubeVersion = kv
	r, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		return "", fmt.Errorf("render chart: %w", err)
	}
	rel, err := asRelease(r)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

// Lint runs helm's chart linter on the chart directory dir with vals and
// returns its findings at warning level or above.
func Lint(dir string, vals map[string]any) []string {
	l := action.NewLint()
	l.Strict = true
	l.Namespace = "vigil"
	if kv, err := common.ParseKubeVersion(TemplateKubeVersion); err == nil {
		l.KubeVersion = kv
	}
	res := l.Run([]string{dir}, vals)
	var out []string
	for _, err := range res.Errors {
		out = append(out, err.Error())
	}
	return out
}
