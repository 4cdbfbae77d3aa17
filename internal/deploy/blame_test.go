package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"vigil/internal/audit"
	"vigil/internal/store/logs"
)

// auditEvent is one audit.k8s.io/v1 event as the apiserver's webhook sends it.
func auditEvent(id, user, ua, verb, resource, sub, ns, name string, code int, at time.Time) string {
	return fmt.Sprintf(`{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":%q,"stage":"ResponseComplete",
"requestURI":"/apis/apps/v1/namespaces/%s/%s/%s","verb":%q,"user":{"username":%q,"groups":["system:authenticated"]},
"sourceIPs":["10.1.2.3"],"userAgent":%q,"objectRef":{"resource":%q,"subresource":%q,"namespace":%q,"name":%q,"apiGroup":"apps","apiVersion":"v1"},
"responseStatus":{"metadata":{},"code":%d},"requestReceivedTimestamp":%q,"stageTimestamp":%q}`,
		id, ns, resource, name, verb, user, ua, resource, sub, ns, name, code, at.Format(time.RFC3339Nano), at.Add(5*time.Millisecond).Format(time.RFC3339Nano))
}

func TestFindBlameFromAuditLog(t *testing.T) {
	st, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Millisecond)
	deployed := now.Add(-10 * time.Minute)
	evs := []string{
		// Before the last deployment: not the cause of today's drift.
		auditEvent("1", "carol", "kubectl/v1.37.2 (linux/amd64) kubernetes/abc", "patch", "statefulsets", "", "vigil", "vigil-server", 200, deployed.Add(-time.Hour)),
		// vigil's own rollout.
		auditEvent("2", "admin", UserAgentPrefix+"0.1.0", "patch", "statefulsets", "", "vigil", "vigil-server", 200, deployed),
		// The change.
		auditEvent("3", "alice", "kubectl/v1.37.2 (linux/amd64) kubernetes/abc", "patch", "statefulsets", "scale", "vigil", "vigil-server", 200, now.Add(-5*time.Minute)),
		// The controller's status update and a refused attempt come later; neither is a change.
		auditEvent("4", "system:kube-controller-manager", "kube-controller-manager/v1.37.2", "update", "statefulsets", "status", "vigil", "vigil-server", 200, now.Add(-4*time.Minute)),
		auditEvent("5", "bob", "kubectl/v1.37.2", "patch", "statefulsets", "", "vigil", "vigil-server", 403, now.Add(-3*time.Minute)),
		// Another object.
		auditEvent("6", "dave", "Mozilla/5.0", "update", "statefulsets", "", "vigil", "other", 200, now.Add(-2*time.Minute)),
	}
	recs, err := audit.Parse([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[` + strings.Join(evs, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	st.Flush()

	it := Item{ObjectRef: ObjectRef{APIVersion: "apps/v1", Kind: "StatefulSet", Namespace: "vigil", Name: "vigil-server"}, Resource: "statefulsets"}
	b, err := FindBlame(context.Background(), st, it, deployed.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if b == nil {
		t.Fatalf("no blame found with %s", BlameQuery(it))
	}
	if b.User != "alice" || b.Client != "kubectl" || b.SourceIP != "10.1.2.3" || b.Verb != "patch" || b.What() != "statefulsets/scale" || !b.Time.Equal(now.Add(-5*time.Minute)) {
		t.Errorf("blame %+v", *b)
	}
	other, err := FindBlame(context.Background(), st, Item{ObjectRef: ObjectRef{Kind: "StatefulSet", Namespace: "vigil", Name: "other"}, Resource: "statefulsets"}, deployed)
	if err != nil || other == nil || other.User != "dave" || other.Client != "UI (browser)" {
		t.Errorf("blame of other: %+v %v", other, err)
	}
	none, err := FindBlame(context.Background(), st, Item{ObjectRef: ObjectRef{Kind: "Service", Namespace: "vigil", Name: "vigil"}, Resource: "services"}, deployed)
	if err != nil || none != nil {
		t.Errorf("blame of an untouched object: %+v %v", none, err)
	}
}

func TestClientOf(t *testing.T) {
	for _, c := range []struct{ user, ua, want string }{
		{"alice", "kubectl/v1.37.2 (linux/amd64) kubernetes/abc", "kubectl"},
		{"admin", "vigil-deploy/0.1.0", "vigil"},
		{"admin", "Helm/4.0.0", "helm"},
		{"alice", "Mozilla/5.0 (X11; Linux x86_64)", "UI (browser)"},
		{"system:serviceaccount:kube-system:deployment-controller", "kube-controller-manager/v1.37.2", "controller"},
		{"system:node:n1", "kubelet/v1.37.2", "controller"},
		{"ci", "terraform-provider-kubernetes/2.0", "terraform-provider-kubernetes"},
		{"ci", "", "unknown"},
	} {
		if got := ClientOf(c.user, c.ua); got != c.want {
			t.Errorf("ClientOf(%q, %q) = %q, want %q", c.user, c.ua, got, c.want)
		}
	}
}
