package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"vigil/internal/deploy"
)

func init() {
	areaCommands = append(areaCommands, installCmd, upgradeCmd, uninstallCmd, diffCmd)
}

// deployFlags are the settings shared by install, upgrade, uninstall and diff.
type deployFlags struct {
	opts         deploy.Options
	valueFiles   []string
	sets         []string
	setStrings   []string
	yes          bool
	resetValues  bool
	output       string
	detailedExit bool
	keepData     bool
}

func (f *deployFlags) add(fs *pflag.FlagSet, withValues bool) {
	fs.StringVar(&f.opts.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)")
	fs.StringVar(&f.opts.Context, "context", "", "kubeconfig context (default: the current one)")
	fs.StringVarP(&f.opts.Namespace, "namespace", "n", "vigil", "namespace of the release (created by install when missing)")
	fs.StringVar(&f.opts.Release, "release", "vigil", "Helm release name")
	fs.DurationVar(&f.opts.Timeout, "timeout", 5*time.Minute, "how long to wait for the rollout to become healthy")
	if withValues {
		fs.StringVar(&f.opts.ChartDir, "chart", "", "chart directory (default: the chart built into this binary)")
		fs.StringSliceVarP(&f.valueFiles, "values", "f", nil, "values files (YAML), merged in order")
		fs.StringArrayVar(&f.sets, "set", nil, "set a value: key.path=value (repeatable)")
		fs.StringArrayVar(&f.setStrings, "set-string", nil, "set a string value: key.path=value (repeatable)")
		fs.BoolVar(&f.resetValues, "reset-values", false, "upgrade: start from the chart's defaults instead of the release's current values")
	}
}

func (f *deployFlags) client(cmd *cobra.Command, g *globals) (*deploy.Client, error) {
	log, err := prepare(cmd, g)
	if err != nil {
		return nil, err
	}
	f.opts.Log = log.With("component", "helm")
	return deploy.NewClient(f.opts)
}

func installCmd(g *globals) *cobra.Command   { return applyCmd(g, "install") }
func upgradeCmd(g *globals) *cobra.Command   { return applyCmd(g, "upgrade") }
func diffCmd(g *globals) *cobra.Command      { return planCmd(g) }
func uninstallCmd(g *globals) *cobra.Command { return removeCmd(g) }

func applyCmd(g *globals, verb string) *cobra.Command {
	f := &deployFlags{}
	short := "Install vigil (server StatefulSet, agent DaemonSet) into the current cluster: plan, approval, apply, wait"
	if verb == "upgrade" {
		short = "Upgrade the vigil release: plan (field-level), approval, apply, wait; rolls back when unhealthy"
	}
	cmd := &cobra.Command{
		Use:   verb,
		Short: short,
		Long: short + `.

The plan lists the objects that will be added, changed (field by field) and removed.
Without --yes it asks for approval on stdin. The rollout is awaited until every
workload is ready (progress is printed); if it does not get there within --timeout
the release is rolled back.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd, g)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			return runApply(ctx, cmd.OutOrStdout(), cmd.InOrStdin(), c, f, verb)
		},
	}
	f.add(cmd.Flags(), true)
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "apply without asking (for pipelines)")
	return cmd
}

func runApply(ctx context.Context, out io.Writer, in io.Reader, c *deploy.Client, f *deployFlags, verb string) error {
	ch, err := deploy.LoadChart(f.opts.ChartDir)
	if err != nil {
		return err
	}
	vals, err := deploy.ParseValues(f.valueFiles, f.sets, f.setStrings)
	if err != nil {
		return err
	}
	cur, err := c.Current()
	if err != nil {
		return err
	}
	installed := cur != nil && cur.Info != nil && cur.Info.Status != "uninstalled"
	if verb == "install" && installed {
		return fmt.Errorf("release %s is already installed in namespace %s (revision %d): use `vigil upgrade`", c.Options().Release, c.Options().Namespace, cur.Version)
	}
	if verb == "upgrade" && !installed {
		return fmt.Errorf("release %s is not installed in namespace %s: use `vigil install`", c.Options().Release, c.Options().Namespace)
	}
	plan, err := c.PlanUpgrade(ctx, ch, vals, f.resetValues)
	if err != nil {
		return err
	}
	plan.WriteText(out)
	if plan.Empty() && verb == "upgrade" {
		return nil
	}
	if err := approve(out, in, f.yes); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nApplying (waiting up to %s for the rollout)…\n", f.opts.Timeout)
	start := time.Now()
	rel, err := c.Apply(ctx, ch, vals, f.resetValues, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "release %s revision %d %s in %s: %s\n", rel.Name, rel.Version, rel.Info.Status, time.Since(start).Round(time.Second), rel.Info.Description)
	return nil
}

// approve asks for "yes" on in unless assumeYes.
func approve(out io.Writer, in io.Reader, assumeYes bool) error {
	if assumeYes {
		return nil
	}
	fmt.Fprint(out, "\nApply this plan? Type 'yes' to approve: ")
	line, err := bufio.NewReader(io.LimitReader(in, 1024)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read approval: %w", err)
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "yes" && a != "y" {
		return errors.New("not approved: nothing was changed (use --yes in pipelines)")
	}
	return nil
}

func planCmd(g *globals) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show what `vigil install`/`upgrade` would change: objects added, changed (field by field, including drift) and removed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch f.output {
			case "text", "json":
			default:
				return fmt.Errorf("--output must be text or json, not %q", f.output)
			}
			c, err := f.client(cmd, g)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			ch, err := deploy.LoadChart(f.opts.ChartDir)
			if err != nil {
				return err
			}
			vals, err := deploy.ParseValues(f.valueFiles, f.sets, f.setStrings)
			if err != nil {
				return err
			}
			plan, err := c.PlanUpgrade(ctx, ch, vals, f.resetValues)
			if err != nil {
				return err
			}
			if f.output == "json" {
				b, _ := json.MarshalIndent(plan, "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(b))
			} else {
				plan.WriteText(cmd.OutOrStdout())
			}
			if f.detailedExit && !plan.Empty() {
				os.Exit(2) // like terraform plan -detailed-exitcode
			}
			return nil
		},
	}
	f.add(cmd.Flags(), true)
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text or json")
	cmd.Flags().BoolVar(&f.detailedExit, "detailed-exitcode", false, "exit with status 2 when there are changes")
	return cmd
}

func removeCmd(g *globals) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove the vigil release and everything it created (data volumes unless --keep-data, the namespace install created)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client(cmd, g)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			out := cmd.OutOrStdout()
			plan, err := c.PlanUninstall(ctx, f.keepData)
			if err != nil {
				return err
			}
			plan.WriteText(out)
			if err := approve(out, cmd.InOrStdin(), f.yes); err != nil {
				return err
			}
			return c.Uninstall(ctx, plan, out)
		},
	}
	f.add(cmd.Flags(), false)
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "uninstall without asking")
	cmd.Flags().BoolVar(&f.keepData, "keep-data", false, "keep the server's data volumes")
	return cmd
}
