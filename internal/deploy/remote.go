package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"strconv"
	"strings"
	"time"

	"vigil/internal/store/logs"
)

// RemoteLogs runs LogsQL queries against a vigil server's LogsQL API, so the
// CLI can find blame in the audit log the server keeps.
type RemoteLogs struct {
	URL    string // e.g. http://vigil.vigil.svc:8080
	Token  string // API token
	Client *http.Client
}

// Query implements LogQuerier.
func (r *RemoteLogs) Query(ctx context.Context, query string, rg logs.Range, limit int, fn func(row []logs.Field) error) error {
	q := url.Values{"query": {query}}
	if !rg.Start.IsZero() {
		q.Set("start", strconv.FormatInt(rg.Start.Unix(), 10))
	}
	if !rg.End.IsZero() {
		q.Set("end", strconv.FormatInt(rg.End.Unix()+1, 10))
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(r.URL, "/")+"/select/logsql/query?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("query %s: %w", r.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("query %s: %s: %s", r.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m map[string]string
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("bad row from %s: %w", r.URL, err)
		}
		row := make([]logs.Field, 0, len(m))
		for _, k := range sortedKeys(m) {
			row = append(row, logs.Field{Name: k, Value: m[k]})
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return sc.Err()
}
