// Package imagescan scans every image running in the cluster for
// vulnerabilities: it lists pods (from the server's shared informer cache), resolves each container's image to a
// manifest digest, pulls and inventories each digest once, and matches it
// against the offline database again whenever the database is updated (from
// the stored inventory, without pulling again). Results live in vigil's own
// SQLite database and are served under /api/vulns.
package imagescan

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"vigil/internal/events"
	"vigil/internal/kube"
	"vigil/internal/security/inventory"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vulndb"
)

// Recorder records vigil events (the server's event store).
type Recorder interface {
	Record(ctx context.Context, evs ...events.Event) error
}

// Options configure a Scanner.
type Options struct {
	DB    *sql.DB
	DBDir string // the vulnerability database (<data-dir>/vulndb)
	// Informers is the shared informer factory the pods are listed from; the
	// scanner registers the pod informer on it and its owner starts it. Nil:
	// no cluster, only the database status and stored results are served.
	Informers informers.SharedInformerFactory
	// Client reads the image pull secrets the pods name (required with Informers).
	Client kubernetes.Interface
	// Interval between pod listings and database checks (default 20 s).
	Interval time.Duration
	// Keychain is consulted after the pods' pull secrets (default: this
	// machine's Docker config and credential helpers).
	Keychain authn.Keychain
	Events   Recorder
	Log      *slog.Logger
}

// Scanner runs the cluster image scan.
type Scanner struct {
	opts       Options
	db         *sql.DB
	cs         kubernetes.Interface
	pods       listersv1.PodLister
	podsSynced cache.InformerSynced
	log        *slog.Logger
	wake       chan struct{}
	// listed fingerprints the last stored pod listing: an unchanged one is
	// not written again (the table is rewritten whole).
	listed string
	// pullSecrets keeps the pull secrets read in earlier passes (only the
	// Run loop touches it): one GET per secret per pass adds up at scale.
	pullSecrets map[string]pullSecret

	mu        sync.Mutex
	vdb       *vulndb.DB
	progress  Progress
	keychains map[string]authn.Keychain // digest → pull secrets of the pods running it
	heads     map[string]headResult     // image ref → resolved digest
	staleSent bool
}

type pullSecret struct {
	cfg DockerConfig
	at  time.Time
}

// pullSecretTTL is how long a pull secret read is reused.
const pullSecretTTL = 2 * time.Minute

type headResult struct {
	digest string
	err    error
	at     time.Time
}

// Progress is what the scanner is doing now.
type Progress struct {
	State       string    `json:"state"` // idle, listing, scanning, rematching
	Current     string    `json:"current,omitempty"`
	Done        int       `json:"done"`  // images scanned in the current pass
	Total       int       `json:"total"` // images to scan in the current pass
	Started     time.Time `json:"started,omitzero"`
	LastListing time.Time `json:"lastListing,omitzero"`
	Containers  int       `json:"containers"`
	Cluster     bool      `json:"cluster"`
	LastError   string    `json:"lastError,omitempty"`
}

// New creates the tables and loads the database.
func New(ctx context.Context, o Options) (*Scanner, error) {
	if o.Interval <= 0 {
		o.Interval = 20 * time.Second
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := migrate(ctx, o.DB); err != nil {
		return nil, err
	}
	s := &Scanner{opts: o, db: o.DB, log: o.Log, wake: make(chan struct{}, 1),
		keychains: map[string]authn.Keychain{}, heads: map[string]headResult{}}
	s.progress.State = "idle"
	if o.Informers != nil {
		if o.Client == nil {
			return nil, fmt.Errorf("image scanner: a Kubernetes client is required with the informers")
		}
		inf := o.Informers.Core().V1().Pods()
		s.pods, s.podsSynced, s.cs = inf.Lister(), inf.Informer().HasSynced, o.Client
		s.progress.Cluster = true
	}
	db, err := vulndb.Load(o.DBDir)
	if err != nil {
		// A damaged database must not stop the server: run empty and say so.
		s.log.Error("vulnerability database", "err", err)
		db = vulndb.FromRecords(vulndb.Meta{}, nil)
		s.progress.LastError = err.Error()
	}
	s.vdb = db
	return s, nil
}

// Wake makes the loop run now (after an import or a rescan request).
func (s *Scanner) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run lists, scans and rematches until ctx ends.
func (s *Scanner) Run(ctx context.Context) error {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	if s.podsSynced != nil {
		// List as soon as the cache holds the pods, not a whole interval later.
		go func() {
			if cache.WaitForCacheSync(ctx.Done(), s.podsSynced) {
				s.Wake()
			}
		}()
	}
	for {
		s.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		}
	}
}

func (s *Scanner) setProgress(f func(p *Progress)) {
	s.mu.Lock()
	f(&s.progress)
	s.mu.Unlock()
}

// Status returns the progress and the database in use.
func (s *Scanner) Status() (Progress, *vulndb.DB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.progress, s.vdb
}

func (s *Scanner) pass(ctx context.Context) {
	if err := s.reloadDB(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("vulnerability database", "err", err)
		s.setProgress(func(p *Progress) { p.LastError = err.Error() })
	}
	if s.cs != nil {
		s.setProgress(func(p *Progress) { p.State = "listing" })
		if err := s.list(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("list pods for image scanning", "err", err)
			s.setProgress(func(p *Progress) { p.LastError = err.Error() })
		}
	}
	if err := s.scanPending(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("image scan", "err", err)
	}
	s.setProgress(func(p *Progress) { p.State, p.Current = "idle", "" })
}

// reloadDB loads the database again when it changed on disk and rematches
// every stored inventory against it.
func (s *Scanner) reloadDB(ctx context.Context) error {
	meta, err := vulndb.ReadMeta(s.opts.DBDir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	cur := s.vdb
	s.mu.Unlock()
	now := time.Now()
	if meta.Stale(now) && !s.staleSent && s.opts.Events != nil {
		s.staleSent = true
		msg := "The vulnerability database is empty: import or update it (vigil vulndb import|update)."
		if !meta.Updated.IsZero() {
			msg = fmt.Sprintf("The vulnerability database was last updated %s, more than %s ago: findings may be missing.", meta.Updated.Format(time.RFC3339), vulndb.StaleAfter)
		}
		s.record(ctx, events.Event{Type: events.Warning, Reason: "VulnDBStale", Message: msg})
	}
	if meta.Updated.Equal(cur.Meta.Updated) {
		return nil
	}
	db, err := vulndb.Load(s.opts.DBDir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.vdb = db
	s.progress.LastError = ""
	s.mu.Unlock()
	s.staleSent = meta.Stale(now)
	s.log.Info("vulnerability database loaded", "records", db.Records(), "updated", meta.Updated)
	s.record(ctx, events.Event{Type: events.Normal, Reason: "VulnDBUpdated",
		Message: fmt.Sprintf("Vulnerability database updated: %d records; rematching stored images.", db.Records())})
	return s.rematch(ctx, db)
}

func (s *Scanner) rematch(ctx context.Context, db *vulndb.DB) error {
	rows, err := s.db.QueryContext(ctx, `SELECT digest FROM vuln_images WHERE inventory IS NOT NULL`)
	if err != nil {
		return err
	}
	var digests []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			rows.Close()
			return err
		}
		digests = append(digests, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	s.setProgress(func(p *Progress) { p.State, p.Done, p.Total, p.Started = "rematching", 0, len(digests), time.Now() })
	for _, d := range digests {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var blob, repBlob []byte
		if err := s.db.QueryRowContext(ctx, `SELECT inventory, report FROM vuln_images WHERE digest=?`, d).Scan(&blob, &repBlob); err != nil {
			return err
		}
		var inv inventory.Inventory
		if err := gunzip(blob, &inv); err != nil {
			s.log.Warn("stored inventory unreadable; scanning again", "digest", d, "err", err)
			_ = setStatus(ctx, s.db, d, "pending", "")
			continue
		}
		var old vuln.Report
		_ = gunzip(repBlob, &old)
		rep := vuln.Build(&inv, db, time.Now())
		rep.Target, rep.Kind, rep.Digest, rep.DurationMS = old.Target, old.Kind, d, old.DurationMS
		if err := saveReport(ctx, s.db, d, nil, rep, db.Meta.Updated); err != nil {
			return err
		}
		if rep.Counts["critical"] > old.Counts["critical"] {
			s.reportCritical(ctx, rep, "after the database update")
		}
		s.setProgress(func(p *Progress) { p.Done++ })
	}
	return nil
}

func (s *Scanner) record(ctx context.Context, e events.Event) {
	if s.opts.Events == nil {
		return
	}
	e.Source = "vigil/security"
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if err := s.opts.Events.Record(ctx, e); err != nil {
		s.log.Warn("record event", "err", err)
	}
}

// digestOf extracts a manifest digest and a pullable reference from a
// container status imageID ("docker-pullable://repo@sha256:…",
// "repo@sha256:…"); a bare "sha256:…" is the local image id, not pullable.
func digestOf(imageID string) (digest, ref string) {
	id := strings.TrimPrefix(strings.TrimPrefix(imageID, "docker-pullable://"), "docker://")
	repo, d, ok := strings.Cut(id, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") || len(d) != 71 || repo == "" {
		return "", ""
	}
	return d, id
}

func (s *Scanner) list(ctx context.Context) error {
	if !s.podsSynced() {
		// An empty cache would read as "nothing runs" and drop every container.
		return nil
	}
	pods, err := s.pods.List(labels.Everything())
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	var cs []container
	refs := map[string]string{}
	keychains := map[string]authn.Keychain{}
	secrets := map[string]pullSecret{}
	// Cached objects are shared: read only.
	for _, p := range pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		wl, kind := kube.Workload(p)
		kc := s.podKeychain(ctx, p, secrets)
		statusID := map[string]string{}
		for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			statusID[st.Name] = st.ImageID
		}
		all := append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...)
		for _, c := range all {
			d, ref := digestOf(statusID[c.Name])
			if d == "" {
				d, ref = s.resolve(ctx, c.Image, kc)
			}
			cs = append(cs, container{Namespace: p.Namespace, Pod: p.Name, Container: c.Name, Kind: kind, Workload: wl,
				Node: p.Spec.NodeName, Image: c.Image, Digest: d})
			if d != "" && !strings.HasPrefix(d, "unresolved:") {
				refs[d] = ref
				keychains[d] = kc
			} else if d != "" {
				refs[d] = c.Image
			}
		}
	}
	if fp := fingerprint(cs, refs); fp != s.listed {
		if err := replaceContainers(ctx, s.db, cs, refs); err != nil {
			return fmt.Errorf("store containers: %w", err)
		}
		s.listed = fp
	}
	// Unresolvable images are shown as failed, with the reason.
	s.mu.Lock()
	for d := range refs {
		if strings.HasPrefix(d, "unresolved:") {
			if h, ok := s.heads[strings.TrimPrefix(d, "unresolved:")]; ok && h.err != nil {
				_ = setStatus(ctx, s.db, d, "error", h.err.Error())
			}
		}
	}
	s.keychains = keychains
	s.pullSecrets = secrets // only those still named
	s.progress.LastListing = time.Now()
	s.progress.Containers = len(cs)
	s.mu.Unlock()
	return nil
}

// fingerprint identifies a listing: containers in pod order and the refs of
// the digests they run.
func fingerprint(cs []container, refs map[string]string) string {
	h := sha256.New()
	sorted := slices.Clone(cs)
	slices.SortFunc(sorted, func(a, b container) int {
		return strings.Compare(a.Namespace+"/"+a.Pod+"/"+a.Container, b.Namespace+"/"+b.Pod+"/"+b.Container)
	})
	for _, c := range sorted {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", c.Namespace, c.Pod, c.Container, c.Kind, c.Workload, c.Node, c.Image, c.Digest)
	}
	ds := slices.Sorted(maps.Keys(refs))
	for _, d := range ds {
		fmt.Fprintf(h, "%s=%s\n", d, refs[d])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// podKeychain is the pod's pull secrets, then the node-level keychain. Secrets
// are read by name (no cluster-wide secret cache) and reused for pullSecretTTL.
func (s *Scanner) podKeychain(ctx context.Context, p *corev1.Pod, pass map[string]pullSecret) authn.Keychain {
	var kc Keychain
	for _, ref := range p.Spec.ImagePullSecrets {
		key := p.Namespace + "/" + ref.Name
		ps, ok := pass[key]
		if !ok {
			if prev, fresh := s.pullSecrets[key]; fresh && time.Since(prev.at) < pullSecretTTL {
				ps = prev
			} else {
				ps = pullSecret{cfg: s.readPullSecret(ctx, p.Namespace, ref.Name), at: time.Now()}
			}
			pass[key] = ps
		}
		if ps.cfg != nil {
			kc = append(kc, ps.cfg)
		}
	}
	if len(kc) == 0 {
		return s.opts.Keychain
	}
	return authn.NewMultiKeychain(kc, s.opts.Keychain)
}

func (s *Scanner) readPullSecret(ctx context.Context, ns, name string) DockerConfig {
	gctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sec, err := s.cs.CoreV1().Secrets(ns).Get(gctx, name, metav1.GetOptions{})
	var cfg DockerConfig
	if err == nil {
		data := sec.Data[corev1.DockerConfigJsonKey]
		if len(data) == 0 {
			data = sec.Data[corev1.DockerConfigKey]
		}
		cfg, err = ParseDockerConfig(data)
	}
	if err != nil {
		s.log.Warn("image pull secret unusable", "secret", ns+"/"+name, "err", err)
		return nil
	}
	return cfg
}

// resolve asks the registry for the digest of a tag (cached for five minutes).
func (s *Scanner) resolve(ctx context.Context, image string, kc authn.Keychain) (digest, ref string) {
	r, err := name.ParseReference(image)
	if err != nil {
		s.noteHead(image, "", err)
		return "unresolved:" + image, image
	}
	if d, ok := r.(name.Digest); ok {
		return d.DigestStr(), d.String()
	}
	s.mu.Lock()
	h, ok := s.heads[image]
	s.mu.Unlock()
	if !ok || time.Since(h.at) > 5*time.Minute {
		hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		desc, err := remote.Head(r, remote.WithAuthFromKeychain(kc), remote.WithContext(hctx))
		cancel()
		h = headResult{at: time.Now(), err: err}
		if err == nil {
			h.digest = desc.Digest.String()
		}
		s.noteHead(image, h.digest, err)
	}
	if h.err != nil {
		return "unresolved:" + image, image
	}
	return h.digest, r.Context().Digest(h.digest).String()
}

func (s *Scanner) noteHead(image, digest string, err error) {
	s.mu.Lock()
	s.heads[image] = headResult{digest: digest, err: err, at: time.Now()}
	s.mu.Unlock()
}

func (s *Scanner) scanPending(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, `SELECT digest, ref FROM vuln_images
		WHERE (status IN ('pending','scanning') OR (status='error' AND scanned_at < ?))
		AND digest NOT LIKE 'unresolved:%' AND digest IN (SELECT digest FROM vuln_containers) ORDER BY rowid`,
		time.Now().Add(-retryAfter).UnixMilli())
	if err != nil {
		return err
	}
	type job struct{ digest, ref string }
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.digest, &j.ref); err != nil {
			rows.Close()
			return err
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(jobs) == 0 {
		return nil
	}
	s.setProgress(func(p *Progress) { p.State, p.Done, p.Total, p.Started = "scanning", 0, len(jobs), time.Now() })
	for _, j := range jobs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.setProgress(func(p *Progress) { p.Current = j.ref })
		if err := setStatus(ctx, s.db, j.digest, "scanning", ""); err != nil {
			return err
		}
		if err := s.scanOne(ctx, j.digest, j.ref); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Warn("image scan failed", "image", j.ref, "err", err)
			if err := setStatus(ctx, s.db, j.digest, "error", err.Error()); err != nil {
				return err
			}
		}
		s.setProgress(func(p *Progress) { p.Done++ })
	}
	return nil
}

func (s *Scanner) scanOne(ctx context.Context, digest, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("image reference %q: %w", ref, err)
	}
	s.mu.Lock()
	kc := s.keychains[digest]
	db := s.vdb
	s.mu.Unlock()
	if kc == nil {
		kc = s.opts.Keychain
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	start := time.Now()
	img, err := remote.Image(r, remote.WithAuthFromKeychain(kc), remote.WithContext(sctx))
	if err != nil {
		return fmt.Errorf("pull %s: %w", ref, err)
	}
	inv, err := inventory.Image(sctx, img, inventory.ImageOptions{})
	if err != nil {
		return err
	}
	rep := vuln.Build(inv, db, time.Now())
	rep.Target, rep.Kind, rep.Digest = ref, "registry", digest
	rep.DurationMS = time.Since(start).Milliseconds()
	if err := saveReport(ctx, s.db, digest, inv, rep, db.Meta.Updated); err != nil {
		return fmt.Errorf("store scan of %s: %w", ref, err)
	}
	s.log.Info("image scanned", "image", ref, "packages", len(rep.Packages), "findings", len(rep.Findings), "dur", time.Since(start))
	if rep.Counts["critical"] > 0 {
		s.reportCritical(ctx, rep, "")
	}
	return nil
}

func (s *Scanner) reportCritical(ctx context.Context, rep *vuln.Report, why string) {
	msg := fmt.Sprintf("%s has %d critical and %d high vulnerabilities", rep.Target, rep.Counts["critical"], rep.Counts["high"])
	if why != "" {
		msg += " " + why
	}
	s.record(ctx, events.Event{Type: events.Warning, Reason: "VulnerableImage", Kind: "Image", Name: rep.Target,
		Message: msg, Tags: map[string]string{"digest": rep.Digest}})
}
