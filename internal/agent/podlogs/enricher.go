package podlogs

// Meta is what the cluster knows about a pod beyond its log path.
type Meta struct {
	Labels       map[string]string
	Workload     string
	WorkloadKind string
	Node         string
	// Zone is the node's topology.kubernetes.io/zone label.
	Zone string
}

// Enricher looks up pod metadata by pod UID, typically from an informer
// cache. Lookup is called while batches are built, so it must be fast and
// must not block. A nil Enricher is allowed.
type Enricher interface {
	Lookup(podUID string) (Meta, bool)
}
