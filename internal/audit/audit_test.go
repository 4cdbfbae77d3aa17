package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"vigil/internal/store/logs"
)

func fieldMap(r logs.Record) map[string]string {
	m := map[string]string{}
	for _, f := range r.Fields {
		m[f.Name] = f.Value
	}
	return m
}

func TestParseEventList(t *testing.T) {
	body, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	create := fieldMap(recs[0])
	want := map[string]string{
		"source":           "kube-audit",
		"_msg":             "system:serviceaccount:shop:deployer create pods shop/web-0",
		"audit.id":         "3f1c2a6e-1111-4c3b-9d2e-000000000001",
		"audit.stage":      "ResponseComplete",
		"audit.verb":       "create",
		"audit.user":       "system:serviceaccount:shop:deployer",
		"audit.groups":     "system:serviceaccounts,system:serviceaccounts:shop,system:authenticated",
		"audit.source_ip":  "10.1.2.3",
		"audit.resource":   "pods",
		"audit.namespace":  "shop",
		"audit.name":       "web-0",
		"audit.code":       "201",
		"audit.decision":   "allow",
		"audit.latency_ms": "16",
	}
	for k, v := range want {
		if create[k] != v {
			t.Errorf("%s = %q, want %q", k, create[k], v)
		}
	}
	if _, ok := create["audit.api_group"]; ok {
		t.Errorf("core group should leave audit.api_group empty")
	}
	if !strings.HasPrefix(create["audit.request_object"], `{"kind":"Pod"`) {
		t.Errorf("request object = %q", create["audit.request_object"])
	}
	if got := recs[0].Time; !got.Equal(time.Date(2026, 11, 26, 15, 0, 0, 123456000, time.UTC)) {
		t.Errorf("time = %v", got)
	}
	exec := fieldMap(recs[1])
	if exec["audit.subresource"] != "exec" || exec["audit.user"] != "alice" || exec["_msg"] != "alice create pods/exec shop/web-0" {
		t.Errorf("exec row = %v", exec)
	}
	anon := fieldMap(recs[2])
	if anon["_msg"] != "system:anonymous get /healthz → 403" || anon["audit.resource"] != "" {
		t.Errorf("non-resource row = %v", anon)
	}
}

func TestParseRejects(t *testing.T) {
	good, _ := os.ReadFile("testdata/eventlist.json")
	cases := map[string]string{
		"not json":        `{"kind":`,
		"wrong kind":      `{"kind":"Event","apiVersion":"audit.k8s.io/v1","items":[]}`,
		"wrong version":   `{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]}`,
		"trailing data":   string(good) + `{}`,
		"invalid utf8":    strings.Replace(string(good), "alice", "al\xffice", 1),
		"bad timestamp":   strings.Replace(string(good), "2026-11-26T15:02:00Z", "yesterday", 1),
		"missing auditID": strings.Replace(string(good), `"auditID":"3f1c2a6e-1111-4c3b-9d2e-000000000003",`, "", 1),
		"items not array": `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":{}}`,
	}
	for name, body := range cases {
		if recs, err := Parse([]byte(body)); err == nil {
			t.Errorf("%s: accepted (%d records)", name, len(recs))
		}
	}
}

func TestReceiverAllOrNothing(t *testing.T) {
	st, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc := &Receiver{Logs: st, MaxBodyBytes: 1 << 20}
	good, _ := os.ReadFile("testdata/eventlist.json")
	post := func(body []byte, hdr map[string]string) int {
		req := httptest.NewRequest("POST", "/api/v1/audit/webhook", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		rc.ServeHTTP(w, req)
		return w.Code
	}
	// The last event is broken: the first two must not be stored either.
	half := strings.Replace(string(good), "2026-11-26T15:02:00Z", "not-a-time", 1)
	if code := post([]byte(half), nil); code != http.StatusBadRequest {
		t.Errorf("half-bad payload: %d, want 400", code)
	}
	huge := append([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[`), bytes.Repeat([]byte(" "), 2<<20)...)
	if code := post(huge, nil); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge payload: %d, want 413", code)
	}
	var bomb bytes.Buffer
	gz := gzip.NewWriter(&bomb)
	gz.Write(huge)
	gz.Close()
	if code := post(bomb.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != http.StatusRequestEntityTooLarge {
		t.Errorf("gzip bomb: %d, want 413", code)
	}
	if code := post(good, map[string]string{"Content-Type": "text/plain"}); code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d, want 415", code)
	}
	st.Flush()
	n := 0
	if err := st.Query(context.Background(), `source:="kube-audit"`, logs.Range{}, 0, func([]logs.Field) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d rows stored from rejected payloads", n)
	}
	if code := post(good, nil); code != http.StatusOK {
		t.Fatalf("good payload: %d", code)
	}
	st.Flush()
	var users []string
	err = st.Query(context.Background(), `source:="kube-audit" audit.subresource:=exec`, logs.Range{}, 0, func(row []logs.Field) error {
		for _, f := range row {
			if f.Name == "audit.user" {
				users = append(users, f.Value)
			}
		}
		return nil
	})
	if err != nil || len(users) != 1 || users[0] != "alice" {
		t.Fatalf("exec query: %v %v", users, err)
	}
	if rc.EventsIn.Load() != 3 || rc.Rejected.Load() != 4 {
		t.Errorf("counters in=%d rejected=%d", rc.EventsIn.Load(), rc.Rejected.Load())
	}
}

func TestTokenFromQuery(t *testing.T) {
	var gotAuth, gotQuery string
	h := TokenFromQuery(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth, gotQuery = r.Header.Get("Authorization"), r.URL.RawQuery
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/x?token=s3cret&a=b", nil))
	if gotAuth != "Bearer s3cret" || strings.Contains(gotQuery, "s3cret") {
		t.Errorf("auth %q query %q", gotAuth, gotQuery)
	}
}

func FuzzParse(f *testing.F) {
	good, _ := os.ReadFile("testdata/eventlist.json")
	f.Add(good)
	f.Add([]byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, err := Parse(body)
		if err != nil {
			if recs != nil {
				t.Fatalf("error with records")
			}
			return
		}
		for _, r := range recs {
			m := fieldMap(r)
			if m["source"] != Source || m["audit.id"] == "" || m["audit.verb"] == "" || r.Time.IsZero() {
				t.Fatalf("incomplete record %v", m)
			}
		}
	})
}
