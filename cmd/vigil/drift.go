package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/spf13/cobra"

	"vigil/internal/deploy"
)

func init() { areaCommands = append(areaCommands, driftCmd) }

func driftCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "drift",
		Short: "Find changes made outside the declared state: Kubernetes objects vs a Helm release, manifests or Git; Terraform resources",
	}
	cmd.AddCommand(driftK8sCmd(g), driftTerraformCmd(g))
	return cmd
}

func driftK8sCmd(g *globals) *cobra.Command {
	var (
		opts                 deploy.Options
		manifests, repo, ref string
		sub, output          string
		serverURL, token     string
		detailedExit         bool
	)
	cmd := &cobra.Command{
		Use:   "k8s",
		Short: "Compare live objects with a Helm release (default), a manifests directory (--manifests) or a Git checkout (--git); field-level, with blame from the audit log",
		Long: `Compares each object of the desired state with the live one, field by field,
ignoring what the cluster fills in (status, managedFields, defaults).

The desired state is the Helm release --release in --namespace (default), every
manifest under --manifests, or the manifests under --path of a Git repository
(--git URL or path, --ref branch or tag).

With --server-url and a token (--token or VIGIL_TOKEN), each drift is blamed: the
vigil server's Kubernetes audit log says who changed the object, when, from which
address and with which client.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			if manifests != "" && repo != "" {
				return errors.New("--manifests and --git exclude each other")
			}
			log, err := prepare(cmd, g)
			if err != nil {
				return err
			}
			opts.Log = log.With("component", "helm")
			if token == "" {
				token = os.Getenv("VIGIL_TOKEN")
			}
			c, err := deploy.NewClient(opts)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			live, err := deploy.NewLive(c.RESTConfig(), c.Options().Namespace)
			if err != nil {
				return err
			}
			var rep *deploy.Report
			switch {
			case manifests != "":
				objs, err := deploy.LoadManifestDir(manifests)
				if err != nil {
					return err
				}
				rep = deploy.Detect(ctx, live, "dir:"+manifests, objs)
			case repo != "":
				objs, err := deploy.GitManifests(ctx, repo, ref, sub)
				if err != nil {
					return err
				}
				rep = deploy.Detect(ctx, live, "git:"+repo+"@"+ref+":"+sub, objs)
			default:
				rel, err := c.Current()
				if err != nil {
					return err
				}
				if rel == nil {
					return fmt.Errorf("release %s is not installed in namespace %s", c.Options().Release, c.Options().Namespace)
				}
				if rep, err = deploy.ReleaseDrift(ctx, live, rel); err != nil {
					return err
				}
			}
			if serverURL != "" {
				blameAll(ctx, rep, &deploy.RemoteLogs{URL: serverURL, Token: token})
			}
			if output == "json" {
				fmt.Fprintln(cmd.OutOrStdout(), string(rep.JSON()))
			} else {
				rep.WriteText(cmd.OutOrStdout())
			}
			if detailedExit && len(rep.Items) > 0 {
				os.Exit(2)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&opts.Context, "context", "", "kubeconfig context")
	fs.StringVarP(&opts.Namespace, "namespace", "n", "vigil", "namespace of the release, and of namespaced manifests that name none")
	fs.StringVar(&opts.Release, "release", "vigil", "Helm release whose applied manifest is the desired state")
	fs.StringVar(&manifests, "manifests", "", "directory of YAML/JSON manifests that is the desired state")
	fs.StringVar(&repo, "git", "", "Git repository (URL or path) whose manifests are the desired state")
	fs.StringVar(&ref, "ref", "", "branch or tag of --git (default: its default branch)")
	fs.StringVar(&sub, "path", ".", "directory of the manifests inside --git")
	fs.StringVar(&serverURL, "server-url", "", "vigil server whose audit log names who made each change")
	fs.StringVar(&token, "token", "", "API token for --server-url (or VIGIL_TOKEN)")
	fs.StringVarP(&output, "output", "o", "text", "text or json")
	fs.BoolVar(&detailedExit, "detailed-exitcode", false, "exit with status 2 when there is drift")
	return cmd
}

func blameAll(ctx context.Context, rep *deploy.Report, q deploy.LogQuerier) {
	since := rep.Since
	if !since.IsZero() {
		since = since.Add(-time.Minute)
	}
	for i := range rep.Items {
		b, err := deploy.FindBlame(ctx, q, rep.Items[i], since)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		rep.Items[i].Blame = b
	}
}

func driftTerraformCmd(_ *globals) *cobra.Command {
	var detailedExit bool
	var output string
	cmd := &cobra.Command{
		Use:   "terraform [plan.json | planfile | -]",
		Short: "List resources changed outside Terraform, from `terraform show -json <planfile>` (a JSON file, stdin, or a binary plan file shown with the terraform binary)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("--output must be text or json, not %q", output)
			}
			var r io.Reader = cmd.InOrStdin()
			if len(args) == 1 && args[0] != "-" {
				b, err := readPlan(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				r = bytes.NewReader(b)
			}
			ds, err := deploy.ParseTerraformDrift(r)
			if err != nil {
				return err
			}
			if output == "json" {
				fmt.Fprintln(cmd.OutOrStdout(), string(driftJSON(ds)))
			} else {
				deploy.WriteTerraformDrift(cmd.OutOrStdout(), ds)
			}
			if detailedExit && len(ds) > 0 {
				os.Exit(2)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&detailedExit, "detailed-exitcode", false, "exit with status 2 when resources drifted")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// readPlan returns the JSON of a plan: the file itself when it is JSON, else
// what `terraform show -json` makes of it.
func readPlan(ctx context.Context, path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, deploy.MaxPlanBytes+1))
	if err != nil {
		return nil, err
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		return b, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	out, err := exec.CommandContext(ctx, "terraform", "show", "-json", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("terraform show -json %s: %w: %s", path, err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("%s is not plan JSON, and `terraform show -json` could not read it: %w", path, err)
	}
	return out, nil
}

func driftJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return []byte(fmt.Sprintf(`{"error":%q}`, err.Error()))
	}
	return b
}
