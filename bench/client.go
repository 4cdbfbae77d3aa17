package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Server is a vigil server subprocess with an API token for queries.
type Server struct {
	*Proc
	URL        string
	AgentToken string // accepted for ingestion (--agent-token)
	Token      string // API token: queries and ingestion
	hc         *http.Client
}

// StartServer runs `vigil server` on a free port of 127.0.0.1 with its own
// data directory under dir, waits until it is ready and creates an API token.
func StartServer(ctx context.Context, vigil, dir, name string) (*Server, error) {
	return StartServerArgs(ctx, vigil, dir, name)
}

// StartServerArgs is StartServer with extra `vigil server` arguments.
func StartServerArgs(ctx context.Context, vigil, dir, name string, extra ...string) (*Server, error) {
	const password = "bench-admin-password"
	agentToken := "bench-agent-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken before the server binds it
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p, err := Start(name, filepath.Join(dir, name+".log"), []string{"VIGIL_ADMIN_PASSWORD=" + password}, vigil,
			append([]string{"server", "--listen", addr, "--data-dir", filepath.Join(dir, name+"-data"), "--agent-token", agentToken, "--log-level", "warn"}, extra...)...)
		if err != nil {
			return nil, err
		}
		s := &Server{Proc: p, URL: "http://" + addr, AgentToken: agentToken, hc: &http.Client{Timeout: 5 * time.Minute}}
		if lastErr = s.waitReady(ctx, 60*time.Second); lastErr != nil {
			p.Stop(5 * time.Second)
			continue
		}
		if lastErr = s.login(password); lastErr != nil {
			p.Stop(5 * time.Second)
			return nil, lastErr
		}
		return s, nil
	}
	return nil, fmt.Errorf("vigil server did not start: %w", lastErr)
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if exited, err := s.Exited(); exited {
			return fmt.Errorf("server exited (%v): %s", err, s.LogTail(2000))
		}
		resp, err := s.hc.Get(s.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("server not ready after %s: %s", limit, s.LogTail(2000))
}

func (s *Server) login(password string) error {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": password})
	resp, err := hc.Post(s.URL+"/api/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	var lr struct{ CSRF string }
	err = json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		return fmt.Errorf("login: status %d, %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/tokens", strings.NewReader(`{"name":"bench","kind":"api"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", lr.CSRF)
	resp, err = hc.Do(req)
	if err != nil {
		return err
	}
	var tr struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || err != nil || tr.Token == "" {
		return fmt.Errorf("create API token: status %d, %v", resp.StatusCode, err)
	}
	s.Token = tr.Token
	return nil
}

// Get calls a query API and returns the body.
func (s *Server) Get(ctx context.Context, path string, params url.Values) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, bytes.TrimSpace(b))
	}
	return b, nil
}

// StatusError is a non-2xx answer.
type StatusError struct {
	Path string
	Code int
	Body string
}

func (e *StatusError) Error() string { return fmt.Sprintf("POST %s: %d %s", e.Path, e.Code, e.Body) }

// Post sends an ingestion request with the API token; header holds extra
// header name/value pairs.
func (s *Server) Post(ctx context.Context, hc *http.Client, path, contentType string, body []byte, header ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return &StatusError{Path: path, Code: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
	}
	return nil
}

// RemoteWriteHeaders are the headers Prometheus sends with remote-write 1.0.
var RemoteWriteHeaders = []string{"Content-Encoding", "snappy", "X-Prometheus-Remote-Write-Version", "0.1.0"}

// Count returns how many stored log records match a LogsQL filter.
func (s *Server) Count(ctx context.Context, filter string) (int64, error) {
	b, err := s.Get(ctx, "/select/logsql/query", url.Values{"query": {filter + " | stats count() n"}})
	if err != nil {
		return 0, err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, nil
	}
	var row struct{ N string }
	if err := json.Unmarshal(b, &row); err != nil {
		return 0, fmt.Errorf("count result %q: %w", b, err)
	}
	return strconv.ParseInt(row.N, 10, 64)
}

// WaitCount polls until at least want records match filter; it returns the
// time that took and the last count seen.
func (s *Server) WaitCount(ctx context.Context, filter string, want int64, every, limit time.Duration, alive func() error) (time.Duration, int64, error) {
	start := time.Now()
	var n int64
	for {
		var err error
		n, err = s.Count(ctx, filter)
		if err != nil {
			return time.Since(start), n, err
		}
		if n >= want {
			return time.Since(start), n, nil
		}
		if alive != nil {
			if err := alive(); err != nil {
				return time.Since(start), n, err
			}
		}
		if time.Since(start) > limit {
			return time.Since(start), n, fmt.Errorf("only %d of %d records after %s", n, want, limit)
		}
		select {
		case <-ctx.Done():
			return time.Since(start), n, ctx.Err()
		case <-time.After(every):
		}
	}
}
