package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"vigil/internal/security/vulndb"
)

func init() { areaCommands = append(areaCommands, vulndbCmd) }

func vulndbCmd(g *globals) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "vulndb",
		Short: "Manage the offline vulnerability database (OSV records per ecosystem)",
	}
	cmd.PersistentFlags().StringVar(&dir, "db-dir", defaultVulnDBDir(), "database directory (the server's is <data-dir>/vulndb)")

	var mirror string
	var ecos []string
	var timeout time.Duration
	update := &cobra.Command{
		Use:   "update",
		Short: "Download each ecosystem's OSV archive (<mirror>/<ecosystem>/all.zip) and replace its records",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, g); err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			meta, err := vulndb.Update(ctx, &http.Client{Timeout: timeout}, dir, mirror, ecos, time.Now())
			printMeta(cmd, dir, meta)
			return err
		},
	}
	update.Flags().StringVar(&mirror, "mirror", "https://osv-vulnerabilities.storage.googleapis.com", "base URL of an OSV mirror (http, https or file)")
	update.Flags().StringSliceVar(&ecos, "ecosystems", vulndb.DefaultEcosystems, "ecosystems to download (comma-separated)")
	update.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "timeout of each download")

	imp := &cobra.Command{
		Use:   "import <file.zip | file.json | directory>",
		Short: "Load an offline bundle of OSV records (for air-gapped sites)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := prepare(cmd, g); err != nil {
				return err
			}
			meta, err := vulndb.Import(dir, args[0], time.Now())
			if err != nil {
				return err
			}
			printMeta(cmd, dir, meta)
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the database's ecosystems, record counts and age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := prepare(cmd, g); err != nil {
				return err
			}
			meta, err := vulndb.ReadMeta(dir)
			if err != nil {
				return err
			}
			printMeta(cmd, dir, meta)
			return nil
		},
	}
	cmd.AddCommand(update, imp, status)
	return cmd
}

func printMeta(cmd *cobra.Command, dir string, meta vulndb.Meta) {
	w := cmd.OutOrStdout()
	if meta.Updated.IsZero() {
		fmt.Fprintf(w, "vulnerability database %s: empty\n", dir)
		return
	}
	now := time.Now()
	fmt.Fprintf(w, "vulnerability database %s: updated %s (%s ago)\n", dir, meta.Updated.Format(time.RFC3339), meta.Age(now).Round(time.Second))
	for eco, e := range meta.Ecosystems {
		fmt.Fprintf(w, "  %-12s %7d records  updated %s  from %s\n", eco, e.Records, e.Updated.Format(time.RFC3339), e.Source)
	}
	if meta.Stale(now) {
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: warning: the vulnerability database is older than %s; run `vigil vulndb update`\n", vulndb.StaleAfter)
	}
}
