package deploy

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"vigil/internal/store/logs"
)

// Blame is who last changed an object, from the Kubernetes audit log.
type Blame struct {
	// User made the change; ImpersonatedBy is who acted as them, if anyone.
	User           string    `json:"user"`
	ImpersonatedBy string    `json:"impersonatedBy,omitempty"`
	Groups         string    `json:"groups,omitempty"`
	Time           time.Time `json:"time"`
	SourceIP       string    `json:"sourceIP,omitempty"`
	UserAgent      string    `json:"userAgent,omitempty"`
	Client         string    `json:"client"`
	Verb           string    `json:"verb"`
	Resource       string    `json:"resource"`
	Subresource    string    `json:"subresource,omitempty"`
	AuditID        string    `json:"auditID,omitempty"`
}

// What names the changed resource, e.g. statefulsets/scale.
func (b *Blame) What() string {
	if b.Subresource != "" {
		return b.Resource + "/" + b.Subresource
	}
	return b.Resource
}

// LogQuerier runs LogsQL queries (logs.Store does).
type LogQuerier interface {
	Query(ctx context.Context, query string, r logs.Range, limit int, fn func(row []logs.Field) error) error
}

// blameWindow reaches back before the last deployment, since a check may run
// long after the change.
const blameWindow = 30 * 24 * time.Hour

// BlameQuery is the LogsQL query for the audited writes to an object.
func BlameQuery(it Item) string {
	var b strings.Builder
	b.WriteString(`source:="kube-audit" audit.verb:in(create,update,patch,delete)`)
	fmt.Fprintf(&b, " audit.resource:=%s audit.name:=%s", strconv.Quote(it.Resource), strconv.Quote(it.Name))
	if it.Namespace != "" {
		fmt.Fprintf(&b, " audit.namespace:=%s", strconv.Quote(it.Namespace))
	}
	return b.String()
}

// FindBlame returns the most recent successful change of the object made by
// someone other than vigil's own installer, after since (zero: the last 30
// days). It returns nil when the audit log holds none.
func FindBlame(ctx context.Context, q LogQuerier, it Item, since time.Time) (*Blame, error) {
	now := time.Now()
	if since.IsZero() || now.Sub(since) > blameWindow {
		since = now.Add(-blameWindow)
	}
	var best *Blame
	err := q.Query(ctx, BlameQuery(it), logs.Range{Start: since, End: now.Add(time.Minute)}, 0, func(row []logs.Field) error {
		b := blameFromRow(row)
		if b == nil || !b.counts() {
			return nil
		}
		if best == nil || b.Time.After(best.Time) {
			best = b
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("query audit log for %s: %w", it.ObjectRef, err)
	}
	return best, nil
}

// counts drops what is not a person's or tool's change: status updates by
// controllers, failed requests and vigil's own rollouts.
func (b *Blame) counts() bool {
	if b.Subresource == "status" {
		return false
	}
	if strings.HasPrefix(b.UserAgent, UserAgentPrefix) {
		return false
	}
	return true
}

func blameFromRow(row []logs.Field) *Blame {
	b := &Blame{}
	code, imp := "", ""
	for _, f := range row {
		switch f.Name {
		case "_time":
			t, err := time.Parse(time.RFC3339Nano, f.Value)
			if err != nil {
				return nil
			}
			b.Time = t
		case "audit.user":
			b.User = f.Value
		case "audit.impersonated_user":
			imp = f.Value
		case "audit.groups":
			b.Groups = f.Value
		case "audit.source_ip":
			b.SourceIP = f.Value
		case "audit.user_agent":
			b.UserAgent = f.Value
		case "audit.verb":
			b.Verb = f.Value
		case "audit.resource":
			b.Resource = f.Value
		case "audit.subresource":
			b.Subresource = f.Value
		case "audit.id":
			b.AuditID = f.Value
		case "audit.code":
			code = f.Value
		}
	}
	if imp != "" {
		b.User, b.ImpersonatedBy = imp, b.User
	}
	if b.User == "" || b.Time.IsZero() {
		return nil
	}
	if c, err := strconv.Atoi(code); err == nil && c >= 400 {
		return nil
	}
	b.Client = ClientOf(b.User, b.UserAgent)
	return b
}

// ClientOf names the kind of client from the audit event's user and user agent:
// kubectl, helm, vigil, a browser (UI), a controller, or the agent's product name.
func ClientOf(user, userAgent string) string {
	ua := strings.ToLower(userAgent)
	switch {
	case strings.HasPrefix(ua, "kubectl"):
		return "kubectl"
	case strings.HasPrefix(ua, strings.ToLower(UserAgentPrefix)):
		return "vigil"
	case strings.HasPrefix(ua, "helm"):
		return "helm"
	case strings.Contains(ua, "mozilla"):
		return "UI (browser)"
	case strings.HasPrefix(user, "system:serviceaccount:"), strings.HasPrefix(user, "system:kube-"),
		strings.HasPrefix(user, "system:node:"), strings.Contains(ua, "controller"):
		return "controller"
	}
	if userAgent == "" {
		return "unknown"
	}
	if i := strings.IndexAny(userAgent, "/ "); i > 0 {
		return userAgent[:i]
	}
	return userAgent
}
