package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

const fieldManager = "vigil-test-cluster"

// decodeYAML splits a multi-document YAML (or JSON) stream into objects.
func decodeYAML(data []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// Apply server-side applies every object of a multi-document YAML stream.
// Objects without a namespace that belong to a namespaced resource go to
// "default". Kinds that the API server does not know yet (a CRD applied a
// moment ago) are retried until ctx ends.
func (c *Cluster) Apply(ctx context.Context, data []byte) error {
	objs, err := decodeYAML(data)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return c.applyObjects(ctx, objs)
}

// ApplyFile is Apply for the contents of a file.
func (c *Cluster) ApplyFile(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := c.Apply(ctx, data); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (c *Cluster) applyObjects(ctx context.Context, objs []*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	var mapper meta.RESTMapper
	refresh := func() error {
		groups, err := restmapper.GetAPIGroupResources(disc)
		if err != nil {
			return err
		}
		mapper = restmapper.NewDiscoveryRESTMapper(groups)
		return nil
	}
	if err := refresh(); err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		var mapping *meta.RESTMapping
		for {
			mapping, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err == nil {
				break
			}
			if !meta.IsNoMatchError(err) {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s %s: %w (%v)", gvk.Kind, obj.GetName(), err, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
			if err := refresh(); err != nil {
				return fmt.Errorf("discovery: %w", err)
			}
		}
		var ri dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			ri = dyn.Resource(mapping.Resource).Namespace(ns)
		}
		if _, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
	}
	return nil
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// waitCRDsEstablished waits until every named CRD reports Established.
func (c *Cluster) waitCRDsEstablished(ctx context.Context, names []string) error {
	dyn, err := dynamic.NewForConfig(c.RESTConfig())
	if err != nil {
		return err
	}
	for _, name := range names {
		for {
			u, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
			if err == nil && conditionTrue(u, "Established") {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not established: %w", name, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

func conditionTrue(u *unstructured.Unstructured, typ string) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ && m["status"] == "True" {
			return true
		}
	}
	return false
}
