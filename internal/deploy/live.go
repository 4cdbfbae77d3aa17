package deploy

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Live reads objects from the cluster.
type Live struct {
	dyn    dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// DefaultNamespace is used for namespaced objects that name none.
	DefaultNamespace string
}

// NewLive returns a reader of live objects.
func NewLive(rc *rest.Config, defaultNamespace string) (*Live, error) {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	if defaultNamespace == "" {
		defaultNamespace = "default"
	}
	return &Live{dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)), DefaultNamespace: defaultNamespace}, nil
}

// mapping resolves an object's resource, retrying once with fresh discovery.
func (l *Live) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		l.mapper.Reset()
		m, err = l.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("resource for %s: %w", gvk, err)
	}
	return m, nil
}

// Resolve fills in the namespace of a namespaced object that names none (and
// clears it on cluster-scoped ones) and returns its resource.
func (l *Live) Resolve(u *unstructured.Unstructured) (schema.GroupVersionResource, error) {
	m, err := l.mapping(u.GroupVersionKind())
	if err != nil {
		return schema.GroupVersionResource{}, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if u.GetNamespace() == "" {
			u.SetNamespace(l.DefaultNamespace)
		}
	} else {
		u.SetNamespace("")
	}
	return m.Resource, nil
}

// Get returns the live object for u (nil when it does not exist).
func (l *Live) Get(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, schema.GroupVersionResource, error) {
	gvr, err := l.Resolve(u)
	if err != nil {
		return nil, gvr, err
	}
	var ri dynamic.ResourceInterface = l.dyn.Resource(gvr)
	if ns := u.GetNamespace(); ns != "" {
		ri = l.dyn.Resource(gvr).Namespace(ns)
	}
	got, err := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, gvr, nil
	}
	if err != nil {
		return nil, gvr, fmt.Errorf("get %s: %w", refOf(u), err)
	}
	return got, gvr, nil
}
