// Command cluster measures the server watching a large simulated cluster: a
// local control plane with kwok nodes and pods (test/cluster), `vigil server`
// connected to it, then the server's CPU and memory while it watches, and the
// latency of the cluster API pages (overview, map, resources, containers).
//
// Run from the repository root: go run ./bench/cmd/cluster (make bench).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"vigil/bench"
	"vigil/test/cluster"
)

func main() {
	vigil := flag.String("vigil", "bin/vigil", "vigil binary")
	nodes := flag.Int("nodes", 100, "kwok nodes")
	pods := flag.Int("pods", 3000, "pods (Deployments of -replicas each)")
	replicas := flag.Int("replicas", 20, "replicas per Deployment")
	namespaces := flag.Int("namespaces", 30, "namespaces the Deployments are spread over")
	watch := flag.Duration("watch", 60*time.Second, "how long the server's CPU is measured once the cluster is up")
	requests := flag.Int("requests", 100, "requests per API page for the latency figures")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()

	dir, err := os.MkdirTemp("", "vigil-bench-cluster-")
	if err != nil {
		fatal(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	var c *cluster.Cluster
	cleanup := func() {
		bench.KillAll()
		if c != nil {
			_ = c.Stop()
		}
		if !*keep {
			os.RemoveAll(dir)
		}
	}
	defer cleanup()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-ctx.Done(): // interrupted
			cleanup()
			os.Exit(1)
		case <-finished:
		}
	}()

	t0 := time.Now()
	c, err = cluster.Start(ctx, cluster.Options{Dir: filepath.Join(dir, "cluster")})
	if err != nil {
		fatal(err)
	}
	fmt.Printf("control plane up in %v\n", time.Since(t0).Round(time.Second))

	t0 = time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, *nodes)
	sem := make(chan struct{}, 8)
	for i := range *nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := c.CreateFakeNode(ctx, fmt.Sprintf("node-%03d", i), map[string]string{
				"topology.kubernetes.io/zone": fmt.Sprintf("zone-%c", 'a'+i%3), "topology.kubernetes.io/region": "bench-1"})
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		fatal(err)
	}
	fmt.Printf("%d nodes Ready in %v\n", *nodes, time.Since(t0).Round(time.Second))

	// The server starts before the pods, so it watches the whole build-up.
	srv, err := bench.StartServerArgs(ctx, *vigil, dir, "server", "--kubeconfig", c.Kubeconfig)
	if err != nil {
		fatal(err)
	}
	cs := c.Clientset()
	t0 = time.Now()
	deps := *pods / *replicas
	for i := range deps {
		ns := fmt.Sprintf("team-%02d", i%*namespaces)
		if i < *namespaces {
			if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				fatal(err)
			}
		}
		r := int32(*replicas)
		labels := map[string]string{"app": fmt.Sprintf("app-%03d", i)}
		res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: labels["app"], Namespace: ns},
			Spec: appsv1.DeploymentSpec{
				Replicas: &r,
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{
						Tolerations: []corev1.Toleration{cluster.KwokToleration},
						Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:1",
							Resources: corev1.ResourceRequirements{Requests: res, Limits: res}}},
					},
				},
			},
		}
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			fatal(err)
		}
	}
	want := deps * *replicas
	// vigil must count every pod the API holds; how fast kwok and the
	// controllers make them Running is the control plane's business.
	var o ov
	for {
		o = overview(ctx, srv)
		if o.Pods.Total >= want {
			break
		}
		if time.Since(t0) > 30*time.Minute {
			fatal(fmt.Errorf("vigil counts %d of %d pods after 30 min", o.Pods.Total, want))
		}
		time.Sleep(2 * time.Second)
	}
	buildUp := time.Since(t0)
	fmt.Printf("%d pods created (%d Running) as vigil's overview counts them, %v after the first Deployment\n",
		o.Pods.Total, o.Pods.ByPhase["Running"], buildUp.Round(time.Second))
	u0, err := srv.Usage()
	if err != nil {
		fatal(err)
	}

	// Steady watching: informers, kube-state series every 15 s, event records.
	time.Sleep(*watch)
	u1, err := srv.Usage()
	if err != nil {
		fatal(err)
	}

	type lat struct {
		page          string
		p50, p95, max time.Duration
		bytes         int
	}
	var lats []lat
	for _, page := range []string{"/api/cluster/overview", "/api/cluster/map", "/api/cluster/resources", "/api/cluster/containers", "/api/events"} {
		var params url.Values
		if page == "/api/events" {
			params = url.Values{"range": {"1h"}, "limit": {"300"}}
		}
		var ds []time.Duration
		size := 0
		for range *requests {
			s := time.Now()
			b, err := srv.Get(ctx, page, params)
			if err != nil {
				fatal(err)
			}
			ds = append(ds, time.Since(s))
			size = len(b)
		}
		slices.Sort(ds)
		lats = append(lats, lat{page, ds[len(ds)/2], ds[len(ds)*95/100], ds[len(ds)-1], size})
	}
	u2, _ := srv.Usage()

	fmt.Printf("\n== server watching %d nodes, %d pods, %d Deployments in %d namespaces\n", *nodes, want, deps, *namespaces)
	fmt.Printf("%-44s %12s\n", "CPU during build-up (CPU-s / wall s)", fmt.Sprintf("%.1f / %.0f", u0.CPU, buildUp.Seconds()))
	fmt.Printf("%-44s %11.1f%%\n", fmt.Sprintf("CPU while watching (%v), of one core", *watch), 100*(u1.CPU-u0.CPU)/watch.Seconds())
	fmt.Printf("%-44s %9.1f MiB\n", "RSS after watching", mib(u1.RSS))
	fmt.Printf("%-44s %9.1f MiB\n", "  of it anonymous (heap, stacks)", mib(u1.RSSAnon))
	fmt.Printf("%-44s %9.1f MiB\n", "peak RSS (incl. API requests)", mib(u2.PeakRSS))
	fmt.Printf("\n%-34s %9s %9s %9s %10s   (%d requests each, sequential; target p95 < 300 ms for the overview)\n", "page", "p50", "p95", "max", "body", *requests)
	for _, l := range lats {
		fmt.Printf("%-34s %9s %9s %9s %8.0fkB\n", l.page, ms(l.p50), ms(l.p95), ms(l.max), float64(l.bytes)/1024)
	}
}

type ov struct {
	Pods struct {
		Total   int
		ByPhase map[string]int
	}
}

func overview(ctx context.Context, s *bench.Server) ov {
	var o ov
	b, err := s.Get(ctx, "/api/cluster/overview", nil)
	if err != nil {
		fatal(err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		fatal(fmt.Errorf("overview: %w", err))
	}
	return o
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench cluster:", err)
	bench.KillAll()
	os.Exit(1)
}
