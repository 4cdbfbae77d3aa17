package podlogs

// Meta is what the cluster knows about a pod beyond its log path.
type Meta struct {
	Labels   map[string]string
	Workload string
	Node     string
}

// Enricher looks up pod metadata by pod UID, typically from an informer
// cache. Lookup is called while batches are built, so it must be fast and
// must not block. A nil Enricher is allowed.
type Enricher interface {
	Lookup(podUID string) (Meta, bool)
}
