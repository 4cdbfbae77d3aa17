package processes

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestPodIndexMatchesStatusContainerIDs(t *testing.T) {
	other := "9f" + cid[2:]
	cs := fake.NewClientset(&corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: uid},
		Spec:       corev1.PodSpec{NodeName: "n1"},
		Status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{{Name: "init", ContainerID: "containerd://" + other}},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "web", ContainerID: "containerd://" + cid}, {Name: "waiting"}},
		},
	})
	x, err := newPodIndex(cs, "n1")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	x.Start(ctx)
	defer x.Shutdown()
	if !x.WaitSynced(ctx) {
		t.Fatal("not synced")
	}
	for _, tc := range []struct {
		id, pod string
		want    Owner
		ok      bool
	}{
		{cid, "", Owner{ContainerID: cid, Namespace: "shop", Pod: "web-1", Container: "web"}, true},
		{other, uid, Owner{ContainerID: other, Namespace: "shop", Pod: "web-1", Container: "init"}, true},
		// A container not (yet) in the status: the pod is still known from the cgroup's pod UID.
		{"ab" + cid[2:], uid, Owner{ContainerID: "ab" + cid[2:], Namespace: "shop", Pod: "web-1"}, true},
		{"ab" + cid[2:], "", Owner{}, false},
		{"", "", Owner{}, false},
	} {
		got, ok := x.Lookup(tc.id, tc.pod)
		if ok != tc.ok || got != tc.want {
			t.Errorf("Lookup(%.8s, %q) = %+v, %v; want %+v, %v", tc.id, tc.pod, got, ok, tc.want, tc.ok)
		}
	}
}
