// Package audit receives the Kubernetes API server's audit events (the
// webhook backend's audit.k8s.io/v1 EventList) and stores each event as one
// log row with structured audit.* fields, so "who did what to which object"
// is a LogsQL query.
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"vigil/internal/store/logs"
)

// Source is the value of the stream field "source" on every audit row.
const Source = "kube-audit"

// MaxRequestObjectBytes bounds the stored request object; bigger ones are
// left out (and flagged) rather than stored cut in half.
const MaxRequestObjectBytes = 64 << 10

// MaxEvents bounds the events of one payload.
const MaxEvents = 100_000

// The fields of audit.k8s.io/v1 Event that vigil keeps.
type event struct {
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     userInfo          `json:"user"`
	ImpersonatedUser         *userInfo         `json:"impersonatedUser"`
	SourceIPs                []string          `json:"sourceIPs"`
	UserAgent                string            `json:"userAgent"`
	ObjectRef                *objectRef        `json:"objectRef"`
	ResponseStatus           *status           `json:"responseStatus"`
	RequestObject            json.RawMessage   `json:"requestObject"`
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"`
	StageTimestamp           string            `json:"stageTimestamp"`
	Annotations              map[string]string `json:"annotations"`
}

type userInfo struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type objectRef struct {
	Resource    string `json:"resource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	APIGroup    string `json:"apiGroup"`
	Subresource string `json:"subresource"`
}

type status struct {
	Code    int    `json:"code"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type eventList struct {
	Kind       string            `json:"kind"`
	APIVersion string            `json:"apiVersion"`
	Items      []json.RawMessage `json:"items"`
}

// Parse decodes an audit.k8s.io/v1 EventList into log records. It is all or
// nothing: one bad event fails the whole payload so nothing is stored half.
func Parse(body []byte) ([]logs.Record, error) {
	if !utf8.Valid(body) {
		return nil, errors.New("audit payload is not valid UTF-8")
	}
	var list eventList
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("decode audit EventList: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode audit EventList: trailing data after the object")
	}
	if list.Kind != "EventList" {
		return nil, fmt.Errorf("audit payload kind is %q, want EventList", list.Kind)
	}
	if list.APIVersion != "audit.k8s.io/v1" {
		return nil, fmt.Errorf("audit payload apiVersion is %q, want audit.k8s.io/v1", list.APIVersion)
	}
	if len(list.Items) > MaxEvents {
		return nil, fmt.Errorf("audit payload has %d events, more than %d", len(list.Items), MaxEvents)
	}
	out := make([]logs.Record, 0, len(list.Items))
	for i, raw := range list.Items {
		var ev event
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, fmt.Errorf("audit event %d: %w", i, err)
		}
		rec, err := ev.record()
		if err != nil {
			return nil, fmt.Errorf("audit event %d (%s): %w", i, ev.AuditID, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q", s)
	}
	return t, nil
}

func (ev *event) record() (logs.Record, error) {
	if ev.AuditID == "" {
		return logs.Record{}, errors.New("missing auditID")
	}
	if ev.Stage == "" || ev.Verb == "" {
		return logs.Record{}, errors.New("missing stage or verb")
	}
	if ev.RequestReceivedTimestamp == "" {
		return logs.Record{}, errors.New("missing requestReceivedTimestamp")
	}
	ts, err := parseTime(ev.RequestReceivedTimestamp)
	if err != nil {
		return logs.Record{}, err
	}
	fields := make([]logs.Field, 0, 24)
	add := func(name, value string) {
		if value != "" {
			fields = append(fields, logs.Field{Name: name, Value: value})
		}
	}
	add("source", Source)
	var ref objectRef
	if ev.ObjectRef != nil {
		ref = *ev.ObjectRef
	}
	add("_msg", message(ev, ref))
	add("audit.id", ev.AuditID)
	add("audit.stage", ev.Stage)
	add("audit.level", ev.Level)
	add("audit.verb", ev.Verb)
	add("audit.user", ev.User.Username)
	add("audit.groups", strings.Join(ev.User.Groups, ","))
	if iu := ev.ImpersonatedUser; iu != nil {
		add("audit.impersonated_user", iu.Username)
		add("audit.impersonated_groups", strings.Join(iu.Groups, ","))
	}
	add("audit.user_agent", ev.UserAgent)
	if len(ev.SourceIPs) > 0 {
		add("audit.source_ip", ev.SourceIPs[0])
	}
	add("audit.api_group", ref.APIGroup)
	add("audit.resource", ref.Resource)
	add("audit.subresource", ref.Subresource)
	add("audit.namespace", ref.Namespace)
	add("audit.name", ref.Name)
	if rs := ev.ResponseStatus; rs != nil {
		if rs.Code != 0 {
			add("audit.code", strconv.Itoa(rs.Code))
		}
		add("audit.reason", rs.Reason)
	}
	add("audit.request_uri", ev.RequestURI)
	add("audit.decision", ev.Annotations["authorization.k8s.io/decision"])
	add("audit.authz_reason", ev.Annotations["authorization.k8s.io/reason"])
	if ro := bytes.TrimSpace(ev.RequestObject); len(ro) > 0 && !bytes.Equal(ro, []byte("null")) {
		if len(ro) <= MaxRequestObjectBytes {
			var compact bytes.Buffer
			if err := json.Compact(&compact, ro); err != nil {
				return logs.Record{}, fmt.Errorf("requestObject: %w", err)
			}
			add("audit.request_object", compact.String())
		} else {
			add("audit.request_object_omitted", strconv.Itoa(len(ro))+" bytes")
		}
	}
	if ev.StageTimestamp != "" {
		if st, err := parseTime(ev.StageTimestamp); err == nil {
			add("audit.latency_ms", strconv.FormatInt(st.Sub(ts).Milliseconds(), 10))
		}
	}
	// Decoded JSON strings are valid UTF-8 except for lone surrogate escapes,
	// which encoding/json already replaces; keep the guarantee explicit.
	for i := range fields {
		fields[i].Value = strings.ToValidUTF8(fields[i].Value, "\uFFFD")
	}
	return logs.Record{Time: ts, Fields: fields}, nil
}

// message is "<user> <verb> <resource> <namespace>/<name>", the line a
// person reads in the explorer; the structured fields carry the same facts.
func message(ev *event, ref objectRef) string {
	var b strings.Builder
	user := ev.User.Username
	if user == "" {
		user = "<anonymous>"
	}
	b.WriteString(user)
	if iu := ev.ImpersonatedUser; iu != nil && iu.Username != "" {
		b.WriteString(" (as " + iu.Username + ")")
	}
	b.WriteString(" " + ev.Verb + " ")
	switch {
	case ref.Resource != "":
		b.WriteString(ref.Resource)
		if ref.Subresource != "" {
			b.WriteString("/" + ref.Subresource)
		}
		obj := ref.Name
		if ref.Namespace != "" {
			obj = ref.Namespace + "/" + ref.Name
		}
		if obj != "" {
			b.WriteString(" " + obj)
		}
	default:
		b.WriteString(ev.RequestURI)
	}
	if rs := ev.ResponseStatus; rs != nil && rs.Code >= 400 {
		b.WriteString(" → " + strconv.Itoa(rs.Code))
	}
	return b.String()
}
