package deploy

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// MaxManifestBytes bounds one manifest stream (a rendered chart, one file).
const MaxManifestBytes = 32 << 20

// ParseManifests splits a multi-document YAML (or JSON) stream into objects.
// Empty documents are skipped; List kinds are expanded; every object must
// have apiVersion, kind and metadata.name.
func ParseManifests(data []byte) ([]*unstructured.Unstructured, error) {
	if len(data) > MaxManifestBytes {
		return nil, fmt.Errorf("manifest stream is %d bytes, more than the %d allowed", len(data), MaxManifestBytes)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("manifest stream is not valid UTF-8")
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for doc := 1; ; doc++ {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("document %d: %w", doc, err)
			}
			for i := range l.Items {
				it := l.Items[i]
				if err := checkObject(&it); err != nil {
					return nil, fmt.Errorf("document %d item %d: %w", doc, i, err)
				}
				objs = append(objs, &it)
			}
			continue
		}
		if err := checkObject(u); err != nil {
			return nil, fmt.Errorf("document %d: %w", doc, err)
		}
		objs = append(objs, u)
	}
}

func checkObject(u *unstructured.Unstructured) error {
	if _, ok := u.Object["apiVersion"].(string); !ok || u.GetAPIVersion() == "" {
		return errors.New("object has no apiVersion")
	}
	if _, ok := u.Object["kind"].(string); !ok || u.GetKind() == "" {
		return errors.New("object has no kind")
	}
	if md, ok := u.Object["metadata"]; ok {
		if _, ok := md.(map[string]any); !ok {
			return fmt.Errorf("%s: metadata is not a map", u.GetKind())
		}
	}
	if u.GetName() == "" {
		return fmt.Errorf("%s has no metadata.name", u.GetKind())
	}
	normalizeSecret(u)
	return nil
}

// normalizeSecret turns a Secret's stringData into data, as the API server does.
func normalizeSecret(u *unstructured.Unstructured) {
	if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return
	}
	sd, ok := u.Object["stringData"].(map[string]any)
	if !ok {
		return
	}
	data, _ := u.Object["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range sd {
		if s, ok := v.(string); ok {
			data[k] = base64.StdEncoding.EncodeToString([]byte(s))
		}
	}
	u.Object["data"] = data
	delete(u.Object, "stringData")
}

// LoadManifestDir reads every *.yaml, *.yml and *.json file under dir (sorted,
// hidden directories skipped) into objects.
func LoadManifestDir(dir string) ([]*unstructured.Unstructured, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read manifests in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml, *.yml or *.json files in %s", dir)
	}
	sort.Strings(files)
	var all []*unstructured.Unstructured
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, err
		}
		if st.Size() > MaxManifestBytes {
			return nil, fmt.Errorf("%s is %d bytes, more than the %d allowed", f, st.Size(), MaxManifestBytes)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := ParseManifests(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		all = append(all, objs...)
	}
	return all, nil
}

// ObjectRef names an object.
type ObjectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

func refOf(u *unstructured.Unstructured) ObjectRef {
	return ObjectRef{APIVersion: u.GetAPIVersion(), Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// key identifies an object across API versions of the same group.
func (r ObjectRef) key() string {
	group := ""
	if i := strings.Index(r.APIVersion, "/"); i >= 0 {
		group = r.APIVersion[:i]
	}
	return group + "|" + r.Kind + "|" + r.Namespace + "|" + r.Name
}

// maskSecretChanges hides the values of a Secret's data in a diff.
func maskSecretChanges(ref ObjectRef, cs []Change) []Change {
	if ref.Kind != "Secret" {
		return cs
	}
	for i := range cs {
		if strings.HasPrefix(cs[i].Path, "data") || strings.HasPrefix(cs[i].Path, "stringData") {
			if cs[i].Desired != nil {
				cs[i].Desired = Masked
			}
			if cs[i].Live != nil {
				cs[i].Live = Masked
			}
		}
	}
	return cs
}
