package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"vigil/internal/version"
)

// UserAgentPrefix starts the user agent of every request vigil's installer
// makes, so that blame can tell vigil's rollouts from other people's changes.
const UserAgentPrefix = "vigil-deploy/"

// Managed-by label on the namespace `vigil install` creates (and uninstall removes).
const (
	NamespaceLabel      = "app.kubernetes.io/managed-by"
	NamespaceLabelValue = "vigil-install"
)

// Options select the cluster, release and chart.
type Options struct {
	Kubeconfig string // empty: $KUBECONFIG, ~/.kube/config or in-cluster
	Context    string
	Namespace  string // default "vigil"
	Release    string // default "vigil"
	ChartDir   string // empty: the chart embedded in the binary
	Timeout    time.Duration
	Log        *slog.Logger
}

// Client installs, upgrades, diffs and removes a release through the Helm SDK.
type Client struct {
	opts   Options
	getter *genericclioptions.ConfigFlags
	rest   *rest.Config
	cs     kubernetes.Interface
	mu     sync.Mutex
	cfgs   map[string]*action.Configuration
}

// NewClient connects to the cluster of opts.
func NewClient(o Options) (*Client, error) {
	if o.Namespace == "" {
		o.Namespace = "vigil"
	}
	if o.Release == "" {
		o.Release = "vigil"
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	g := genericclioptions.NewConfigFlags(false)
	if o.Kubeconfig != "" {
		g.KubeConfig = &o.Kubeconfig
	}
	if o.Context != "" {
		g.Context = &o.Context
	}
	g.Namespace = &o.Namespace
	g.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.UserAgent = UserAgentPrefix + version.Version
		c.QPS, c.Burst = 50, 100
		return c
	}
	rc, err := g.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Client{opts: o, getter: g, rest: rc, cs: cs, cfgs: map[string]*action.Configuration{}}, nil
}

// RESTConfig is the client's cluster configuration.
func (c *Client) RESTConfig() *rest.Config { return rest.CopyConfig(c.rest) }

// Options returns the client's options (defaults filled in).
func (c *Client) Options() Options { return c.opts }

// config returns Helm's action configuration for a namespace ("" = all).
func (c *Client) config(ns string) (*action.Configuration, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg, ok := c.cfgs[ns]; ok {
		return cfg, nil
	}
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(c.opts.Log.Handler()))
	if err := cfg.Init(c.getter, ns, "secret"); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	c.cfgs[ns] = cfg
	return cfg, nil
}

// Current returns the release's latest revision (nil when not installed).
func (c *Client) Current() (*release.Release, error) {
	cfg, err := c.config(c.opts.Namespace)
	if err != nil {
		return nil, err
	}
	r, err := cfg.Releases.Last(c.opts.Release)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", c.opts.Release, err)
	}
	return asRelease(r)
}

func asRelease(r any) (*release.Release, error) {
	rel, ok := r.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("unsupported release record %T", r)
	}
	return rel, nil
}

// ObjectChange is one object an install, upgrade or uninstall would touch.
type ObjectChange struct {
	ObjectRef
	// Action is "add", "change" or "remove".
	Action  string   `json:"action"`
	Changes []Change `json:"changes,omitempty"`
}

// Plan is what an install, upgrade or uninstall would do.
type Plan struct {
	Action       string         `json:"action"` // install, upgrade, uninstall
	Release      string         `json:"release"`
	Namespace    string         `json:"namespace"`
	Revision     int            `json:"revision"` // the current revision (0: not installed)
	FromChart    string         `json:"fromChart,omitempty"`
	ToChart      string         `json:"toChart,omitempty"`
	Values       []Change       `json:"values,omitempty"` // user-supplied values, masked
	Objects      []ObjectChange `json:"objects"`
	Unchanged    int            `json:"unchanged"`
	ExtraDeletes []ObjectRef    `json:"extraDeletes,omitempty"` // uninstall: data volumes, the namespace
}

// Empty says whether applying the plan would change nothing.
func (p *Plan) Empty() bool {
	return len(p.Objects) == 0 && len(p.ExtraDeletes) == 0 && len(p.Values) == 0
}

func chartName(ch *chart.Chart) string {
	if ch == nil || ch.Metadata == nil {
		return ""
	}
	return ch.Metadata.Name + "-" + ch.Metadata.Version
}

// render returns the release an install or upgrade of ch with vals would
// produce, without changing anything (lookups of existing secrets still work).
func (c *Client) render(ctx context.Context, ch *chart.Chart, vals map[string]any, current *release.Release, resetValues bool) (*release.Release, error) {
	cfg, err := c.config(c.opts.Namespace)
	if err != nil {
		return nil, err
	}
	var r any
	if current == nil {
		in := action.NewInstall(cfg)
		in.Namespace, in.ReleaseName = c.opts.Namespace, c.opts.Release
		in.DryRunStrategy = action.DryRunServer
		r, err = in.RunWithContext(ctx, ch, vals)
	} else {
		up := action.NewUpgrade(cfg)
		up.Namespace = c.opts.Namespace
		up.DryRunStrategy = action.DryRunServer
		up.ResetThenReuseValues = !resetValues
		r, err = up.RunWithContext(ctx, c.opts.Release, ch, vals)
	}
	if err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	return asRelease(r)
}

// PlanUpgrade computes what installing (when absent) or upgrading the release
// with ch and vals would change against the live cluster, field by field. Live
// drift shows up here too: the rollout puts drifted fields back.
func (c *Client) PlanUpgrade(ctx context.Context, ch *chart.Chart, vals map[string]any, resetValues bool) (*Plan, error) {
	current, err := c.Current()
	if err != nil {
		return nil, err
	}
	if current != nil && current.Info != nil && current.Info.Status.IsPending() {
		return nil, fmt.Errorf("release %s is %s: another operation is in progress", c.opts.Release, current.Info.Status)
	}
	if current != nil && current.Info != nil && current.Info.Status == "uninstalled" {
		current = nil
	}
	next, err := c.render(ctx, ch, vals, current, resetValues)
	if err != nil {
		return nil, err
	}
	p := &Plan{Action: "install", Release: c.opts.Release, Namespace: c.opts.Namespace, ToChart: chartName(next.Chart), Objects: []ObjectChange{}}
	var oldValues map[string]any
	if current != nil {
		p.Action, p.Revision, p.FromChart = "upgrade", current.Version, chartName(current.Chart)
		oldValues = current.Config
	}
	p.Values = CompareAll(MaskValues(mapOrEmpty(oldValues)), MaskValues(mapOrEmpty(next.Config)))
	desired, err := ParseManifests([]byte(next.Manifest))
	if err != nil {
		return nil, fmt.Errorf("rendered manifest: %w", err)
	}
	live, err := NewLive(c.rest, c.opts.Namespace)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, d := range desired {
		got, _, err := live.Get(ctx, d)
		if err != nil {
			return nil, err
		}
		ref := refOf(d)
		seen[ref.key()] = true
		switch {
		case got == nil:
			p.Objects = append(p.Objects, ObjectChange{ObjectRef: ref, Action: "add"})
		default:
			if cs := CompareDesired(d.Object, got.Object); len(cs) > 0 {
				p.Objects = append(p.Objects, ObjectChange{ObjectRef: ref, Action: "change", Changes: maskSecretChanges(ref, cs)})
			} else {
				p.Unchanged++
			}
		}
	}
	if current != nil {
		old, err := ParseManifests([]byte(current.Manifest))
		if err != nil {
			return nil, fmt.Errorf("current release manifest: %w", err)
		}
		for _, o := range old {
			if _, err := live.Resolve(o); err != nil {
				return nil, err
			}
			if ref := refOf(o); !seen[ref.key()] {
				p.Objects = append(p.Objects, ObjectChange{ObjectRef: ref, Action: "remove"})
			}
		}
	}
	sortChanges(p.Objects)
	return p, nil
}

func mapOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func sortChanges(cs []ObjectChange) {
	order := map[string]int{"add": 0, "change": 1, "remove": 2}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].Action != cs[j].Action {
			return order[cs[i].Action] < order[cs[j].Action]
		}
		return cs[i].String() < cs[j].String()
	})
}

// PlanUninstall lists what uninstalling the release removes: its objects, the
// server's data volumes (unless keepData) and the namespace when `vigil install`
// created it.
func (c *Client) PlanUninstall(ctx context.Context, keepData bool) (*Plan, error) {
	current, err := c.Current()
	if err != nil {
		return nil, err
	}
	if current == nil {
		return nil, fmt.Errorf("release %s is not installed in namespace %s", c.opts.Release, c.opts.Namespace)
	}
	p := &Plan{Action: "uninstall", Release: c.opts.Release, Namespace: c.opts.Namespace, Revision: current.Version, FromChart: chartName(current.Chart), Objects: []ObjectChange{}}
	objs, err := ParseManifests([]byte(current.Manifest))
	if err != nil {
		return nil, fmt.Errorf("release manifest: %w", err)
	}
	live, err := NewLive(c.rest, c.opts.Namespace)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if _, err := live.Resolve(o); err != nil {
			return nil, err
		}
		p.Objects = append(p.Objects, ObjectChange{ObjectRef: refOf(o), Action: "remove"})
	}
	sortChanges(p.Objects)
	if !keepData {
		pvcs, err := c.dataVolumes(ctx)
		if err != nil {
			return nil, err
		}
		for _, pvc := range pvcs {
			p.ExtraDeletes = append(p.ExtraDeletes, ObjectRef{APIVersion: "v1", Kind: "PersistentVolumeClaim", Namespace: pvc.Namespace, Name: pvc.Name})
		}
	}
	ns, err := c.cs.CoreV1().Namespaces().Get(ctx, c.opts.Namespace, metav1.GetOptions{})
	if err == nil && ns.Labels[NamespaceLabel] == NamespaceLabelValue {
		p.ExtraDeletes = append(p.ExtraDeletes, ObjectRef{APIVersion: "v1", Kind: "Namespace", Name: ns.Name})
	}
	return p, nil
}

func (c *Client) selector(component string) string {
	s := "app.kubernetes.io/name=vigil,app.kubernetes.io/instance=" + c.opts.Release
	if component != "" {
		s += ",app.kubernetes.io/component=" + component
	}
	return s
}

// dataVolumes are the claims the server's StatefulSet made from its template;
// Helm does not own them, so uninstall deletes them itself.
func (c *Client) dataVolumes(ctx context.Context) ([]corev1.PersistentVolumeClaim, error) {
	l, err := c.cs.CoreV1().PersistentVolumeClaims(c.opts.Namespace).List(ctx, metav1.ListOptions{LabelSelector: c.selector("server")})
	if err != nil {
		return nil, fmt.Errorf("list data volumes: %w", err)
	}
	return l.Items, nil
}

// Apply installs or upgrades the release, waits until its workloads are
// healthy (reporting progress to w) and rolls back when they do not become so.
func (c *Client) Apply(ctx context.Context, ch *chart.Chart, vals map[string]any, resetValues bool, w io.Writer) (*release.Release, error) {
	current, err := c.Current()
	if err != nil {
		return nil, err
	}
	if current != nil && current.Info != nil && current.Info.Status == "uninstalled" {
		current = nil
	}
	if err := c.ensureNamespace(ctx); err != nil {
		return nil, err
	}
	cfg, err := c.config(c.opts.Namespace)
	if err != nil {
		return nil, err
	}
	stop := c.watchProgress(ctx, w)
	defer stop()
	var r any
	if current == nil {
		in := action.NewInstall(cfg)
		in.Namespace, in.ReleaseName = c.opts.Namespace, c.opts.Release
		in.WaitStrategy = kube.StatusWatcherStrategy
		in.Timeout = c.opts.Timeout
		in.RollbackOnFailure = true
		in.ForceConflicts = true // the plan showed what is taken back from other managers
		in.Description = "vigil install"
		r, err = in.RunWithContext(ctx, ch, vals)
	} else {
		up := action.NewUpgrade(cfg)
		up.Namespace = c.opts.Namespace
		up.WaitStrategy = kube.StatusWatcherStrategy
		up.Timeout = c.opts.Timeout
		up.RollbackOnFailure = true
		up.CleanupOnFail = true
		// Fields someone else took over (kubectl scale) are drift: the plan shows
		// them going back, so vigil's value wins.
		up.ForceConflicts = true
		up.ResetThenReuseValues = !resetValues
		up.Description = "vigil upgrade"
		r, err = up.RunWithContext(ctx, c.opts.Release, ch, vals)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", map[bool]string{true: "install", false: "upgrade"}[current == nil], c.opts.Release, err)
	}
	return asRelease(r)
}

func (c *Client) ensureNamespace(ctx context.Context) error {
	_, err := c.cs.CoreV1().Namespaces().Get(ctx, c.opts.Namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %s: %w", c.opts.Namespace, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.opts.Namespace, Labels: map[string]string{NamespaceLabel: NamespaceLabelValue}}}
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", c.opts.Namespace, err)
	}
	return nil
}

// Uninstall removes the release, waits for its objects to go, then deletes
// the extra objects of the plan (data volumes, the namespace it created).
func (c *Client) Uninstall(ctx context.Context, p *Plan, w io.Writer) error {
	cfg, err := c.config(c.opts.Namespace)
	if err != nil {
		return err
	}
	un := action.NewUninstall(cfg)
	un.WaitStrategy = kube.StatusWatcherStrategy
	un.Timeout = c.opts.Timeout
	un.DeletionPropagation = "foreground"
	un.Description = "vigil uninstall"
	if _, err := un.Run(c.opts.Release); err != nil {
		return fmt.Errorf("uninstall %s: %w", c.opts.Release, err)
	}
	fmt.Fprintf(w, "release %s uninstalled\n", c.opts.Release)
	for _, x := range p.ExtraDeletes {
		var err error
		switch x.Kind {
		case "PersistentVolumeClaim":
			err = c.cs.CoreV1().PersistentVolumeClaims(x.Namespace).Delete(ctx, x.Name, metav1.DeleteOptions{})
		case "Namespace":
			err = c.cs.CoreV1().Namespaces().Delete(ctx, x.Name, metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", x, err)
		}
		fmt.Fprintf(w, "deleted %s\n", x)
	}
	return nil
}

// Releases lists the latest revision of every release in namespace ns ("" = all
// namespaces the credentials may read).
func (c *Client) Releases(ns string) ([]*release.Release, error) {
	cfg, err := c.config(ns)
	if err != nil {
		return nil, err
	}
	l := action.NewList(cfg)
	l.AllNamespaces = ns == ""
	l.StateMask = action.ListAll
	rs, err := l.Run()
	if err != nil {
		return nil, fmt.Errorf("list releases: %w", err)
	}
	out := make([]*release.Release, 0, len(rs))
	for _, r := range rs {
		rel, err := asRelease(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// History returns every stored revision of a release, newest first.
func (c *Client) History(ns, name string) ([]*release.Release, error) {
	cfg, err := c.config(ns)
	if err != nil {
		return nil, err
	}
	rs, err := action.NewHistory(cfg).Run(name)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	out := make([]*release.Release, 0, len(rs))
	for _, r := range rs {
		rel, err := asRelease(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// ReleaseDrift checks a release's applied manifest against the live objects.
func ReleaseDrift(ctx context.Context, live *Live, rel *release.Release) (*Report, error) {
	objs, err := ParseManifests([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("manifest of release %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	live.DefaultNamespace = rel.Namespace
	r := Detect(ctx, live, "helm:"+rel.Namespace+"/"+rel.Name, objs)
	if rel.Info != nil {
		r.Since = rel.Info.LastDeployed
	}
	return r, nil
}

// watchProgress prints the readiness of the release's workloads every two
// seconds, when it changes, until the returned function is called.
func (c *Client) watchProgress(ctx context.Context, w io.Writer) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		last := ""
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s := c.progressLine(ctx)
			if s != "" && s != last {
				fmt.Fprintf(w, "  waiting: %s\n", s)
				last = s
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (c *Client) progressLine(ctx context.Context) string {
	var parts []string
	sel := metav1.ListOptions{LabelSelector: c.selector("")}
	if sts, err := c.cs.AppsV1().StatefulSets(c.opts.Namespace).List(ctx, sel); err == nil {
		for _, s := range sts.Items {
			want := int32(1)
			if s.Spec.Replicas != nil {
				want = *s.Spec.Replicas
			}
			parts = append(parts, fmt.Sprintf("statefulset/%s %d/%d ready", s.Name, s.Status.ReadyReplicas, want))
		}
	}
	if dss, err := c.cs.AppsV1().DaemonSets(c.opts.Namespace).List(ctx, sel); err == nil {
		for _, d := range dss.Items {
			parts = append(parts, fmt.Sprintf("daemonset/%s %d/%d ready", d.Name, d.Status.NumberReady, d.Status.DesiredNumberScheduled))
		}
	}
	if pvcs, err := c.dataVolumes(ctx); err == nil {
		for _, p := range pvcs {
			if p.Status.Phase != corev1.ClaimBound {
				parts = append(parts, fmt.Sprintf("pvc/%s %s", p.Name, p.Status.Phase))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// Agent is one node's agent pod.
type Agent struct {
	Node     string `json:"node"`
	Pod      string `json:"pod,omitempty"`
	Phase    string `json:"phase"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
	Healthy  bool   `json:"healthy"`
}

// Agents lists every node with the release's agent pod on it (or none).
func Agents(ctx context.Context, cs kubernetes.Interface, ns, releaseName string) ([]Agent, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=vigil,app.kubernetes.io/component=agent,app.kubernetes.io/instance=" + releaseName})
	if err != nil {
		return nil, fmt.Errorf("list agent pods: %w", err)
	}
	byNode := map[string]corev1.Pod{}
	for _, p := range pods.Items {
		if p.Spec.NodeName != "" {
			byNode[p.Spec.NodeName] = p
		}
	}
	out := make([]Agent, 0, len(nodes.Items))
	for _, n := range nodes.Items {
		a := Agent{Node: n.Name, Phase: "no agent"}
		if p, ok := byNode[n.Name]; ok {
			a.Pod, a.Phase = p.Name, string(p.Status.Phase)
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					a.Ready = true
				}
			}
			for _, st := range p.Status.ContainerStatuses {
				a.Restarts += st.RestartCount
			}
			a.Healthy = a.Ready && p.Status.Phase == corev1.PodRunning
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// WriteText prints the plan for people.
func (p *Plan) WriteText(w io.Writer) {
	switch p.Action {
	case "install":
		fmt.Fprintf(w, "Plan: install release %s in namespace %s (chart %s)\n", p.Release, p.Namespace, p.ToChart)
	case "upgrade":
		fmt.Fprintf(w, "Plan: upgrade release %s in namespace %s from revision %d (chart %s → %s)\n", p.Release, p.Namespace, p.Revision, p.FromChart, p.ToChart)
	case "uninstall":
		fmt.Fprintf(w, "Plan: uninstall release %s from namespace %s (revision %d, chart %s)\n", p.Release, p.Namespace, p.Revision, p.FromChart)
	}
	if len(p.Values) > 0 {
		fmt.Fprintln(w, "\nValues:")
		for _, c := range p.Values {
			fmt.Fprintf(w, "  ~ %s\n", c.BeforeAfter())
		}
	}
	n := map[string]int{}
	for _, o := range p.Objects {
		n[o.Action]++
	}
	fmt.Fprintf(w, "\nObjects: %d to add, %d to change, %d to remove, %d unchanged\n", n["add"], n["change"], n["remove"], p.Unchanged)
	sign := map[string]string{"add": "+", "change": "~", "remove": "-"}
	for _, o := range p.Objects {
		fmt.Fprintf(w, "  %s %s\n", sign[o.Action], o.ObjectRef)
		for _, c := range o.Changes {
			fmt.Fprintf(w, "      %s\n", c.Transition())
		}
	}
	for _, x := range p.ExtraDeletes {
		fmt.Fprintf(w, "  - %s\n", x)
	}
	if p.Empty() {
		fmt.Fprintln(w, "\nNo changes: the cluster matches the chart.")
	}
}
