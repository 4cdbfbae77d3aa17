package iac

import (
	"fmt"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"vigil/internal/security/compliance"
)

// Kustomize builds the kustomization in dir (as `kustomize build` would,
// with files outside dir refused) and decodes the result.
func Kustomize(dir, display string) ([]compliance.Manifest, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", display, err)
	}
	y, err := rm.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", display, err)
	}
	return Manifests(display+" (kustomize build)", y)
}
