package imagescan

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"vigil/internal/security/inventory"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vulndb"
	"vigil/internal/store/state"
)

func digestN(n int) string { return fmt.Sprintf("sha256:%064x", n) }

func pod(ns, name, image string, n int, pullSecret string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: image}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", ImageID: "docker-pullable://" + strings.Split(image, ":")[0] + "@" + digestN(n)}}},
	}
	if pullSecret != "" {
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	}
	return p
}

func countActions(cs *fake.Clientset, verb, resource string) int {
	n := 0
	for _, a := range cs.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func containerRows(t *testing.T, s *Scanner) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM vuln_containers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The scanner reads pods from the shared informer cache: the API is listed
// once (by the informer), never by the passes; an unsynced cache is not
// taken for an empty cluster; an unchanged listing is not written again;
// pull secrets are read once, not on every pass.
func TestListsPodsFromInformerCache(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := state.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	done := pod("ops", "job-1", "reg.example/ops/job:1", 9, "")
	done.Status.Phase = corev1.PodSucceeded
	cs := fake.NewClientset(
		pod("shop", "web-1", "reg.example/shop/app:1", 1, ""),
		pod("shop", "web-2", "reg.example/shop/app:1", 1, ""),
		pod("internal", "tools-0", "reg.example/private/app:1", 2, "regcred"),
		done,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "internal", Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
			Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"reg.example":{"username":"u","password":"p"}}}`)}},
	)
	f := informers.NewSharedInformerFactory(cs, 0)
	s, err := New(ctx, Options{DB: st.DB(), DBDir: t.TempDir(), Informers: f, Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ctx, Options{DB: st.DB(), DBDir: t.TempDir(), Informers: f}); err == nil {
		t.Error("informers without a client accepted")
	}
	if err := s.list(ctx); err != nil {
		t.Fatal(err)
	}
	if n := containerRows(t, s); n != 0 {
		t.Fatalf("%d containers stored before the cache synced", n)
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	for range 3 {
		if err := s.list(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := containerRows(t, s); n != 3 {
		t.Errorf("%d containers, want 3 (the finished pod skipped)", n)
	}
	if p, _ := s.Status(); p.Containers != 3 || p.LastListing.IsZero() {
		t.Errorf("progress %+v", p)
	}
	if n := countActions(cs, "list", "pods"); n != 1 {
		t.Errorf("pods listed %d times through the API, want once (the informer)", n)
	}
	if n := countActions(cs, "get", "secrets"); n != 1 {
		t.Errorf("pull secret read %d times, want once", n)
	}
	if kc := s.keychains[digestN(2)]; kc == nil {
		t.Error("no keychain for the image pulled with the pod's secret")
	}

	// An unchanged listing is not rewritten: rows removed behind its back stay removed.
	if _, err := s.db.Exec(`DELETE FROM vuln_containers WHERE pod = 'web-2'`); err != nil {
		t.Fatal(err)
	}
	if err := s.list(ctx); err != nil {
		t.Fatal(err)
	}
	if n := containerRows(t, s); n != 2 {
		t.Errorf("unchanged listing rewritten: %d rows", n)
	}
	// A new pod reaches the cache and the next pass stores the whole listing.
	if _, err := cs.CoreV1().Pods("shop").Create(ctx, pod("shop", "web-3", "reg.example/shop/app:2", 3, ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for containerRows(t, s) != 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if err := s.list(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := containerRows(t, s); n != 4 {
		t.Errorf("%d containers after a pod was added, want 4", n)
	}
	var pending int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM vuln_images WHERE status = 'pending'`).Scan(&pending); err != nil || pending != 3 {
		t.Errorf("%d pending images (%v), want 3 digests", pending, err)
	}
}

// ClusterScan lists the running images with their stored findings, once
// per package and advisory, named as the pods name them.
func TestClusterScanListing(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(ctx, Options{DB: st.DB(), DBDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a, b := digestN(1), digestN(2)
	cs := []container{
		{Namespace: "shop", Pod: "web-1", Container: "app", Kind: "Deployment", Workload: "web", Image: "reg.example/shop/app:1", Digest: a},
		{Namespace: "shop", Pod: "web-2", Container: "app", Kind: "Deployment", Workload: "web", Image: "reg.example/shop/app:1", Digest: a},
		{Namespace: "shop", Pod: "web-1", Container: "proxy", Kind: "Deployment", Workload: "web", Image: "nginx:1.27", Digest: b},
	}
	if err := replaceContainers(ctx, st.DB(), cs, map[string]string{a: "reg.example/shop/app@" + a, b: "nginx@" + b}); err != nil {
		t.Fatal(err)
	}
	rep := vuln.Build(&inventory.Inventory{}, vulndb.FromRecords(vulndb.Meta{}, nil), time.Now())
	// The same module in two binaries: two findings in the image report, one in the listing.
	rep.Findings = []vuln.Finding{
		{ID: "GO-1", Package: "golang.org/x/net", Version: "v0.1.0", Fixed: "0.2.0", Severity: "high", Score: 7.5, Path: "bin/a"},
		{ID: "GO-1", Package: "golang.org/x/net", Version: "v0.1.0", Fixed: "0.2.0", Severity: "high", Score: 7.5, Path: "bin/b"},
		{ID: "DEB-1", Package: "openssl", Version: "3.0.11-1", Severity: "critical"},
	}
	if err := saveReport(ctx, st.DB(), a, nil, rep, time.Now()); err != nil {
		t.Fatal(err)
	}
	scan, err := s.ClusterScan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Images) != 2 {
		t.Fatalf("images %+v", scan.Images)
	}
	byDigest := map[string]vuln.ClusterImage{}
	for _, im := range scan.Images {
		byDigest[im.Digest] = im
	}
	if im := byDigest[a]; !im.Scanned || im.Containers != 2 || im.Image != "reg.example/shop/app:1" || im.Repository != "reg.example/shop/app" {
		t.Errorf("scanned image %+v", im)
	}
	if im := byDigest[b]; im.Scanned || im.Status != "pending" || im.Repository != "index.docker.io/library/nginx" {
		t.Errorf("pending image %+v", im)
	}
	if len(scan.Findings) != 2 || scan.Findings[0].ID != "DEB-1" || scan.Findings[1].ID != "GO-1" || scan.Findings[1].Containers != 2 ||
		scan.Findings[1].Fixed != "0.2.0" || scan.Findings[1].Repository != "reg.example/shop/app" {
		t.Errorf("findings %+v", scan.Findings)
	}
	sum := vuln.Summarize(scan, 10)
	if sum.Scanned != 1 || sum.Images != 2 || sum.Containers != 3 || sum.Counts["critical"] != 1 || sum.Fixable != 1 {
		t.Errorf("summary %+v", sum)
	}
}

// BenchmarkListFromCache is one pass over 5,000 cached pods whose listing
// has not changed (the steady state): no API call, no table rewrite.
func BenchmarkListFromCache(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := state.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cs := fake.NewClientset()
	f := informers.NewSharedInformerFactory(cs, 0)
	inf := f.Core().V1().Pods().Informer()
	for i := range 5000 {
		if err := inf.GetStore().Add(pod(fmt.Sprintf("ns-%d", i%50), fmt.Sprintf("pod-%d", i), fmt.Sprintf("reg.example/app-%d:1", i%200), i%200, "")); err != nil {
			b.Fatal(err)
		}
	}
	s, err := New(ctx, Options{DB: st.DB(), DBDir: b.TempDir(), Informers: f, Client: cs})
	if err != nil {
		b.Fatal(err)
	}
	s.podsSynced = func() bool { return true } // the store was filled directly
	start := time.Now()
	if err := s.list(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("first pass (stores 5,000 containers): %v", time.Since(start).Round(time.Millisecond))
	b.ResetTimer()
	for b.Loop() {
		if err := s.list(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
