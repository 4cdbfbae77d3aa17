package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"vigil/internal/monitor"
)

func init() { areaCommands = append(areaCommands, monitorsCmd) }

func monitorsCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "monitors",
		Short: "Manage monitors as code: import Prometheus alerting rules, check monitor files",
		Long: `Monitors are YAML files (loaded at start from --monitors-dir) or API objects (/api/monitors).

  vigil monitors import rules.yaml > monitors/prometheus.yaml     convert alerting rules
  vigil monitors import rules.yaml --server-url URL --token T     create them on a server
  vigil monitors check monitors/                                  validate files before deploying`,
	}
	var serverURL, token string
	imp := &cobra.Command{
		Use:   "import <prometheus-rules.yaml>",
		Short: "Convert a Prometheus rule file's alerting rules into threshold monitors",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			if serverURL != "" {
				return postImport(cmd.Context(), cmd.OutOrStdout(), serverURL, token, data)
			}
			ms, err := monitor.ImportPrometheusRules(data)
			if err != nil && len(ms) == 0 {
				return err
			}
			if err != nil {
				fmt.Fprintln(cmd.ErrOrStderr(), "some rules were skipped:", err)
			}
			for _, m := range ms {
				m.Source = ""
			}
			out, err := yaml.Marshal(map[string]any{"monitors": ms})
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	imp.Flags().StringVar(&serverURL, "server-url", "", "create the monitors on this vigil server instead of printing them")
	imp.Flags().StringVar(&token, "token", "", "API token for --server-url (or VIGIL_TOKEN)")
	cmd.AddCommand(imp)
	cmd.AddCommand(&cobra.Command{
		Use:   "check <file-or-dir>...",
		Short: "Validate monitor files (syntax, fields, PromQL, templates)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e := &monitor.Engine{}
			var errs []error
			n := 0
			for _, a := range args {
				var ms []*monitor.Monitor
				var err error
				if fi, serr := os.Stat(a); serr == nil && fi.IsDir() {
					ms, err = monitor.LoadDir(a)
				} else if data, rerr := os.ReadFile(a); rerr != nil {
					err = rerr
				} else if ms, err = monitor.ParseFile(data); err != nil {
					err = fmt.Errorf("%s: %w", a, err)
				}
				if err != nil {
					errs = append(errs, err)
				}
				for _, m := range ms {
					if verr := e.Validate(m); verr != nil {
						errs = append(errs, fmt.Errorf("%s (%s): %w", m.Name, orDash(m.Source, a), verr))
					}
					n++
				}
			}
			if len(errs) > 0 {
				return errors.Join(errs...)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d monitors OK\n", n)
			return nil
		},
	})
	return cmd
}

func orDash(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func postImport(ctx context.Context, w io.Writer, serverURL, token string, data []byte) error {
	if token == "" {
		token = os.Getenv("VIGIL_TOKEN")
	}
	if token == "" {
		return errors.New("--token (or VIGIL_TOKEN) is required with --server-url")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(serverURL, "/")+"/api/monitors/import", bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("import: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var r struct {
		Imported []string
		Errors   []string
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("import response: %w", err)
	}
	fmt.Fprintf(w, "imported %d monitors: %s\n", len(r.Imported), strings.Join(r.Imported, ", "))
	if len(r.Errors) > 0 {
		return fmt.Errorf("some rules failed: %s", strings.Join(r.Errors, "; "))
	}
	return nil
}
