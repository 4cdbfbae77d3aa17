package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"vigil/internal/audit"
)

func init() { areaCommands = append(areaCommands, auditCmd) }

func auditCmd(_ *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Files that make kube-apiserver send its audit log to vigil",
		Long: `kube-apiserver sends its audit events to vigil with two flags:

  --audit-policy-file=<the output of 'vigil audit policy'>
  --audit-webhook-config-file=<the output of 'vigil audit webhook-config'>

Events land in the logs as source="kube-audit" with audit.* fields and show on the Audit page.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "policy",
		Short: "Print vigil's audit policy (for --audit-policy-file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), audit.Policy)
			return err
		},
	})
	var serverURL, token string
	wh := &cobra.Command{
		Use:   "webhook-config",
		Short: "Print the webhook kubeconfig (for --audit-webhook-config-file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if serverURL == "" || token == "" {
				return errors.New("--server-url and --token are required")
			}
			_, err := fmt.Fprint(cmd.OutOrStdout(), audit.WebhookKubeconfig(serverURL, token))
			return err
		},
	}
	wh.Flags().StringVar(&serverURL, "server-url", "", "vigil's URL as the API server reaches it, e.g. https://vigil.example:8080")
	wh.Flags().StringVar(&token, "token", "", "an agent or API token")
	cmd.AddCommand(wh)
	return cmd
}
