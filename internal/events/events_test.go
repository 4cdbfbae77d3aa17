package events

import (
	"context"
	"strings"
	"testing"
	"time"

	"vigil/internal/store/logs"
)

func TestFilterQuery(t *testing.T) {
	cases := []struct {
		f    Filter
		want string
	}{
		{Filter{}, "*"},
		{Filter{Types: []string{"Warning"}}, `type:="Warning"`},
		{Filter{Reasons: []string{"OOMKilled", "BackOff"}, Namespaces: []string{"shop"}}, `reason:in("OOMKilled","BackOff") namespace:="shop"`},
		{Filter{Name: `we"b`, MarkerOnly: true}, `name:="we\"b" marker:="true"`},
		{Filter{Text: "deploy  v2.3"}, `i("deploy") i("v2.3")`},
	}
	for _, c := range cases {
		if got := c.f.Query(); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Event{
		{Message: " "},
		{Message: "x", Type: "Error"},
		{Message: strings.Repeat("x", maxText+1)},
		{Message: "x", Tags: map[string]string{"a b": "c"}},
	}
	for _, e := range bad {
		if err := e.Validate(); err == nil {
			t.Errorf("%+v accepted", e)
		}
	}
	e := Event{Message: "deploying v2.3"}
	if err := e.Validate(); err != nil || e.Type != Normal {
		t.Errorf("valid event: %v %+v", err, e)
	}
}

// A real embedded log store: events go in and come back with every field,
// filtered, newest first, with facet counts.
func TestRecordFind(t *testing.T) {
	st, err := logs.OpenEmbedded(logs.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s := New(st)
	defer s.Close()
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	evs := []Event{
		{Time: now.Add(-3 * time.Minute), Type: Warning, Source: "kubernetes", Reason: "FailedScheduling", Message: "0/3 nodes are available", Namespace: "batch", Kind: "Pod", Name: "stuck", Count: 4},
		{Time: now.Add(-2 * time.Minute), Source: "vigil/changes", Reason: "Updated", Message: "Deployment web scaled from 3 to 5 replicas", Namespace: "shop", Kind: "Deployment", Name: "web"},
		{Time: now.Add(-time.Minute), Source: "user", Message: "Deploying v2.3", Marker: true, Namespace: "shop", Tags: map[string]string{"user": "admin"}},
	}
	if err := s.Record(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	var got []Event
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got, err = s.Find(ctx, Filter{}); err == nil && len(got) == 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 3 {
		t.Fatalf("found %d events: %v", len(got), err)
	}
	if got[0].Message != "Deploying v2.3" || !got[0].Marker || got[0].Tags["user"] != "admin" || got[0].Type != Normal {
		t.Errorf("newest = %+v", got[0])
	}
	if w := got[2]; w.Count != 4 || w.Kind != "Pod" || w.Name != "stuck" || !w.Time.Equal(evs[0].Time) {
		t.Errorf("oldest = %+v", w)
	}
	check := func(f Filter, want ...string) {
		t.Helper()
		res, err := s.Find(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, e := range res {
			msgs = append(msgs, e.Message)
		}
		if strings.Join(msgs, "|") != strings.Join(want, "|") {
			t.Errorf("%+v: %q, want %q", f, msgs, want)
		}
	}
	check(Filter{Types: []string{Warning}}, "0/3 nodes are available")
	check(Filter{Namespaces: []string{"shop"}, Kinds: []string{"Deployment"}}, "Deployment web scaled from 3 to 5 replicas")
	check(Filter{Text: "deploying"}, "Deploying v2.3") // case-insensitive word
	check(Filter{MarkerOnly: true}, "Deploying v2.3")
	check(Filter{Start: now.Add(-150 * time.Second)}, "Deploying v2.3", "Deployment web scaled from 3 to 5 replicas")
	fc, err := s.Facets(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, v := range fc["namespace"] {
		counts[v.Value] = v.Hits
	}
	if counts["shop"] != 2 || counts["batch"] != 1 {
		t.Errorf("namespace facet %v", fc["namespace"])
	}
}
