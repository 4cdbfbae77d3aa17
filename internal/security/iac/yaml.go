package iac

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"vigil/internal/security/compliance"
)

// MaxFileBytes bounds one input file; bigger files are reported, not read.
const MaxFileBytes = 8 << 20

// maxDepth and maxAliasExpansion guard against nesting and alias bombs.
const (
	maxDepth          = 200
	maxAliasExpansion = 10000
)

// ErrNotKubernetes is returned for YAML documents that are not Kubernetes objects.
var ErrNotKubernetes = errors.New("not a Kubernetes object")

// Manifests decodes a (multi-document) YAML or JSON file into Kubernetes
// objects with the line of every field. Documents without apiVersion and
// kind are skipped; List kinds are expanded.
func Manifests(name string, data []byte) ([]compliance.Manifest, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is over the %d byte limit", name, len(data), MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("%s: not valid UTF-8", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []compliance.Manifest
	for i := 0; ; i++ {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		c := &converter{lines: map[string]int{}}
		v, err := c.value(&doc, "", 0)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i+1, err)
		}
		obj, ok := v.(map[string]any)
		if !ok || obj["apiVersion"] == nil || obj["kind"] == nil {
			continue
		}
		if kind, _ := obj["kind"].(string); strings.HasSuffix(kind, "List") {
			items, _ := obj["items"].([]any)
			for j, it := range items {
				im, ok := it.(map[string]any)
				if !ok {
					continue
				}
				prefix := fmt.Sprintf("items[%d]", j)
				lines := map[string]int{}
				for p, l := range c.lines {
					if rest, ok := strings.CutPrefix(p, prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
						lines[strings.TrimPrefix(rest, ".")] = l
					}
				}
				out = append(out, compliance.Manifest{Object: im, File: name, Line: c.lines[prefix], Lines: lines})
			}
			continue
		}
		out = append(out, compliance.Manifest{Object: obj, File: name, Line: doc.Line, Lines: c.lines})
	}
	return out, nil
}

type converter struct {
	lines   map[string]int
	aliases int
}

func (c *converter) value(n *yaml.Node, path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	if path != "" {
		if _, seen := c.lines[path]; !seen {
			c.lines[path] = n.Line
		}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return c.value(n.Content[0], path, depth+1)
	case yaml.AliasNode:
		if c.aliases++; c.aliases > maxAliasExpansion {
			return nil, fmt.Errorf("line %d: more than %d alias expansions", n.Line, maxAliasExpansion)
		}
		return c.value(n.Alias, path, depth+1)
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
				merged, err := c.value(v, path, depth+1)
				if err != nil {
					return nil, err
				}
				if mm, ok := merged.(map[string]any); ok {
					for mk, mv := range mm {
						if _, set := out[mk]; !set {
							out[mk] = mv
						}
					}
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: only scalar mapping keys are supported", k.Line)
			}
			kp := childPath(path, k.Value)
			if _, seen := c.lines[kp]; !seen {
				c.lines[kp] = k.Line // evidence points at the key's line
			}
			val, err := c.value(v, kp, depth+1)
			if err != nil {
				return nil, err
			}
			out[k.Value] = val
		}
		return out, nil
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, el := range n.Content {
			v, err := c.value(el, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.ScalarNode:
		return scalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// scalar resolves a scalar as YAML 1.2 / JSON would; timestamps and binary
// stay strings, as Kubernetes reads them.
func scalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return n.Value, nil // beyond int64: keep the text
		}
		return i, nil
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return n.Value, nil // .nan, .inf: keep the text, JSON has no such number
		}
		return f, nil
	}
	return n.Value, nil
}

func childPath(parent, key string) string {
	simple := key != ""
	for _, r := range key {
		if !(r == '_' || r == '-' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			simple = false
			break
		}
	}
	if !simple {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}
