package events

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
)

// Cursor persists how far the watcher got, so a restart does not record the
// cluster's retained events a second time.
type Cursor interface {
	GetSetting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
}

const cursorKey = "events.kubernetes.last"

// KubeWatcher records Kubernetes events and object changes.
type KubeWatcher struct {
	store  *Store
	cursor Cursor
	log    *slog.Logger

	active atomic.Bool // recording only while Run runs (the leader's)

	mu    sync.Mutex
	after time.Time // events not newer than this were recorded before a restart
	last  time.Time // newest event time recorded
	queue []Event
	kick  chan struct{}
}

// NewKubeWatcher registers event handlers on the shared informer factories
// (meta may be nil: then config maps and secrets are not followed). Call it
// before the factories start.
func NewKubeWatcher(store *Store, f informers.SharedInformerFactory, meta metadatainformer.SharedInformerFactory, cursor Cursor, log *slog.Logger) (*KubeWatcher, error) {
	w := &KubeWatcher{store: store, cursor: cursor, log: log, kick: make(chan struct{}, 1)}
	w.active.Store(true)
	if v, err := cursor.GetSetting(context.Background(), cursorKey); err == nil && v != "" {
		w.after, _ = time.Parse(time.RFC3339Nano, v)
	}
	reg := func(inf cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("event handler: %w", err)
		}
		return nil
	}
	evh := cache.ResourceEventHandlerDetailedFuncs{
		AddFunc:    func(obj any, _ bool) { w.kubeEvent(obj) },
		UpdateFunc: func(_, obj any) { w.kubeEvent(obj) },
	}
	if err := reg(f.Core().V1().Events().Informer(), evh); err != nil {
		return nil, err
	}
	changes := []struct {
		inf  cache.SharedIndexInformer
		kind string
		diff func(old, cur any) string
	}{
		{f.Core().V1().Pods().Informer(), "Pod", nil},
		{f.Apps().V1().Deployments().Informer(), "Deployment", scaleDiff},
		{f.Apps().V1().StatefulSets().Informer(), "StatefulSet", scaleDiff},
		{f.Apps().V1().DaemonSets().Informer(), "DaemonSet", nil},
		{f.Core().V1().Services().Informer(), "Service", generationDiff},
		{f.Core().V1().Namespaces().Informer(), "Namespace", nil},
	}
	if meta != nil {
		changes = append(changes,
			struct {
				inf  cache.SharedIndexInformer
				kind string
				diff func(old, cur any) string
			}{meta.ForResource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Informer(), "ConfigMap", versionDiff},
			struct {
				inf  cache.SharedIndexInformer
				kind string
				diff func(old, cur any) string
			}{meta.ForResource(schema.GroupVersionResource{Version: "v1", Resource: "secrets"}).Informer(), "Secret", versionDiff},
		)
	}
	for _, c := range changes {
		if err := reg(c.inf, w.changeHandler(c.kind, c.diff)); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// kubeEvent turns a Kubernetes Event into ours. Updates (a repeated event's
// count going up) are recorded again with the new count and time.
func (w *KubeWatcher) kubeEvent(obj any) {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return
	}
	t := eventTime(ev)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !t.After(w.after) {
		return
	}
	count := int(ev.Count)
	if ev.Series != nil && int(ev.Series.Count) > count {
		count = int(ev.Series.Count)
	}
	node := ev.Source.Host
	if node == "" && ev.InvolvedObject.Kind == "Node" {
		node = ev.InvolvedObject.Name
	}
	ns := ev.InvolvedObject.Namespace
	if ns == "" {
		ns = ev.Namespace
	}
	w.enqueueLocked(Event{
		Time: t, Type: ev.Type, Source: "kubernetes", Reason: ev.Reason, Message: ev.Message,
		Namespace: ns, Kind: ev.InvolvedObject.Kind, Name: ev.InvolvedObject.Name,
		Node: node, Count: count,
		Tags: map[string]string{"component": firstNonEmpty(ev.Source.Component, ev.ReportingController)},
	})
}

func eventTime(ev *corev1.Event) time.Time {
	switch {
	case ev.Series != nil && !ev.Series.LastObservedTime.IsZero():
		return ev.Series.LastObservedTime.Time
	case !ev.LastTimestamp.IsZero():
		return ev.LastTimestamp.Time
	case !ev.EventTime.IsZero():
		return ev.EventTime.Time
	}
	return ev.CreationTimestamp.Time
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// changeHandler records creations, deletions and (when diff says what
// changed) updates. The informers' initial listing is not a change.
func (w *KubeWatcher) changeHandler(kind string, diff func(old, cur any) string) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerDetailedFuncs{
		AddFunc: func(obj any, initial bool) {
			if initial {
				return
			}
			if m, ok := meta(obj); ok {
				w.change(kind, m, Normal, "Created", fmt.Sprintf("%s %s created", kind, m.GetName()))
			}
		},
		UpdateFunc: func(old, cur any) {
			if diff == nil {
				return
			}
			if msg := diff(old, cur); msg != "" {
				if m, ok := meta(cur); ok {
					w.change(kind, m, Normal, "Updated", fmt.Sprintf("%s %s %s", kind, m.GetName(), msg))
				}
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if m, ok := meta(obj); ok {
				w.change(kind, m, Normal, "Deleted", fmt.Sprintf("%s %s deleted", kind, m.GetName()))
			}
		},
	}
}

func meta(obj any) (metav1.Object, bool) {
	m, ok := obj.(metav1.Object)
	return m, ok
}

func (w *KubeWatcher) change(kind string, m metav1.Object, typ, reason, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := Event{Time: time.Now(), Type: typ, Source: "vigil/changes", Reason: reason, Message: msg,
		Namespace: m.GetNamespace(), Kind: kind, Name: m.GetName()}
	if kind == "Namespace" {
		e.Namespace = m.GetName()
	}
	w.enqueueLocked(e)
}

// scaleDiff reports replica changes of Deployments and StatefulSets.
func scaleDiff(old, cur any) string {
	var a, b *int32
	switch o := old.(type) {
	case *appsv1.Deployment:
		if c, ok := cur.(*appsv1.Deployment); ok {
			a, b = o.Spec.Replicas, c.Spec.Replicas
		}
	case *appsv1.StatefulSet:
		if c, ok := cur.(*appsv1.StatefulSet); ok {
			a, b = o.Spec.Replicas, c.Spec.Replicas
		}
	}
	if msg := generationDiff(old, cur); msg != "" {
		if a != nil && b != nil && *a != *b {
			return fmt.Sprintf("scaled from %d to %d replicas", *a, *b)
		}
		return msg
	}
	return ""
}

// generationDiff reports spec changes (metadata.generation goes up).
func generationDiff(old, cur any) string {
	a, ok1 := meta(old)
	b, ok2 := meta(cur)
	if ok1 && ok2 && b.GetGeneration() != a.GetGeneration() && b.GetGeneration() > 0 {
		return "spec changed"
	}
	return ""
}

// versionDiff reports any change of an object known only by its metadata
// (config maps and secrets: their contents are never read).
func versionDiff(old, cur any) string {
	a, ok1 := meta(old)
	b, ok2 := meta(cur)
	if ok1 && ok2 && a.GetResourceVersion() != b.GetResourceVersion() {
		return "changed"
	}
	return ""
}

func (w *KubeWatcher) enqueueLocked(e Event) {
	if !w.active.Load() {
		return // another replica leads and records
	}
	if len(w.queue) >= 100_000 {
		// The store is far behind: keep the newest, say so once per batch.
		w.queue = w.queue[1:]
	}
	w.queue = append(w.queue, e)
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Standby stops recording until Run is called: replicas that do not lead
// leave recording to the one that does.
func (w *KubeWatcher) Standby() { w.active.Store(false) }

// Run writes queued events in batches until ctx ends, then writes what is left.
func (w *KubeWatcher) Run(ctx context.Context) error {
	w.active.Store(true)
	defer w.active.Store(false)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.flush(context.Background())
			return nil
		case <-w.kick:
		case <-t.C:
		}
		w.flush(ctx)
	}
}

func (w *KubeWatcher) flush(ctx context.Context) {
	w.mu.Lock()
	batch := w.queue
	w.queue = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := w.store.Record(ctx, batch...); err != nil {
		w.log.Warn("recording events failed; retrying", "events", len(batch), "err", err)
		w.mu.Lock()
		w.queue = append(batch, w.queue...)
		w.mu.Unlock()
		return
	}
	var newest time.Time
	for _, e := range batch {
		if e.Source == "kubernetes" && e.Time.After(newest) {
			newest = e.Time
		}
	}
	if newest.After(w.last) {
		w.last = newest
		if err := w.cursor.SetSetting(ctx, cursorKey, newest.Format(time.RFC3339Nano)); err != nil {
			w.log.Warn("saving the events cursor failed", "err", err)
		}
	}
}
