// Command vigil is the single binary: server, node agent, or both (`up`).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"vigil/internal/agent"
	"vigil/internal/agent/hostlogs"
	"vigil/internal/config"
	"vigil/internal/server"
	"vigil/internal/version"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(1)
	}
}

type globals struct {
	configFile string
	logLevel   string
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "vigil",
		Short:         "Self-hosted operations platform for Kubernetes: monitoring, logging, security, automation",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "YAML file of settings (keys are flag names); precedence: flag > VIGIL_* env > file > default")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	root.AddCommand(serverCmd(g), agentCmd(g), upCmd(g), versionCmd())
	for _, c := range areaCommands {
		root.AddCommand(c(g))
	}
	scan := &cobra.Command{Use: "scan", Short: "Scan images, file systems, IaC and the cluster for vulnerabilities and misconfigurations"}
	for _, c := range scanCommands {
		scan.AddCommand(c(g))
	}
	if scan.HasSubCommands() {
		root.AddCommand(scan)
	}
	return root
}

// Each feature area's file in this folder appends its commands here from an
// init function, so adding an area never edits this file.
var (
	areaCommands []func(*globals) *cobra.Command // top-level: `vigil patterns`, `vigil install`, …
	scanCommands []func(*globals) *cobra.Command // under `vigil scan`: image, fs, iac, k8s
)

// prepare resolves env and file settings into the command's flags and builds the logger.
func prepare(cmd *cobra.Command, g *globals) (*slog.Logger, error) {
	if g.configFile == "" {
		g.configFile = os.Getenv(config.EnvName("config"))
	}
	if err := config.Apply(cmd.Flags(), g.configFile); err != nil {
		return nil, err
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		return nil, fmt.Errorf("bad --log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})), nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func addServerFlags(fs *pflag.FlagSet, c *server.Config) {
	fs.StringVar(&c.Listen, "listen", ":8080", "address to serve HTTP(S) on")
	fs.IntVar(&c.GCPercent, "gc-percent", 200, "Go garbage collection target (as GOGC; GOGC in the environment wins): higher ingests faster for more memory; pair with GOMEMLIMIT")
	fs.StringVar(&c.DataDir, "data-dir", "./data", "directory for all stored data")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "TLS certificate file (serve HTTPS when set)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "TLS private key file")
	fs.StringVar(&c.AdminUser, "admin-user", "admin", "name of the first admin user")
	fs.StringVar(&c.AdminPassword, "admin-password", "", "password of the first admin (VIGIL_ADMIN_PASSWORD); generated and printed once when empty")
	fs.StringVar(&c.AgentToken, "agent-token", "", "accept this secret as an agent token (e.g. shared with a DaemonSet)")
	fs.DurationVar(&c.MetricsRetention, "metrics-retention", 15*24*time.Hour, "delete metrics older than this")
	fs.Int64Var(&c.MetricsMaxBytes, "metrics-max-bytes", 0, "delete the oldest metric blocks beyond this size (0 = no limit)")
	fs.DurationVar(&c.LogsRetention, "logs-retention", 7*24*time.Hour, "delete logs older than this (whole days, at least 24h)")
	fs.DurationVar(&c.LogsRetentionCheck, "logs-retention-check", time.Hour, "how often per-namespace log retention (the log pipeline rules' retention) deletes old logs")
	fs.BoolVar(&c.LeaderElect, "leader-elect", false, "elect one replica (a Lease) to write cluster-wide state when several servers run")
	fs.StringVar(&c.LeaderNamespace, "leader-elect-namespace", os.Getenv("POD_NAMESPACE"), "namespace of the leader Lease (default: $POD_NAMESPACE, else default)")
	fs.DurationVar(&c.EventsRetention, "events-retention", 30*24*time.Hour, "delete Kubernetes and vigil events older than this (whole days)")
	fs.Int64Var(&c.LogsMaxDiskBytes, "logs-max-disk-bytes", 0, "delete the oldest log days beyond this size (0 = no limit)")
	fs.Int64Var(&c.LogsMinFreeDisk, "logs-min-free-disk-bytes", 256<<20, "refuse log writes (senders retry) while free disk is below this")
	fs.Int64Var(&c.LogsMemoryBytes, "logs-memory-bytes", 512<<20, "memory the log engine's caches may use")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 16<<20, "largest accepted ingestion request body (decompressed)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", 2*time.Minute, "PromQL query timeout")
	fs.IntVar(&c.QueryMaxSamples, "query-max-samples", 50_000_000, "most samples one PromQL query may load")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig for the cluster inventory (in-cluster config is used when empty and running in a pod)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", false, "mark cookies Secure even without --tls-cert (behind a TLS proxy)")
	fs.StringVar(&c.SMTP.Host, "smtp-host", "", "mail server for notifications (none when empty)")
	fs.IntVar(&c.SMTP.Port, "smtp-port", 0, "mail server port (default 587, or 465 with --smtp-tls=tls)")
	fs.StringVar(&c.SMTP.Username, "smtp-username", "", "mail server user (AUTH PLAIN)")
	fs.StringVar(&c.SMTP.Password, "smtp-password", "", "mail server password (prefer VIGIL_SMTP_PASSWORD)")
	fs.StringVar(&c.SMTP.From, "smtp-from", "vigil@localhost", "sender address of notification mails")
	fs.StringVar(&c.SMTP.TLS, "smtp-tls", "starttls", "starttls, tls (implicit) or none")
	fs.StringVar(&c.MonitorsDir, "monitors-dir", "", "directory of monitor definitions (YAML) loaded at start")
	fs.StringVar(&c.CompliancePoliciesDir, "compliance-policies-dir", "", "directory of custom Rego compliance controls (package vigil.controls.<name>)")
	fs.DurationVar(&c.ComplianceInterval, "compliance-interval", 5*time.Minute, "how often the compliance controls are evaluated")
	fs.StringVar(&c.ExternalURL, "external-url", "", "URL users reach vigil at, for links in notifications (default http://localhost:8080)")
	addKubeletServerFlags(fs, c)
}

func addAgentFlags(fs *pflag.FlagSet, c *agent.Config, withConnection bool) {
	// In Kubernetes the pod logs are the logs; on a plain machine (`vigil up`) the host's own files are.
	var hostDefault []string
	if !withConnection {
		hostDefault = hostlogs.DefaultInclude()
	}
	fs.StringSliceVar(&c.HostLogs, "host-logs", hostDefault, "globs of plain-text host log files to tail (comma-separated; empty disables)")
	if withConnection {
		fs.StringVar(&c.ServerURL, "server-url", "http://localhost:8080", "vigil server to ship to")
		fs.StringVar(&c.Token, "token", "", "agent token")
		fs.StringVar(&c.CAFile, "ca-file", "", "CA certificate that signed the server's certificate")
		fs.StringVar(&c.StateDir, "state-dir", "./data/agent", "agent checkpoints and send buffer")
		fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig for pod metadata (in-cluster config is used when empty and running in a pod)")
	}
	fs.StringVar(&c.NodeName, "node-name", "", "this node's name (default: hostname; in Kubernetes set from spec.nodeName)")
	fs.StringVar(&c.PodLogsRoot, "pod-logs-root", "/var/log/pods", "kubelet pod log directory")
	fs.StringVar(&c.ProcPath, "proc-path", "/proc", "host /proc")
	fs.StringVar(&c.SysPath, "sys-path", "/sys", "host /sys")
	fs.StringVar(&c.RootFS, "rootfs-path", "/", "host root filesystem, for filesystem usage")
	fs.DurationVar(&c.MetricsInterval, "metrics-interval", 15*time.Second, "how often node metrics are collected")
	fs.Int64Var(&c.BufferMaxBytes, "buffer-max-bytes", 256<<20, "largest on-disk send buffer")
	addKubeletAgentFlags(fs, c)
}

func serverCmd(g *globals) *cobra.Command {
	var cfg server.Config
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the vigil server (ingestion, storage, APIs, web UI)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := prepare(cmd, g)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			s, err := server.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			return s.Run(ctx)
		},
	}
	addServerFlags(cmd.Flags(), &cfg)
	return cmd
}

func agentCmd(g *globals) *cobra.Command {
	var cfg agent.Config
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the node agent (node metrics, container logs)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := prepare(cmd, g)
			if err != nil {
				return err
			}
			if cfg.Token == "" {
				return fmt.Errorf("an agent token is required (--token or VIGIL_TOKEN)")
			}
			ctx, stop := signalContext()
			defer stop()
			return agent.Run(ctx, cfg, log)
		},
	}
	addAgentFlags(cmd.Flags(), &cfg, true)
	return cmd
}

func upCmd(g *globals) *cobra.Command {
	var scfg server.Config
	var acfg agent.Config
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run server and agent in one process, watching this machine",
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := prepare(cmd, g)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			s, err := server.New(ctx, scfg, log.With("role", "server"))
			if err != nil {
				return err
			}
			addr, err := s.Listen()
			if err != nil {
				return err
			}
			tok, err := s.LocalAgentToken(ctx)
			if err != nil {
				return err
			}
			_, port, err := net.SplitHostPort(addr.String())
			if err != nil {
				return fmt.Errorf("listen address %s: %w", addr, err)
			}
			scheme := "http"
			if scfg.TLSCert != "" {
				scheme = "https"
			}
			acfg.ServerURL = fmt.Sprintf("%s://127.0.0.1:%s", scheme, port)
			acfg.Token = tok
			acfg.StateDir = filepath.Join(scfg.DataDir, "agent")
			acfg.Kubeconfig = scfg.Kubeconfig
			fmt.Fprintf(os.Stderr, "vigil is up: open http://localhost:%s\n", port)

			errc := make(chan error, 1)
			actx, acancel := context.WithCancel(ctx)
			go func() { errc <- agent.Run(actx, acfg, log.With("role", "agent")) }()
			serr := s.Run(ctx)
			acancel()
			aerr := <-errc
			if serr != nil {
				return serr
			}
			return aerr
		},
	}
	addServerFlags(cmd.Flags(), &scfg)
	addAgentFlags(cmd.Flags(), &acfg, false)
	return cmd
}

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintf(cmd.OutOrStdout(), "vigil %s (commit %s)\n", version.Version, version.Commit)
		},
	}
}
