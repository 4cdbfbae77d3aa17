// Package server runs vigil's server: it opens the stores, mounts the
// ingestion, query and UI endpoints behind authentication, and serves HTTP(S).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/informers"

	"vigil/internal/api/logsapi"
	"vigil/internal/api/promapi"
	"vigil/internal/audit"
	"vigil/internal/auth"
	"vigil/internal/deploy"
	"vigil/internal/events"
	"vigil/internal/ingest"
	"vigil/internal/kube"
	"vigil/internal/kube/kubestate"
	"vigil/internal/logretention"
	"vigil/internal/monitor"
	"vigil/internal/notify"
	patternindex "vigil/internal/patterns/index"
	"vigil/internal/report"
	"vigil/internal/security/compliance/posture"
	"vigil/internal/security/imagescan"
	"vigil/internal/store/logs"
	"vigil/internal/store/metrics"
	"vigil/internal/store/state"
	"vigil/web"
)

// Config holds the server's settings.
type Config struct {
	Listen           string
	DataDir          string
	TLSCert, TLSKey  string
	AdminUser        string
	AdminPassword    string
	AgentToken       string // optional fixed agent token (e.g. from a Kubernetes secret)
	MetricsRetention time.Duration
	MetricsMaxBytes  int64
	LogsRetention    time.Duration
	// GCPercent is the garbage collection target set at start unless GOGC is
	// in the environment: the log engine's ingest allocates heavily and
	// collecting at 100 % costs it about an eighth of its throughput.
	GCPercent int
	// LogsRetentionCheck is how often per-namespace log retention is enforced.
	LogsRetentionCheck time.Duration
	LogsMaxDiskBytes   int64
	LogsMemoryBytes    int64
	LogsMinFreeDisk    int64
	MaxBodyBytes       int64
	QueryTimeout       time.Duration
	QueryMaxSamples    int
	Kubeconfig         string
	SecureCookies      bool
	EventsRetention    time.Duration
	// LeaderElect makes replicated servers elect one that writes cluster-wide
	// state (kube-state series, events) through a Lease in LeaderNamespace.
	LeaderElect     bool
	LeaderNamespace string
	// SMTP is the mail server notifications are sent through.
	SMTP notify.SMTPConfig
	// MonitorsDir holds monitor definitions (YAML) loaded at start.
	MonitorsDir string
	// ExternalURL is where users reach vigil (links in notifications).
	ExternalURL string
	// Kubelet makes the server scrape kubelet metrics itself (clusters without agents, tests).
	Kubelet KubeletScrapeConfig
	// CompliancePoliciesDir holds custom Rego controls; ComplianceInterval is how often the controls run.
	CompliancePoliciesDir string
	ComplianceInterval    time.Duration
}

// Server is a running vigil server.
type Server struct {
	cfg     Config
	log     *slog.Logger
	State   *state.Store
	Auth    *auth.Service
	Metrics metrics.Store
	Logs    logs.Store
	Ingest  *ingest.Handler
	Kube    *kube.Inventory

	// Patterns mines log templates at ingest and serves /api/patterns.
	Patterns *patternindex.Index

	// KubeState turns cluster object state into kube-state-metrics series.
	KubeState *kubestate.Collector
	// Monitors evaluates monitors and sends their notifications.
	Monitors *monitor.Engine
	// Automation checks drift of Helm releases and serves /api/automation.
	Automation *deploy.Service
	// Vulns scans the cluster's running images and serves /api/vulns.
	Vulns *imagescan.Scanner
	// Compliance runs the security controls and serves /api/compliance; Reports mails them.
	Compliance *posture.Service
	Reports    *report.Service
	// LogRetention deletes old logs of namespaces with a shorter retention.
	LogRetention *logretention.Enforcer
	// Events is the stream of Kubernetes and vigil events (its own log store).
	Events      *events.Store
	kubeWatcher *events.KubeWatcher
	snaps       snapshotCache

	// bg tracks background loops that use the stores; they end before the stores close.
	bg sync.WaitGroup

	httpSrv  *http.Server
	listener net.Listener
	ready    atomic.Bool
}

// New opens the stores and prepares the HTTP handler. Call Run to serve.
func New(ctx context.Context, cfg Config, log *slog.Logger) (s *Server, err error) {
	if err := cfg.Kubelet.validate(); err != nil {
		return nil, err
	}
	if cfg.GCPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.GCPercent)
	}
	srv := &Server{cfg: cfg, log: log}
	s = srv
	defer func() {
		if err != nil {
			srv.closeStores() // s is nil here: every error path returns nil, err
		}
	}()
	if s.State, err = state.Open(ctx, cfg.DataDir); err != nil {
		return nil, err
	}
	s.Auth = &auth.Service{Store: s.State, SecureCookies: cfg.SecureCookies || cfg.TLSCert != "", Log: log}
	user := cfg.AdminUser
	if user == "" {
		user = "admin"
	}
	generated, err := s.Auth.EnsureAdmin(ctx, user, cfg.AdminPassword)
	if err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	if generated != "" {
		// Printed once, on first start only; it is not stored in clear anywhere.
		fmt.Printf("\nvigil: created user %q with password %s\n(set VIGIL_ADMIN_PASSWORD to choose it)\n\n", user, generated)
	}
	if cfg.AgentToken != "" {
		if err := s.Auth.EnsureToken(ctx, "agent (configured)", auth.KindAgent, cfg.AgentToken); err != nil {
			return nil, err
		}
	}
	// Stores go into the interface fields only when open: a typed nil would
	// make closeStores call Close on nothing.
	ms, err := metrics.OpenEmbedded(metrics.Options{
		Dir: filepath.Join(cfg.DataDir, "metrics"), Retention: cfg.MetricsRetention, MaxBytes: cfg.MetricsMaxBytes,
		QueryTimeout: cfg.QueryTimeout, MaxSamples: cfg.QueryMaxSamples, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	s.Metrics = ms
	ls, err := logs.OpenEmbedded(logs.Options{
		Dir: filepath.Join(cfg.DataDir, "logs"), Retention: cfg.LogsRetention,
		MaxDiskBytes: cfg.LogsMaxDiskBytes, MinFreeDiskBytes: cfg.LogsMinFreeDisk, MemoryAllowedBytes: cfg.LogsMemoryBytes, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	s.Logs = ls
	s.LogRetention = &logretention.Enforcer{Store: ls, Global: cfg.LogsRetention, Every: cfg.LogsRetentionCheck,
		Log: log.With("component", "log-retention")}
	evStore, err := logs.OpenEmbedded(logs.Options{
		Dir: filepath.Join(cfg.DataDir, "events"), Retention: cfg.EventsRetention,
		MinFreeDiskBytes: cfg.LogsMinFreeDisk, MemoryAllowedBytes: cfg.LogsMemoryBytes, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("open event store: %w", err)
	}
	s.Events = events.New(evStore)
	s.Ingest = &ingest.Handler{Logs: s.Logs, Metrics: s.Metrics, MaxBodyBytes: cfg.MaxBodyBytes, Log: log}
	if s.Ingest.Pipeline, err = logsapi.OpenPipeline(ctx, s.State.DB()); err != nil {
		return nil, err
	}
	s.Ingest.Pipeline.Log = log.With("component", "log-pipeline")
	s.LogRetention.Rules = func() map[string]string { return s.Ingest.Pipeline.Rules().Retention }
	if s.Patterns, err = patternindex.Open(ctx, s.State.DB(), s.Logs, log.With("component", "patterns"),
		patternindex.Options{Retention: cfg.LogsRetention}); err != nil {
		return nil, err
	}
	s.Ingest.OnStored = s.Patterns.Observe
	if s.Monitors, err = monitor.Open(ctx, monitor.Options{DB: s.State.DB(), Metrics: s.Metrics, Logs: s.Logs, Events: s.Events, SMTP: cfg.SMTP,
		Dir: cfg.MonitorsDir, BaseURL: cfg.ExternalURL, Log: log.With("component", "monitors")}); err != nil {
		return nil, err
	}
	rc, err := kube.Config(cfg.Kubeconfig)
	if err != nil {
		return nil, err
	}
	if rc != nil {
		if s.Kube, err = kube.NewInventory(rc, "", log); err != nil {
			return nil, err
		}
		s.Ingest.Pipeline.Zone = logsapi.ZoneLookup(s.Kube)
		s.KubeState = kubestate.New(s.Kube.Factory())
		s.KubeState.Log = log.With("component", "kubestate")
		if s.kubeWatcher, err = events.NewKubeWatcher(s.Events, s.Kube.Factory(), s.Kube.MetaFactory(), s.State, log.With("component", "events")); err != nil {
			return nil, err
		}
		if cfg.LeaderElect {
			s.kubeWatcher.Standby()
		}
	}
	var complianceInformers informers.SharedInformerFactory
	if s.Kube != nil {
		complianceInformers = s.Kube.Factory()
	}
	if s.Compliance, err = posture.Open(ctx, posture.Options{DB: s.State.DB(), Factory: complianceInformers, PoliciesDir: cfg.CompliancePoliciesDir,
		Interval: cfg.ComplianceInterval, Events: s.Events, Log: log.With("component", "compliance")}); err != nil {
		return nil, err
	}
	vulnOpts := imagescan.Options{DB: s.State.DB(), DBDir: filepath.Join(cfg.DataDir, "vulndb"), Events: s.Events, Log: log.With("component", "vulns")}
	if s.Kube != nil {
		vulnOpts.Informers, vulnOpts.Client = s.Kube.Factory(), s.Kube.Client()
	}
	if s.Vulns, err = imagescan.New(ctx, vulnOpts); err != nil {
		return nil, err
	}
	if s.Reports, err = report.Open(ctx, report.Options{DB: s.State.DB(), Compliance: s.Compliance, Vulns: s.Vulns, SMTP: cfg.SMTP,
		BaseURL: cfg.ExternalURL, Log: log.With("component", "reports")}); err != nil {
		return nil, err
	}
	if s.Automation, err = deploy.NewService(ctx, deploy.ServiceConfig{DB: s.State.DB(), Logs: s.Logs, Events: s.Events,
		HasCluster: rc != nil, Kubeconfig: cfg.Kubeconfig, Log: log.With("component", "automation")}); err != nil {
		return nil, err
	}
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

const localAgentTokenName = "agent (local)"

// LocalAgentToken returns (creating once) the token the in-process agent of `vigil up` uses.
func (s *Server) LocalAgentToken(ctx context.Context) (string, error) {
	const key = "local_agent_token"
	if tok, err := s.State.GetSetting(ctx, key); err == nil {
		return tok, s.Auth.EnsureToken(ctx, localAgentTokenName, auth.KindAgent, tok)
	}
	tok := "vgl_" + auth.RandomSecret(30)
	if err := s.Auth.EnsureToken(ctx, localAgentTokenName, auth.KindAgent, tok); err != nil {
		return "", err
	}
	return tok, s.State.SetSetting(ctx, key, tok)
}

// Listen binds the listener so callers know the address before Run.
func (s *Server) Listen() (net.Addr, error) {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.Listen, err)
	}
	s.listener = ln
	return ln.Addr(), nil
}

// Run serves until ctx ends, then shuts down gracefully and closes the stores.
func (s *Server) Run(ctx context.Context) error {
	if s.listener == nil {
		if _, err := s.Listen(); err != nil {
			s.closeStores()
			return err
		}
	}
	s.Background(ctx, "patterns", func(ctx context.Context) error { s.Patterns.Run(ctx); return nil })
	s.Background(ctx, "compliance", s.Compliance.Run)
	s.Background(ctx, "reports", s.Reports.Run)
	s.Background(ctx, "log-pipeline", func(ctx context.Context) error { s.Ingest.Pipeline.Run(ctx, s.Logs, s.Metrics); return nil })
	s.Background(ctx, "log-retention", func(ctx context.Context) error { s.LogRetention.Run(ctx); return nil })
	if s.kubeWatcher != nil {
		s.Background(ctx, "drift", s.Automation.Run)
	}
	s.Background(ctx, "vulns", s.Vulns.Run)
	if s.Kube != nil {
		s.Kube.Start(ctx)
		go func() {
			if err := s.Kube.WaitSynced(ctx); err != nil {
				s.log.Error("kubernetes inventory", "err", err)
				return
			}
			s.log.Info("kubernetes inventory synced")
		}()
	}
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		s.Monitors.Run(ctx)
	}()
	ksDone := make(chan struct{})
	if s.KubeState != nil {
		go func() {
			defer close(ksDone)
			s.runClusterWriters(ctx)
		}()
	} else {
		close(ksDone)
	}
	kubeletDone := s.startKubeletScrape(ctx)
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.cfg.TLSCert != "" {
			s.httpSrv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			err = s.httpSrv.ServeTLS(s.listener, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			err = s.httpSrv.Serve(s.listener)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
		close(errc)
	}()
	s.ready.Store(true)
	s.log.Info("server listening", "addr", s.listener.Addr().String(), "tls", s.cfg.TLSCert != "")
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.ready.Store(false)
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.httpSrv.Shutdown(shutCtx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	if s.Kube != nil {
		s.Kube.Shutdown()
	}
	<-ksDone // it writes to the metrics store, which closes next
	<-kubeletDone
	<-monDone
	s.bg.Wait()
	if s.KubeState != nil {
		s.KubeState.Shutdown()
	}
	s.closeStores()
	s.log.Info("server stopped")
	return serveErr
}

// Background runs fn until ctx ends; Run waits for it before closing the
// stores. Errors are logged.
func (s *Server) Background(ctx context.Context, name string, fn func(context.Context) error) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("background task failed", "task", name, "err", err)
		}
	}()
}

func (s *Server) closeStores() {
	if s.Events != nil {
		if err := s.Events.Close(); err != nil {
			s.log.Error("close events", "err", err)
		}
	}
	if s.Logs != nil {
		if err := s.Logs.Close(); err != nil {
			s.log.Error("close logs", "err", err)
		}
	}
	if s.Metrics != nil {
		if err := s.Metrics.Close(); err != nil {
			s.log.Error("close metrics", "err", err)
		}
	}
	if s.State != nil {
		if err := s.State.Close(); err != nil {
			s.log.Error("close state", "err", err)
		}
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	user := func(h http.Handler) http.Handler { return s.Auth.Require(h, "session", auth.KindAPI) }
	agent := func(h http.Handler) http.Handler { return s.Auth.Require(h, auth.KindAgent, auth.KindAPI) }

	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})

	mux.Handle("POST /v1/logs", agent(http.HandlerFunc(s.Ingest.ServeOTLPLogs)))
	mux.Handle("POST /v1/metrics", agent(http.HandlerFunc(s.Ingest.ServeOTLPMetrics)))
	mux.Handle("POST /api/v1/write", agent(http.HandlerFunc(s.Ingest.ServeRemoteWrite)))
	// kube-apiserver audit webhook (audit.k8s.io/v1 EventList); clients that cannot set headers may pass ?token=.
	mux.Handle("POST /api/v1/audit/webhook", audit.TokenFromQuery(agent(&audit.Receiver{Logs: s.Logs, MaxBodyBytes: s.cfg.MaxBodyBytes, Log: s.log})))

	(&promapi.API{Store: s.Metrics}).Register(mux, user)
	(&logsapi.API{Store: s.Logs}).Register(mux, user)
	(&logsapi.Explorer{DB: s.State.DB(), Store: s.Logs, Pipeline: s.Ingest.Pipeline, Dir: filepath.Join(s.cfg.DataDir, "logs"),
		Retention: s.LogRetention}).Register(mux, user)
	s.Patterns.Register(mux, user)
	s.Monitors.Register(mux, user)
	s.Compliance.Register(mux, user, agent)
	s.Reports.Register(mux, user)

	mux.HandleFunc("POST /api/auth/login", s.login)
	mux.Handle("GET /api/auth/me", user(http.HandlerFunc(s.me)))
	mux.Handle("POST /api/auth/logout", user(http.HandlerFunc(s.logout)))
	mux.Handle("GET /api/tokens", user(http.HandlerFunc(s.listTokens)))
	mux.Handle("POST /api/tokens", user(http.HandlerFunc(s.createToken)))
	mux.Handle("DELETE /api/tokens/{id}", user(http.HandlerFunc(s.deleteToken)))
	mux.Handle("GET /api/nodes", user(http.HandlerFunc(s.listNodes)))
	mux.Handle("GET /api/nodes/{name}", user(http.HandlerFunc(s.getNode)))
	mux.Handle("GET /api/nodes/{name}/processes", user(http.HandlerFunc(s.nodeProcesses)))
	mux.Handle("GET /api/pods", user(http.HandlerFunc(s.listPods)))
	mux.Handle("GET /api/cluster/overview", user(http.HandlerFunc(s.clusterOverview)))
	mux.Handle("GET /api/cluster/map", user(http.HandlerFunc(s.clusterMap)))
	mux.Handle("GET /api/cluster/resources", user(http.HandlerFunc(s.clusterResources)))
	mux.Handle("GET /api/cluster/containers", user(http.HandlerFunc(s.clusterContainers)))
	mux.Handle("GET /api/cluster/namespaces/{name}", user(http.HandlerFunc(s.namespaceDetail)))
	mux.Handle("GET /api/cluster/workloads/{namespace}/{kind}/{name}", user(http.HandlerFunc(s.workloadDetail)))
	mux.Handle("GET /api/cluster/pods/{namespace}/{name}", user(http.HandlerFunc(s.podDetail)))
	mux.Handle("GET /api/events", user(http.HandlerFunc(s.listEvents)))
	mux.Handle("GET /api/events/facets", user(http.HandlerFunc(s.eventFacets)))
	mux.Handle("GET /api/events/histogram", user(http.HandlerFunc(s.eventHistogram)))
	mux.Handle("POST /api/events", user(http.HandlerFunc(s.postEvent)))
	s.Automation.Register(mux, user)
	s.Vulns.Register(mux, user)
	mux.Handle("/api/", http.NotFoundHandler())

	// The UI's static files are public (they hold no data); every data call is authenticated.
	mux.Handle("/", securityHeaders(web.Handler()))
	return logRequests(s.log, mux)
}

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		h.ServeHTTP(w, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		lvl := slog.LevelDebug
		if sw.code >= 500 {
			lvl = slog.LevelWarn
		}
		log.Log(r.Context(), lvl, "http", "method", r.Method, "path", r.URL.Path, "code", sw.code, "dur", time.Since(start))
	})
}
