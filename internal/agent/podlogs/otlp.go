package podlogs

import (
	"sort"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"vigil/internal/agent/podlogs/tailbase"
)

// Attribute keys. The k8s.* resource keys follow the OpenTelemetry semantic
// conventions; k8s.workload.name and k8s.pod.label.* are ours.
const (
	AttrNamespace    = "k8s.namespace.name"
	AttrPodName      = "k8s.pod.name"
	AttrPodUID       = "k8s.pod.uid"
	AttrContainer    = "k8s.container.name"
	AttrRestartCount = "k8s.container.restart_count"
	AttrNodeName     = "k8s.node.name"
	AttrWorkload     = "k8s.workload.name"
	AttrWorkloadKind = "k8s.workload.kind"
	AttrZone         = "cloud.availability_zone"
	AttrPodLabel     = "k8s.pod.label." // prefix

	AttrIOStream     = "log.iostream"
	AttrFilePath     = "log.file.path"
	AttrTruncated    = "log.truncated"
	AttrContinuation = "log.continuation"
	AttrPartial      = "log.partial"
	AttrMalformed    = "log.malformed"
)

const scopeName = "vigil/internal/agent/podlogs"

type resourceKey struct {
	ns, pod, uid, container string
	restart                 int
	hasRestart, ok          bool
	dir                     string // for paths outside the kubelet layout
}

func keyOf(r record) resourceKey {
	k := resourceKey{
		ns: r.ref.Namespace, pod: r.ref.Pod, uid: r.ref.UID, container: r.ref.Container,
		restart: r.ref.Restart, hasRestart: r.ref.HasRestart, ok: r.ref.OK,
	}
	if !r.ref.OK {
		k.dir = r.path
	}
	return k
}

// buildLogs groups records by container (restart) into resources.
func buildLogs(recs []record, node string, enricher Enricher) plog.Logs {
	ld := plog.NewLogs()
	scopes := make(map[resourceKey]plog.ScopeLogs)
	for _, r := range recs {
		k := keyOf(r)
		sl, ok := scopes[k]
		if !ok {
			rl := ld.ResourceLogs().AppendEmpty()
			fillResource(rl.Resource().Attributes(), r.ref, node, enricher)
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName(scopeName)
			scopes[k] = sl
		}
		lr := sl.LogRecords().AppendEmpty()
		if !r.time.IsZero() {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(r.time))
		}
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(r.observed))
		lr.Body().SetStr(tailbase.ValidText(r.body))
		a := lr.Attributes()
		if r.stream != "" {
			a.PutStr(AttrIOStream, r.stream)
		}
		a.PutStr(AttrFilePath, r.path)
		if r.truncated {
			a.PutBool(AttrTruncated, true)
		}
		if r.continuation {
			a.PutBool(AttrContinuation, true)
		}
		if r.partial {
			a.PutBool(AttrPartial, true)
		}
		if r.malformed {
			a.PutBool(AttrMalformed, true)
		}
	}
	return ld
}

func fillResource(a pcommon.Map, ref podRef, node string, enricher Enricher) {
	var meta Meta
	var found bool
	if enricher != nil && ref.OK {
		meta, found = enricher.Lookup(ref.UID)
	}
	if node == "" && found {
		node = meta.Node
	}
	if ref.OK {
		a.PutStr(AttrNamespace, ref.Namespace)
		a.PutStr(AttrPodName, ref.Pod)
		a.PutStr(AttrPodUID, ref.UID)
		a.PutStr(AttrContainer, ref.Container)
		if ref.HasRestart {
			a.PutInt(AttrRestartCount, int64(ref.Restart))
		}
	}
	if node != "" {
		a.PutStr(AttrNodeName, node)
	}
	if !found {
		return
	}
	if meta.Workload != "" {
		a.PutStr(AttrWorkload, meta.Workload)
	}
	if meta.WorkloadKind != "" {
		a.PutStr(AttrWorkloadKind, meta.WorkloadKind)
	}
	if meta.Zone != "" {
		a.PutStr(AttrZone, meta.Zone)
	}
	keys := make([]string, 0, len(meta.Labels))
	for k := range meta.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a.PutStr(AttrPodLabel+k, meta.Labels[k])
	}
}

// recordSize estimates a record's encoded size for batch bounding.
func recordSize(r record) int {
	return len(r.body) + len(r.path) + 64
}
