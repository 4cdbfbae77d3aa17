// Command automation measures the parts of `vigil install`, `diff` and drift
// checks that run in vigil itself: rendering the embedded chart, parsing
// manifest streams, comparing desired with live objects, and finding blame
// in a log store holding many audit events.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"vigil/internal/audit"
	"vigil/internal/deploy"
	"vigil/internal/store/logs"
)

func main() {
	objects := flag.Int("objects", 2000, "objects in the manifest and compare runs")
	events := flag.Int("audit-events", 200_000, "audit events in the store for the blame query")
	flag.Parse()
	if err := run(*objects, *events); err != nil {
		fmt.Fprintln(os.Stderr, "automation bench:", err)
		os.Exit(1)
	}
}

func run(nObjects, nEvents int) error {
	ctx := context.Background()
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "what\tcount\ttotal\tper item\tthroughput\t")
	row := func(what string, n int, d time.Duration, thr string) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t\n", what, n, d.Round(time.Microsecond), (d / time.Duration(max(n, 1))).Round(time.Microsecond/10), thr)
	}

	ch, err := deploy.LoadChart("")
	if err != nil {
		return err
	}
	const renders = 20
	start := time.Now()
	var manifest string
	for range renders {
		if manifest, err = deploy.Template(ctx, ch, nil, "vigil", "vigil"); err != nil {
			return err
		}
	}
	row("render embedded chart (helm template)", renders, time.Since(start), fmt.Sprintf("%.0f renders/s", renders/time.Since(start).Seconds()))

	objs, err := deploy.ParseManifests([]byte(manifest))
	if err != nil {
		return err
	}
	var sts map[string]any
	for _, o := range objs {
		if o.GetKind() == "StatefulSet" {
			sts = o.Object
		}
	}
	var stream strings.Builder
	for i := 0; stream.Len() == 0 || i < nObjects; i++ {
		stream.WriteString(manifest)
		stream.WriteString("\n---\n")
		i += len(objs) - 1
	}
	data := []byte(stream.String())
	start = time.Now()
	parsed, err := deploy.ParseManifests(data)
	if err != nil {
		return err
	}
	d := time.Since(start)
	row("parse manifest stream", len(parsed), d, fmt.Sprintf("%.1f MB/s", float64(len(data))/1e6/d.Seconds()))

	// A live object: the desired one plus what the API server adds, one field drifted.
	b, _ := json.Marshal(sts)
	var live map[string]any
	_ = json.Unmarshal(b, &live)
	live["status"] = map[string]any{"replicas": 2, "readyReplicas": 2}
	md := live["metadata"].(map[string]any)
	md["managedFields"] = []any{map[string]any{"manager": "helm"}, map[string]any{"manager": "kubectl"}}
	md["resourceVersion"], md["uid"] = "12345", "0b6f0a9e"
	live["spec"].(map[string]any)["replicas"] = 2
	live["spec"].(map[string]any)["revisionHistoryLimit"] = 10
	start = time.Now()
	changes := 0
	for range nObjects {
		changes += len(deploy.CompareDesired(sts, live))
	}
	d = time.Since(start)
	if changes != nObjects {
		return fmt.Errorf("compare found %d changes in %d objects, want one each", changes, nObjects)
	}
	row("compare desired/live StatefulSet", nObjects, d, fmt.Sprintf("%.0f objects/s", float64(nObjects)/d.Seconds()))

	// Blame: one change among many audit events of other objects.
	dir, err := os.MkdirTemp("", "vigil-bench-automation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := logs.OpenEmbedded(logs.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()
	start = time.Now()
	const batch = 2000
	for i := 0; i < nEvents; i += batch {
		var items []string
		for j := i; j < min(i+batch, nEvents); j++ {
			name, user, sub := fmt.Sprintf("app-%d", j%500), fmt.Sprintf("user-%d", j%37), ""
			if j == nEvents/2 {
				name, user, sub = "vigil-server", "alice", "scale"
			}
			items = append(items, fmt.Sprintf(`{"auditID":"%d","stage":"ResponseComplete","verb":"patch","user":{"username":%q},"sourceIPs":["10.0.0.%d"],"userAgent":"kubectl/v1.37.2","objectRef":{"resource":"statefulsets","subresource":%q,"namespace":"vigil","name":%q,"apiGroup":"apps"},"responseStatus":{"code":200},"requestReceivedTimestamp":%q,"stageTimestamp":%q}`,
				j, user, j%250, sub, name, now.Add(-time.Duration(nEvents-j)*time.Millisecond).Format(time.RFC3339Nano), now.Format(time.RFC3339Nano)))
		}
		recs, err := audit.Parse([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.Join(items, ",") + `]}`))
		if err != nil {
			return err
		}
		if err := st.Write(ctx, recs); err != nil {
			return err
		}
	}
	st.Flush()
	row("ingest audit events (parse + store)", nEvents, time.Since(start), fmt.Sprintf("%.0f events/s", float64(nEvents)/time.Since(start).Seconds()))
	it := deploy.Item{ObjectRef: deploy.ObjectRef{Kind: "StatefulSet", Namespace: "vigil", Name: "vigil-server"}, Resource: "statefulsets"}
	const queries = 20
	start = time.Now()
	for range queries {
		bl, err := deploy.FindBlame(ctx, st, it, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if bl == nil || bl.User != "alice" {
			return fmt.Errorf("blame found %+v, want alice", bl)
		}
	}
	row(fmt.Sprintf("blame query among %d audit events", nEvents), queries, time.Since(start), fmt.Sprintf("%.0f queries/s", queries/time.Since(start).Seconds()))

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(tw, "heap in use at the end\t\t%.1f MiB\t\t\t\n", float64(ms.HeapInuse)/(1<<20))
	return tw.Flush()
}
