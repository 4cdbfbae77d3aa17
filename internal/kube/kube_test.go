package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWorkloadFoldsReplicaSetIntoDeployment(t *testing.T) {
	yes := true
	pod := func(kind, name, hash string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{}}}
		if hash != "" {
			p.Labels["pod-template-hash"] = hash
		}
		if kind != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
		}
		return p
	}
	cases := []struct {
		p          *corev1.Pod
		name, kind string
	}{
		{pod("ReplicaSet", "web-f898b7587", "f898b7587"), "web", "Deployment"},
		{pod("ReplicaSet", "standalone", ""), "standalone", "ReplicaSet"},
		{pod("StatefulSet", "db", ""), "db", "StatefulSet"},
		{pod("", "", ""), "", ""},
	}
	for _, c := range cases {
		if n, k := Workload(c.p); n != c.name || k != c.kind {
			t.Errorf("Workload = %q %q, want %q %q", n, k, c.name, c.kind)
		}
	}
}
