package audit

import (
	_ "embed"
	"fmt"
	"strconv"
)

// Policy is the audit policy vigil ships for kube-apiserver's --audit-policy-file.
//
//go:embed policy.yaml
var Policy string

// WebhookKubeconfig is the file for kube-apiserver's --audit-webhook-config-file
// that sends audit events to vigil at serverURL with an agent or API token.
func WebhookKubeconfig(serverURL, token string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: vigil
  cluster:
    server: %s
users:
- name: vigil
  user:
    token: %s
contexts:
- name: vigil
  context:
    cluster: vigil
    user: vigil
current-context: vigil
`, strconv.Quote(serverURL+"/api/v1/audit/webhook"), strconv.Quote(token))
}
