// Package iac reads infrastructure code — Terraform, Kubernetes YAML, Helm
// charts and Kustomize directories — into inputs for the compliance
// controls, keeping the file and line of every field for evidence.
package iac

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"vigil/internal/security/compliance"
)

// Note is something the reader could not check, or a file it rejected.
type Note struct {
	File    string `json:"file"`
	Error   bool   `json:"error"` // a file that should have been readable
	Message string `json:"message"`
}

// Inputs is what Load found.
type Inputs struct {
	Objects []compliance.Object
	Notes   []Note
	Files   int // files read
}

var skipDirs = map[string]bool{".git": true, ".terraform": true, "node_modules": true, ".terragrunt-cache": true}

// Load reads root (a file or a directory tree).
func Load(ctx context.Context, root string) (*Inputs, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	in := &Inputs{}
	var manifests []compliance.Manifest
	addFile := func(p string) {
		switch strings.ToLower(filepath.Ext(p)) {
		case ".tf":
		case ".yaml", ".yml", ".json":
		default:
			return
		}
		data, err := readLimited(p)
		if err != nil {
			in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
			return
		}
		in.Files++
		if strings.EqualFold(filepath.Ext(p), ".tf") {
			objs, err := Terraform(p, data)
			if err != nil {
				in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
				return
			}
			in.Objects = append(in.Objects, objs...)
			return
		}
		ms, err := Manifests(p, data)
		if err != nil {
			if strings.Contains(string(data), "{{") {
				in.Notes = append(in.Notes, Note{File: p, Message: "skipped: contains Go template syntax outside a Helm chart (no Chart.yaml found above it)"})
				return
			}
			in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
			return
		}
		manifests = append(manifests, ms...)
	}
	if !st.IsDir() {
		addFile(root)
	} else {
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !d.IsDir() {
				if d.Type().IsRegular() {
					addFile(p)
				}
				return nil
			}
			if p != root && skipDirs[d.Name()] {
				return fs.SkipDir
			}
			if exists(filepath.Join(p, "Chart.yaml")) {
				ms, err := Helm(p, p)
				if err != nil {
					in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
				} else {
					manifests = append(manifests, ms...)
					in.Files++
				}
				return fs.SkipDir
			}
			for _, k := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
				if exists(filepath.Join(p, k)) {
					ms, err := Kustomize(p, p)
					if err != nil {
						in.Notes = append(in.Notes, Note{File: p, Error: true, Message: err.Error()})
					} else {
						manifests = append(manifests, ms...)
						in.Files++
					}
					return fs.SkipDir
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	objs, err := compliance.KubeObjects(manifests)
	if err != nil {
		return nil, err
	}
	in.Objects = append(in.Objects, objs...)
	return in, nil
}

func exists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func readLimited(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%d bytes is over the %d byte limit", st.Size(), MaxFileBytes)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return b, nil
}
