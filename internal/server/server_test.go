package server

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/auth"
	"vigil/internal/store/logs"
)

type testServer struct {
	*Server
	url        string
	agentToken string
	apiToken   string
	cancel     context.CancelFunc
	done       chan error
}

func startServer(t *testing.T, mutate ...func(*Config)) *testServer {
	t.Helper()
	cfg := Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AdminPassword: "s3cret-pass", MaxBodyBytes: 4 << 20}
	for _, m := range mutate {
		m(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := New(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	_, agentTok, err := s.Auth.CreateToken(ctx, "test agent", auth.KindAgent)
	if err != nil {
		t.Fatal(err)
	}
	_, apiTok, err := s.Auth.CreateToken(ctx, "test api", auth.KindAPI)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, url: "http://" + addr.String(), agentToken: agentTok, apiToken: apiTok, cancel: cancel, done: make(chan error, 1)}
	go func() { ts.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-ts.done; err != nil {
			t.Errorf("server run: %v", err)
		}
	})
	return ts
}

func (ts *testServer) do(t *testing.T, method, path, token, contentType string, body []byte, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func logsPayload(ns, pod, container string, msgs ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	a := rl.Resource().Attributes()
	a.PutStr("k8s.namespace.name", ns)
	a.PutStr("k8s.pod.name", pod)
	a.PutStr("k8s.pod.uid", "uid-"+pod)
	a.PutStr("k8s.container.name", container)
	a.PutStr("k8s.node.name", "node-a")
	a.PutStr("k8s.pod.label.app", "web")
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := time.Now()
	for i, m := range msgs {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i) * time.Millisecond)))
		lr.Body().SetStr(m)
		lr.Attributes().PutStr("log.iostream", "stdout")
	}
	return ld
}

func protoLogs(t *testing.T, ld plog.Logs) []byte {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (ts *testServer) flushLogs() { ts.Logs.(*logs.Embedded).Flush() }

func (ts *testServer) queryLogs(t *testing.T, q string) []map[string]string {
	t.Helper()
	ts.flushLogs()
	code, body := ts.do(t, "GET", "/select/logsql/query?limit=100&query="+url.QueryEscape(q), ts.apiToken, "", nil)
	if code != 200 {
		t.Fatalf("query %q: %d %s", q, code, body)
	}
	var rows []map[string]string
	for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal(line, &row); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		rows = append(rows, row)
	}
	return rows
}

func TestAnonymousAccessIsRefused(t *testing.T) {
	ts := startServer(t)
	for _, p := range []string{"/api/v1/query?query=up", "/select/logsql/query?query=*", "/api/nodes", "/api/tokens", "/api/auth/me"} {
		if code, _ := ts.do(t, "GET", p, "", "", nil); code != 401 {
			t.Errorf("GET %s anonymous = %d, want 401", p, code)
		}
	}
	if code, _ := ts.do(t, "POST", "/v1/logs", "", "application/x-protobuf", nil); code != 401 {
		t.Errorf("anonymous ingest = %d", code)
	}
	if code, _ := ts.do(t, "POST", "/v1/logs", "not-a-token", "application/x-protobuf", nil); code != 401 {
		t.Errorf("wrong token ingest = %d", code)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, _ := ts.do(t, "GET", p, "", "", nil); code != 200 {
			t.Errorf("%s = %d", p, code)
		}
	}
	// An agent token may ingest but not read.
	if code, _ := ts.do(t, "GET", "/api/v1/query?query=up", ts.agentToken, "", nil); code != 403 {
		t.Errorf("agent token reading = %d, want 403", code)
	}
}

func TestLoginSessionAndCSRF(t *testing.T) {
	ts := startServer(t)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	post := func(path, body, csrf string) *http.Response {
		req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := post("/api/auth/login", `{"username":"admin","password":"wrong"}`, ""); r.StatusCode != 401 {
		t.Fatalf("bad password = %d", r.StatusCode)
	}
	r := post("/api/auth/login", `{"username":"admin","password":"s3cret-pass"}`, "")
	if r.StatusCode != 200 {
		t.Fatalf("login = %d", r.StatusCode)
	}
	var login struct{ CSRF string }
	json.NewDecoder(r.Body).Decode(&login)
	var cookie *http.Cookie
	for _, ck := range r.Cookies() {
		if ck.Name == auth.SessionCookie {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie flags wrong: %+v", cookie)
	}
	resp, err := c.Get(ts.url + "/api/nodes")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("session GET = %v %v", resp.StatusCode, err)
	}
	if r := post("/api/tokens", `{"name":"ci","kind":"api"}`, ""); r.StatusCode != 403 {
		t.Errorf("POST without CSRF = %d, want 403", r.StatusCode)
	}
	r = post("/api/tokens", `{"name":"ci","kind":"api"}`, login.CSRF)
	if r.StatusCode != 201 {
		t.Fatalf("POST with CSRF = %d", r.StatusCode)
	}
	var tok struct{ Token string }
	json.NewDecoder(r.Body).Decode(&tok)
	if code, _ := ts.do(t, "GET", "/api/v1/labels", tok.Token, "", nil); code != 200 {
		t.Errorf("new API token = %d", code)
	}
	if r := post("/api/auth/logout", "", login.CSRF); r.StatusCode != 204 {
		t.Errorf("logout = %d", r.StatusCode)
	}
	if resp, _ := c.Get(ts.url + "/api/nodes"); resp.StatusCode != 401 {
		t.Errorf("after logout = %d", resp.StatusCode)
	}
}

func TestOTLPLogsProtoAndJSONAreSearchable(t *testing.T) {
	ts := startServer(t)
	code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf",
		protoLogs(t, logsPayload("shop", "web-1", "nginx", "GET /cart 200", "GET /pay 500")))
	if code != 200 {
		t.Fatalf("proto ingest = %d %s", code, body)
	}
	js, _ := plogotlp.NewExportRequestFromLogs(logsPayload("shop", "api-1", "app", "json line one")).MarshalJSON()
	if code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/json", js); code != 200 {
		t.Fatalf("json ingest = %d %s", code, body)
	}
	// gzip-compressed protobuf, as the collector's exporters send it.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(protoLogs(t, logsPayload("shop", "web-2", "nginx", "compressed line")))
	zw.Close()
	if code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf", gz.Bytes(), "Content-Encoding", "gzip"); code != 200 {
		t.Fatalf("gzip ingest = %d %s", code, body)
	}
	rows := ts.queryLogs(t, `namespace:="shop" pod:="web-1" container:="nginx"`)
	if len(rows) != 2 {
		t.Fatalf("got %d rows for web-1, want 2: %v", len(rows), rows)
	}
	if rows[0]["_msg"] != "GET /pay 500" {
		t.Errorf("newest first: got %q", rows[0]["_msg"])
	}
	for k, want := range map[string]string{"node": "node-a", "pod_uid": "uid-web-1", "label.app": "web", "stream": "stdout"} {
		if rows[0][k] != want {
			t.Errorf("field %s = %q, want %q", k, rows[0][k], want)
		}
	}
	if rows := ts.queryLogs(t, `"json line one"`); len(rows) != 1 || rows[0]["pod"] != "api-1" {
		t.Errorf("json-ingested row: %v", rows)
	}
	if rows := ts.queryLogs(t, `compressed`); len(rows) != 1 {
		t.Errorf("gzip-ingested rows: %v", rows)
	}
	// The other LogsQL endpoints answer in VictoriaLogs' shapes.
	code, body = ts.do(t, "GET", "/select/logsql/field_values?field=pod&query=*", ts.apiToken, "", nil)
	if code != 200 || !strings.Contains(string(body), `"value":"web-1"`) {
		t.Errorf("field_values = %d %s", code, body)
	}
	code, body = ts.do(t, "GET", "/select/logsql/field_names?query=*", ts.apiToken, "", nil)
	if code != 200 || !strings.Contains(string(body), `"value":"namespace"`) {
		t.Errorf("field_names = %d %s", code, body)
	}
	code, body = ts.do(t, "GET", "/select/logsql/hits?query=*&step=1h&start=1h", ts.apiToken, "", nil)
	if code != 200 || !strings.Contains(string(body), `"total":4`) {
		t.Errorf("hits = %d %s", code, body)
	}
	code, body = ts.do(t, "GET", "/select/logsql/stats_query_range?step=1h&start=1h&query="+url.QueryEscape("* | stats by (pod) count() hits"), ts.apiToken, "", nil)
	if code != 200 || !strings.Contains(string(body), `"resultType":"matrix"`) || !strings.Contains(string(body), `"pod":"web-1"`) {
		t.Errorf("stats_query_range = %d %s", code, body)
	}
	if code, _ := ts.do(t, "GET", "/select/logsql/query?query="+url.QueryEscape("foo |"), ts.apiToken, "", nil); code != 400 {
		t.Errorf("bad LogsQL = %d, want 400", code)
	}
}

func TestBadIngestInput(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxBodyBytes = 2 << 20 })
	cases := []struct {
		name, ct string
		body     []byte
		hdr      []string
		want     int
	}{
		{"malformed proto", "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, nil, 400},
		{"malformed json", "application/json", []byte(`{"resourceLogs":[{`), nil, 400},
		{"wrong content type", "text/plain", []byte("hello"), nil, 415},
		{"oversized", "application/x-protobuf", bytes.Repeat([]byte{0}, 3<<20), nil, 413},
		{"bad gzip", "application/x-protobuf", []byte("not gzip"), []string{"Content-Encoding", "gzip"}, 400},
	}
	for _, c := range cases {
		if code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, c.ct, c.body, c.hdr...); code != c.want {
			t.Errorf("%s: got %d %s, want %d", c.name, code, body, c.want)
		}
	}
	// A gzip bomb: tiny on the wire, too big decompressed.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Repeat([]byte("a"), 8<<20))
	zw.Close()
	if code, _ := ts.do(t, "POST", "/v1/metrics", ts.agentToken, "application/x-protobuf", gz.Bytes(), "Content-Encoding", "gzip"); code != 413 {
		t.Errorf("gzip bomb = %d, want 413", code)
	}
	if code, _ := ts.do(t, "POST", "/api/v1/write", ts.agentToken, "application/x-protobuf", []byte("garbage")); code != 400 {
		t.Errorf("bad remote write = %d, want 400", code)
	}

	// Invalid UTF-8 and a 1 MiB line are stored, not lost, and the server keeps serving.
	bad := "caf\xc3\x28 \xff\xfe end"
	huge := strings.Repeat("x", 1<<20)
	code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf",
		protoLogs(t, logsPayload("edge", "odd-1", "c", bad, huge)))
	if code != 200 {
		t.Fatalf("odd lines = %d %s", code, body)
	}
	rows := ts.queryLogs(t, `namespace:="edge"`)
	if len(rows) != 2 {
		t.Fatalf("want 2 rows, got %d", len(rows))
	}
	var sawHuge, sawBad bool
	for _, r := range rows {
		if len(r["_msg"]) == 1<<20 {
			sawHuge = true
		}
		if strings.HasPrefix(r["_msg"], "caf") && strings.HasSuffix(r["_msg"], " end") {
			sawBad = true
		}
	}
	if !sawHuge || !sawBad {
		t.Errorf("huge=%v invalid-utf8=%v", sawHuge, sawBad)
	}
	if code, _ := ts.do(t, "GET", "/healthz", "", "", nil); code != 200 {
		t.Error("server unhealthy after bad input")
	}
}

func TestMetricsIngestAndPrometheusAPI(t *testing.T) {
	ts := startServer(t)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("k8s.node.name", "node-a")
	ms := rm.ScopeMetrics().AppendEmpty().Metrics()
	now := time.Now()
	sum := ms.AppendEmpty()
	sum.SetName("node_cpu_seconds_total")
	s := sum.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for i := 0; i < 10; i++ {
		dp := s.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i-10) * 15 * time.Second)))
		dp.SetDoubleValue(float64(i * 15))
		dp.Attributes().PutStr("mode", "idle")
		dp.Attributes().PutStr("cpu", "0")
	}
	body, _ := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if code, b := ts.do(t, "POST", "/v1/metrics", ts.agentToken, "application/x-protobuf", body); code != 200 {
		t.Fatalf("metrics ingest = %d %s", code, b)
	}
	// Remote write, as a Prometheus server sends it.
	wr := prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels:  []prompb.Label{{Name: "__name__", Value: "up"}, {Name: "job", Value: "rw"}},
		Samples: []prompb.Sample{{Value: 1, Timestamp: now.UnixMilli()}},
	}}}
	raw, _ := wr.Marshal()
	if code, b := ts.do(t, "POST", "/api/v1/write", ts.agentToken, "application/x-protobuf", snappy.Encode(nil, raw)); code != 204 {
		t.Fatalf("remote write = %d %s", code, b)
	}
	get := func(path string) map[string]any {
		code, b := ts.do(t, "GET", path, ts.apiToken, "", nil)
		if code != 200 {
			t.Fatalf("%s = %d %s", path, code, b)
		}
		var out map[string]any
		json.Unmarshal(b, &out)
		return out
	}
	r := get("/api/v1/query?query=" + url.QueryEscape(`rate(node_cpu_seconds_total{node="node-a"}[1m])`))
	res := r["data"].(map[string]any)["result"].([]any)
	if len(res) != 1 {
		t.Fatalf("rate result %v", r)
	}
	if v := res[0].(map[string]any)["value"].([]any)[1].(string); v != "1" {
		t.Errorf("rate = %s, want 1", v)
	}
	rr := get(fmt.Sprintf("/api/v1/query_range?query=up&start=%d&end=%d&step=15", now.Add(-time.Minute).Unix(), now.Unix()+1))
	if rr["data"].(map[string]any)["resultType"] != "matrix" {
		t.Errorf("query_range: %v", rr)
	}
	if got := fmt.Sprint(get("/api/v1/labels")["data"]); !strings.Contains(got, "node") || !strings.Contains(got, "job") {
		t.Errorf("labels = %s", got)
	}
	if got := fmt.Sprint(get("/api/v1/label/job/values")["data"]); got != "[rw]" {
		t.Errorf("label values = %s", got)
	}
	if got := fmt.Sprint(get("/api/v1/series?match[]=up")["data"]); !strings.Contains(got, "rw") {
		t.Errorf("series = %s", got)
	}
	if code, _ := ts.do(t, "GET", "/api/v1/query?query=rate(", ts.apiToken, "", nil); code != 400 {
		t.Errorf("bad PromQL = %d", code)
	}
	// The node shows up in the inventory from its agent's metrics.
	code, b := ts.do(t, "GET", "/api/nodes", ts.apiToken, "", nil)
	if code != 200 || !strings.Contains(string(b), `"name":"node-a"`) {
		t.Errorf("nodes = %d %s", code, b)
	}
}

func TestLiveTailStreamsNewLines(t *testing.T) {
	ts := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/select/logsql/tail?query="+url.QueryEscape(`namespace:="live"`), nil)
	req.Header.Set("Authorization", "Bearer "+ts.apiToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("tail = %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	// Lines from another namespace must not appear; these must, once each.
	ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf", protoLogs(t, logsPayload("other", "x", "c", "not for this tail")))
	ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf", protoLogs(t, logsPayload("live", "p", "c", "tail one", "tail two")))
	got := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(got) < 2 {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var row map[string]string
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			t.Fatalf("bad event %q", line)
		}
		if row["namespace"] != "live" {
			t.Errorf("foreign row in tail: %v", row)
		}
		got[row["_msg"]]++
	}
	if got["tail one"] != 1 || got["tail two"] != 1 {
		t.Errorf("tail got %v", got)
	}
}

// A full disk makes ingestion fail with a retryable 503 (the agent keeps its
// buffer), never a silent 200 that drops the lines.
func TestFullDiskRefusesLogsRetryably(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.LogsMinFreeDisk = 1 << 62 })
	code, body := ts.do(t, "POST", "/v1/logs", ts.agentToken, "application/x-protobuf", protoLogs(t, logsPayload("ns", "p", "c", "line")))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "free disk") {
		t.Errorf("full disk ingest = %d %s, want 503 with a clear message", code, body)
	}
}

func TestServesTLSWhenGivenACert(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSignedCert(t, dir)
	ts := startServer(t, func(c *Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
	httpsURL := strings.Replace(ts.url, "http://", "https://", 1)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := c.Get(httpsURL + "/healthz")
	if err != nil {
		t.Fatalf("https: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("https healthz = %d", resp.StatusCode)
	}
	// Login over TLS sets a Secure cookie.
	resp, err = c.Post(httpsURL+"/api/auth/login", "application/json", strings.NewReader(`{"username":"admin","password":"s3cret-pass"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(resp.Cookies()) == 0 || !resp.Cookies()[0].Secure {
		t.Errorf("session cookie over TLS not Secure: %v", resp.Cookies())
	}
	if resp, err := http.Get(ts.url + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP served on the TLS port")
	}
}

func selfSignedCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigil-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
