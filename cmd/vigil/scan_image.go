package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"vigil/internal/security/inventory"
	"vigil/internal/security/osv"
	"vigil/internal/security/vuln"
	"vigil/internal/security/vulndb"
)

func init() {
	scanCommands = append(scanCommands, scanImageCmd, scanFSCmd)
}

// defaultVulnDBDir is where the CLI keeps its database; the server uses
// <data-dir>/vulndb.
func defaultVulnDBDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "vigil", "vulndb")
	}
	return filepath.Join(".", "vulndb")
}

type scanOpts struct {
	dbDir    string
	format   string
	output   string
	severity string
	exitCode int
}

func (o *scanOpts) flags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&o.dbDir, "db-dir", defaultVulnDBDir(), "vulnerability database directory (see `vigil vulndb`)")
	fs.StringVarP(&o.format, "format", "f", "table", "output format: "+strings.Join(vuln.Formats, ", "))
	fs.StringVarP(&o.output, "output", "o", "", "write the report to this file instead of standard output")
	fs.StringVar(&o.severity, "severity", "", "fail (exit with --exit-code) when a finding is at or above this severity: low, medium, high, critical")
	fs.IntVar(&o.exitCode, "exit-code", 1, "exit code when findings reach --severity")
}

// validate rejects bad flags before any work is done.
func (o *scanOpts) validate() error {
	ok := false
	for _, f := range vuln.Formats {
		ok = ok || f == o.format
	}
	if !ok {
		return fmt.Errorf("unknown --format %q (want one of %s)", o.format, strings.Join(vuln.Formats, ", "))
	}
	if o.severity != "" && osv.SeverityRank(o.severity) == 0 {
		return fmt.Errorf("unknown --severity %q (want low, medium, high or critical)", o.severity)
	}
	if o.exitCode < 0 || o.exitCode > 125 {
		return fmt.Errorf("--exit-code %d out of range 0..125", o.exitCode)
	}
	return nil
}

// writeReport hands write a buffered writer on the file at path, or on the
// command's output when path is empty, and flushes and closes it.
func writeReport(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	var w io.Writer = cmd.OutOrStdout()
	var f *os.File
	if path != "" {
		var err error
		if f, err = os.Create(path); err != nil {
			return fmt.Errorf("create report: %w", err)
		}
		defer f.Close() // a second Close after the checked one below is harmless
		w = f
	}
	bw := bufio.NewWriter(w)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("write report: %w", err)
		}
	}
	return nil
}

func (o *scanOpts) finish(cmd *cobra.Command, rep *vuln.Report) error {
	if err := writeReport(cmd, o.output, func(w io.Writer) error { return vuln.WriteReport(w, rep, o.format) }); err != nil {
		return err
	}
	// Machine formats go to stdout; warnings go to stderr so they are seen.
	if o.format != "table" || o.output != "" {
		for _, warn := range rep.Warnings {
			fmt.Fprintln(cmd.ErrOrStderr(), "vigil: warning:", warn)
		}
	}
	if o.severity == "" {
		return nil
	}
	n, err := rep.Threshold(o.severity)
	if err != nil {
		return err
	}
	if n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "vigil: %d findings at or above %s\n", n, o.severity)
		os.Exit(o.exitCode)
	}
	return nil
}

// run checks the options, loads the database, scans and reports.
func (o *scanOpts) run(cmd *cobra.Command, g *globals, scan func(context.Context, *vulndb.DB) (*vuln.Report, error)) error {
	if _, err := prepare(cmd, g); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	db, err := loadVulnDB(o.dbDir)
	if err != nil {
		return err
	}
	ctx, stop := signalContext()
	defer stop()
	rep, err := scan(ctx, db)
	if err != nil {
		return err
	}
	return o.finish(cmd, rep)
}

func loadVulnDB(dir string) (*vulndb.DB, error) {
	db, err := vulndb.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (re-import with `vigil vulndb import`)", err)
	}
	return db, nil
}

func scanImageCmd(g *globals) *cobra.Command {
	var o scanOpts
	cmd := &cobra.Command{
		Use:   "image <docker-save.tar | oci-layout-dir | registry/repo:tag>",
		Short: "Scan a container image for vulnerable packages",
		Long: "Lists the image's OS and language packages (with the layer each came from), matches them against\n" +
			"the offline vulnerability database and prints findings with fixed versions and remediation steps.\n" +
			"Registry credentials come from the Docker config and credential helpers.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, func(ctx context.Context, db *vulndb.DB) (*vuln.Report, error) {
				return vuln.ScanRef(ctx, args[0], inventory.OpenOptions{Context: ctx}, db)
			})
		},
	}
	o.flags(cmd)
	return cmd
}

func scanFSCmd(g *globals) *cobra.Command {
	var o scanOpts
	cmd := &cobra.Command{
		Use:   "fs <directory>",
		Short: "Scan a directory (a root filesystem or a project) for vulnerable packages",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, g, func(ctx context.Context, db *vulndb.DB) (*vuln.Report, error) {
				return vuln.ScanDir(ctx, args[0], db)
			})
		},
	}
	o.flags(cmd)
	return cmd
}
