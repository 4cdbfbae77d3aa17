package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"vigil/internal/kube"
	"vigil/internal/security/compliance"
	"vigil/internal/security/iac"
	"vigil/internal/version"
)

func init() {
	scanCommands = append(scanCommands, scanIaCCmd, scanK8sCmd)
}

// policyScanOpts are the flags `scan iac` and `scan k8s` share.
type policyScanOpts struct {
	format     string
	output     string
	severity   string
	exitCode   int
	frameworks []string
	controls   []string
	policies   string
	exceptions string
	list       bool
}

var policyFormats = []string{"table", "json", "sarif"}

func (o *policyScanOpts) flags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVarP(&o.format, "format", "f", "table", "output format: "+strings.Join(policyFormats, ", "))
	fs.StringVarP(&o.output, "output", "o", "", "write the report to this file instead of standard output")
	fs.StringVar(&o.severity, "severity", "", "fail (exit with --exit-code) when a failed check is at or above this severity: low, medium, high, critical")
	fs.IntVar(&o.exitCode, "exit-code", 1, "exit code when findings reach --severity")
	fs.StringSliceVar(&o.frameworks, "framework", nil, "only controls of these frameworks: "+frameworkIDs())
	fs.StringSliceVar(&o.controls, "control", nil, "only these control ids (e.g. VGL-K8S-001)")
	fs.StringVar(&o.policies, "policies", "", "directory of custom Rego controls (package vigil.controls.<name>)")
	fs.StringVar(&o.exceptions, "exceptions", "", "YAML file of accepted risks: [{control, namespace, kind, name, reason, owner, expires}]")
	fs.BoolVar(&o.list, "list-controls", false, "list the controls and their framework mappings, then exit")
}

func frameworkIDs() string {
	var ids []string
	for _, f := range compliance.Frameworks {
		ids = append(ids, f.ID)
	}
	return strings.Join(ids, ", ")
}

// prepare validates the flags and loads the controls and exceptions.
func (o *policyScanOpts) prepare(ctx context.Context) (*compliance.Engine, map[string]bool, []compliance.Exception, error) {
	if !contains(policyFormats, o.format) {
		return nil, nil, nil, fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(policyFormats, ", "))
	}
	if o.severity != "" && compliance.SeverityRank(o.severity) == 0 {
		return nil, nil, nil, fmt.Errorf("unknown --severity %q (want low, medium, high or critical)", o.severity)
	}
	if o.exitCode < 0 || o.exitCode > 125 {
		return nil, nil, nil, fmt.Errorf("--exit-code %d out of range 0..125", o.exitCode)
	}
	e, err := compliance.Load(ctx, o.policies)
	if err != nil {
		return nil, nil, nil, err
	}
	sel, err := e.Select(o.frameworks, o.controls)
	if err != nil {
		return nil, nil, nil, err
	}
	var excs []compliance.Exception
	if o.exceptions != "" {
		if excs, err = loadExceptions(o.exceptions, e); err != nil {
			return nil, nil, nil, err
		}
	}
	return e, sel, excs, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func loadExceptions(path string, e *compliance.Engine) ([]compliance.Exception, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read exceptions: %w", err)
	}
	var raw []struct {
		Control, Namespace, Kind, Name, Reason, Owner, Expires string
	}
	if err := yaml.UnmarshalStrict(b, &raw); err != nil {
		return nil, fmt.Errorf("exceptions %s: %w", path, err)
	}
	now := time.Now()
	var out []compliance.Exception
	for i, r := range raw {
		exp, err := time.Parse(time.RFC3339, r.Expires)
		if err != nil {
			if exp, err = time.Parse(time.DateOnly, r.Expires); err != nil {
				return nil, fmt.Errorf("exceptions %s: entry %d: expires %q is not a date (2026-12-31) or RFC 3339 time", path, i+1, r.Expires)
			}
		}
		x := compliance.Exception{Control: r.Control, Namespace: r.Namespace, Kind: r.Kind, Name: r.Name, Reason: r.Reason, Owner: r.Owner, Expires: exp}
		if err := x.Validate(e, now); err != nil {
			return nil, fmt.Errorf("exceptions %s: entry %d: %w", path, i+1, err)
		}
		out = append(out, x)
	}
	return out, nil
}

func listControls(w io.Writer, e *compliance.Engine) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEVERITY\tTARGETS\tCIS\tCIS-EKS\tPSS\tTITLE")
	for _, c := range e.Controls() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Severity, strings.Join(c.Targets, ","),
			strings.Join(c.CIS, ","), strings.Join(c.CISEKS, ","), c.PSS, c.Title)
	}
	return tw.Flush()
}

// policyReport is the JSON output.
type policyReport struct {
	Tool     string                      `json:"tool"`
	Version  string                      `json:"version"`
	Target   string                      `json:"target"`
	Time     time.Time                   `json:"time"`
	Scores   []compliance.FrameworkScore `json:"scores"`
	Findings []compliance.Finding        `json:"findings"`
	Notes    []iac.Note                  `json:"notes,omitempty"`
}

// finish writes the report and exits with --exit-code when failed checks reach --severity.
func (o *policyScanOpts) finish(cmd *cobra.Command, e *compliance.Engine, target string, res *compliance.Result, notes []iac.Note) error {
	err := writeReport(cmd, o.output, func(w io.Writer) error {
		if err := o.writeFormat(w, e, target, res, notes); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range notes {
		level := "note"
		if n.Error {
			level = "error"
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %s: %s: %s\n", level, n.File, n.Message)
	}
	if o.severity == "" {
		return nil
	}
	n := 0
	for _, fd := range res.Findings {
		if fd.Status == "fail" && fd.Exception == nil && compliance.SeverityRank(fd.Severity) >= compliance.SeverityRank(o.severity) {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %d failed checks at or above %s\n", n, o.severity)
		os.Exit(o.exitCode)
	}
	return nil
}

// writeFormat writes the result in the chosen format.
func (o *policyScanOpts) writeFormat(w io.Writer, e *compliance.Engine, target string, res *compliance.Result, notes []iac.Note) error {
	switch o.format {
	case "json":
		return compliance.WriteJSON(w, policyReport{Tool: "vigil", Version: version.Version, Target: target, Time: res.Time,
			Scores: e.Scores(res), Findings: nonNil(res.Findings), Notes: notes})
	case "sarif":
		return compliance.WriteSARIF(w, e, res.Findings, version.Version)
	}
	if err := compliance.WriteTable(w, res.Findings); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, s := range e.Scores(res) {
		fmt.Fprintf(w, "%-40s %5.1f%%  (%d passed, %d failed checks)\n", s.Name, s.Score, s.Passed, s.Failed)
	}
	return nil
}

func nonNil(f []compliance.Finding) []compliance.Finding {
	if f == nil {
		return []compliance.Finding{}
	}
	return f
}

func scanIaCCmd(g *globals) *cobra.Command {
	var o policyScanOpts
	cmd := &cobra.Command{
		Use:   "iac <dir|file>",
		Short: "Check Terraform, Kubernetes YAML, Helm charts and Kustomize directories against the compliance controls",
		Long: "Reads .tf files (values that depend on variables are reported as unknown, not as passing), Kubernetes\n" +
			"YAML/JSON manifests, Helm charts (rendered with their default values) and Kustomize directories (built),\n" +
			"and reports every failed check with its file:line and field.",
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := prepare(cmd, g); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			e, sel, excs, err := o.prepare(ctx)
			if err != nil {
				return err
			}
			if o.list {
				return listControls(cmd.OutOrStdout(), e)
			}
			if len(args) != 1 {
				return fmt.Errorf("scan iac needs a directory or file")
			}
			in, err := iac.Load(ctx, args[0])
			if err != nil {
				return err
			}
			if in.Files == 0 {
				return fmt.Errorf("%s: no Terraform, YAML, Helm or Kustomize files found", args[0])
			}
			res, err := e.Evaluate(ctx, in.Objects, compliance.Options{Selected: sel, Exceptions: excs})
			if err != nil {
				return err
			}
			return o.finish(cmd, e, args[0], res, in.Notes)
		},
	}
	o.flags(cmd)
	return cmd
}

func scanK8sCmd(g *globals) *cobra.Command {
	var o policyScanOpts
	var kubeconfig, namespace string
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Check the live cluster's workloads, RBAC, namespaces and service accounts against the compliance controls",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, g); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			e, sel, excs, err := o.prepare(ctx)
			if err != nil {
				return err
			}
			if o.list {
				return listControls(cmd.OutOrStdout(), e)
			}
			rc, err := kube.Config(kubeconfig)
			if err != nil {
				return err
			}
			if rc == nil {
				cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil)
				if rc, err = cc.ClientConfig(); err != nil {
					return fmt.Errorf("no cluster: %w (use --kubeconfig)", err)
				}
			}
			cs, err := kubernetes.NewForConfig(rc)
			if err != nil {
				return fmt.Errorf("kubernetes client: %w", err)
			}
			ms, err := compliance.ListCluster(ctx, cs, namespace)
			if err != nil {
				return err
			}
			objs, err := compliance.KubeObjects(ms)
			if err != nil {
				return err
			}
			if namespace != "" {
				objs = inNamespace(objs, namespace)
			}
			res, err := e.Evaluate(ctx, objs, compliance.Options{Selected: sel, Exceptions: excs})
			if err != nil {
				return err
			}
			return o.finish(cmd, e, rc.Host, res, nil)
		},
	}
	o.flags(cmd)
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig (default: $KUBECONFIG, ~/.kube/config or in-cluster)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only this namespace (cluster-wide bindings are still read for context)")
	return cmd
}

// inNamespace keeps the namespace's objects and the cluster-scoped ones that concern it.
func inNamespace(objs []compliance.Object, ns string) []compliance.Object {
	var out []compliance.Object
	for _, o := range objs {
		if o.Namespace == ns || (o.Kind == "Namespace" && o.Name == ns) {
			out = append(out, o)
		}
	}
	return out
}
