package compliance

import (
	"fmt"
	"strings"
)

// Manifest is a Kubernetes object as decoded from YAML or JSON or converted
// from a live object, with where it came from.
type Manifest struct {
	Object map[string]any
	File   string
	Line   int
	Lines  map[string]int // field path → line, for evidence in files
}

// podSpecPaths: where each workload kind keeps its pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// IsWorkloadKind tells whether kind carries a pod spec vigil evaluates.
func IsWorkloadKind(kind string) bool { _, ok := podSpecPaths[kind]; return ok }

// KubeObjects turns manifests into evaluation inputs. The set is evaluated
// as a whole: cluster-admin bindings and network policies among them give
// the context that workload and namespace controls need. Objects owned by
// another workload (a Deployment's ReplicaSets and pods) are left out, as
// their owner is evaluated; kinds no control targets are skipped.
func KubeObjects(ms []Manifest) ([]Object, error) {
	adminSA := map[string]string{} // "ns/name" → binding
	netpols := map[string]int{}
	for _, m := range ms {
		kind, _ := m.Object["kind"].(string)
		meta, _ := m.Object["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		switch kind {
		case "NetworkPolicy":
			netpols[nsOrDefault(ns)]++
		case "ClusterRoleBinding", "RoleBinding":
			ref, _ := m.Object["roleRef"].(map[string]any)
			if ref["kind"] != "ClusterRole" || ref["name"] != "cluster-admin" {
				continue
			}
			bname, _ := meta["name"].(string)
			subs, _ := m.Object["subjects"].([]any)
			for _, s := range subs {
				sm, _ := s.(map[string]any)
				if sm["kind"] != "ServiceAccount" {
					continue
				}
				sns, _ := sm["namespace"].(string)
				if sns == "" {
					sns = ns
				}
				name, _ := sm["name"].(string)
				adminSA[nsOrDefault(sns)+"/"+name] = strings.ToLower(kind) + "/" + bname
			}
		}
	}
	objs := make([]Object, len(ms))
	keep := make([]bool, len(ms))
	err := parallel(len(ms), func(i int) error {
		var err error
		objs[i], keep[i], err = kubeObject(ms[i], adminSA, netpols)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := objs[:0]
	for i := range objs {
		if keep[i] {
			out = append(out, objs[i])
		}
	}
	return out, nil
}

func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

func kubeObject(m Manifest, adminSA map[string]string, netpols map[string]int) (Object, bool, error) {
	kind, _ := m.Object["kind"].(string)
	meta, _ := m.Object["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	slim := map[string]any{}
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		if v, ok := meta[k]; ok {
			slim[k] = v
		}
	}
	in := map[string]any{"kind": kind, "metadata": slim}
	var target string
	switch {
	case IsWorkloadKind(kind):
		if ownedByWorkload(meta) {
			return Object{}, false, nil
		}
		target = TargetWorkload
		p := podSpecPaths[kind]
		spec, ok := dig(m.Object, p)
		if !ok {
			return Object{}, false, nil // e.g. a list item without a spec; nothing to judge
		}
		in["spec"] = spec
		in["specPath"] = strings.Join(p, ".")
		in["containers"] = containerInputs(spec, in["specPath"].(string))
		sa, _ := spec["serviceAccountName"].(string)
		if sa == "" {
			sa = "default"
		}
		ctx := map[string]any{"clusterAdminServiceAccount": false}
		if b, ok := adminSA[nsOrDefault(ns)+"/"+sa]; ok {
			ctx["clusterAdminServiceAccount"] = true
			ctx["clusterAdminBinding"] = b
		}
		in["context"] = ctx
	case kind == "ClusterRoleBinding" || kind == "RoleBinding":
		target = TargetBinding
		in["object"] = m.Object
	case kind == "ClusterRole" || kind == "Role":
		target = TargetRole
		in["object"] = m.Object
	case kind == "Namespace":
		target = TargetNamespace
		in["context"] = map[string]any{"networkPolicies": netpols[name]}
	case kind == "ServiceAccount":
		target = TargetServiceAccount
		in["object"] = m.Object
	default:
		return Object{}, false, nil
	}
	o, err := NewObject(target, kind, ns, name, in)
	if err != nil {
		return Object{}, false, err
	}
	o.File, o.Line, o.Lines = m.File, m.Line, m.Lines
	return o, true, nil
}

// containerInputs lists a pod spec's containers with their field path and
// effective security context (the pod's settings overlaid by the
// container's), worked out here once instead of in every control.
func containerInputs(spec map[string]any, specPath string) []any {
	podSC, _ := spec["securityContext"].(map[string]any)
	var out []any
	for _, kind := range []string{"containers", "initContainers", "ephemeralContainers"} {
		list, _ := spec[kind].([]any)
		for i, c := range list {
			cm, ok := c.(map[string]any)
			if !ok {
				continue
			}
			sc := make(map[string]any, len(podSC)+4)
			for k, v := range podSC {
				sc[k] = v
			}
			if csc, ok := cm["securityContext"].(map[string]any); ok {
				for k, v := range csc {
					sc[k] = v
				}
			}
			out = append(out, map[string]any{"c": cm, "path": fmt.Sprintf("%s.%s[%d]", specPath, kind, i), "sc": sc, "app": kind == "containers"})
		}
	}
	if out == nil {
		out = []any{}
	}
	return out
}

func ownedByWorkload(meta map[string]any) bool {
	refs, _ := meta["ownerReferences"].([]any)
	for _, r := range refs {
		rm, _ := r.(map[string]any)
		kind, _ := rm["kind"].(string)
		if c, _ := rm["controller"].(bool); c && IsWorkloadKind(kind) {
			return true
		}
	}
	return false
}

func dig(obj map[string]any, path []string) (map[string]any, bool) {
	cur := obj
	for _, k := range path {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, false
		}
		cur = next
	}
	return cur, true
}

// NodeInput is what the agent reports about its node's kubelet.
type NodeInput struct {
	Node  string     `json:"node"`
	Files []NodeFile `json:"files"`
	// Kubelet holds the effective settings, each with where it was read
	// (Sources: "/var/lib/kubelet/config.yaml: authentication.anonymous.enabled").
	Kubelet KubeletSettings `json:"kubelet"`
}

// NodeFile is a file the CIS node section cares about.
type NodeFile struct {
	Role string `json:"role"` // kubelet-config, kubelet-kubeconfig, client-ca
	Path string `json:"path"`
	Mode uint32 `json:"mode"`
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
}

// KubeletSettings are the kubelet settings the controls check.
type KubeletSettings struct {
	AnonymousAuth     bool              `json:"anonymousAuth"`
	AuthorizationMode string            `json:"authorizationMode"`
	ClientCAFile      string            `json:"clientCAFile"`
	ReadOnlyPort      int               `json:"readOnlyPort"`
	Sources           map[string]string `json:"sources"`
}

// NodeObject converts a node report for evaluation.
func NodeObject(n NodeInput) (Object, error) {
	if n.Node == "" {
		return Object{}, fmt.Errorf("node report without a node name")
	}
	files := make([]any, 0, len(n.Files))
	for _, f := range n.Files {
		files = append(files, map[string]any{"role": f.Role, "path": f.Path, "mode": int(f.Mode & 0o7777), "uid": f.UID, "gid": f.GID})
	}
	src := map[string]any{}
	for _, k := range []string{"anonymousAuth", "authorizationMode", "clientCAFile", "readOnlyPort"} {
		s := n.Kubelet.Sources[k]
		if s == "" {
			s = "kubelet default"
		}
		src[k] = s
	}
	in := map[string]any{
		"kind": "Node", "metadata": map[string]any{"name": n.Node}, "files": files,
		"kubelet": map[string]any{"anonymousAuth": n.Kubelet.AnonymousAuth, "authorizationMode": n.Kubelet.AuthorizationMode,
			"clientCAFile": n.Kubelet.ClientCAFile, "readOnlyPort": n.Kubelet.ReadOnlyPort, "sources": src},
	}
	return NewObject(TargetNode, "Node", "", n.Node, in)
}
