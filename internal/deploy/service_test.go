package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"vigil/internal/store/state"
)

func TestServiceWithoutCluster(t *testing.T) {
	ctx := context.Background()
	st, err := state.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := NewService(ctx, ServiceConfig{DB: st.DB()})
	if err != nil {
		t.Fatal(err)
	}
	// A stored report comes back from the API as the latest of its source.
	for i, n := range []int{2, 0} {
		r := &Report{Source: "helm:vigil/vigil", CheckedAt: time.Now().Add(time.Duration(i) * time.Second), Checked: 14, Items: []Item{}}
		for range n {
			r.Items = append(r.Items, Item{ObjectRef: ObjectRef{Kind: "StatefulSet", Name: "x"}, State: "changed"})
		}
		if err := s.save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	s.Register(mux, func(h http.Handler) http.Handler { return h })
	do := func(method, path string) (int, []byte) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec.Code, rec.Body.Bytes()
	}
	code, body := do("GET", "/api/automation/status")
	var stat Status
	if code != 200 || json.Unmarshal(body, &stat) != nil {
		t.Fatalf("status: %d %s", code, body)
	}
	if stat.Cluster || len(stat.Releases) != 0 || len(stat.Drift) != 1 || len(stat.Drift[0].Items) != 0 {
		t.Errorf("status without a cluster: %s", body)
	}
	if code, body = do("POST", "/api/automation/drift/check"); code != http.StatusConflict {
		t.Errorf("check without a cluster: %d %s", code, body)
	}
	if err := s.Run(ctx); err != nil {
		t.Errorf("Run without a cluster: %v", err)
	}
}
