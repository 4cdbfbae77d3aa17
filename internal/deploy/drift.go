package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Item is one object whose live state differs from the desired state.
type Item struct {
	ObjectRef
	// Resource is the API resource (plural), e.g. statefulsets.
	Resource string `json:"resource"`
	// State is "changed" (fields differ) or "missing" (deleted from the cluster).
	State   string   `json:"state"`
	Changes []Change `json:"changes,omitempty"`
	// Blame says who changed it, from the Kubernetes audit log (nil: not found).
	Blame *Blame `json:"blame,omitempty"`
}

// Report is the result of one drift check.
type Report struct {
	// Source describes the desired state: "helm:vigil/vigil", "dir:./k8s", "git:<url>@<ref>".
	Source    string    `json:"source"`
	CheckedAt time.Time `json:"checkedAt"`
	// Since is when the desired state was last applied (a Helm release's deploy time), if known.
	Since   time.Time `json:"since,omitzero"`
	Checked int       `json:"checked"`
	Items   []Item    `json:"items"`
	Errors  []string  `json:"errors,omitempty"`
}

// Detect compares each desired object with its live counterpart.
func Detect(ctx context.Context, live *Live, source string, desired []*unstructured.Unstructured) *Report {
	r := &Report{Source: source, CheckedAt: time.Now().UTC(), Items: []Item{}}
	for _, d := range desired {
		if err := ctx.Err(); err != nil {
			r.Errors = append(r.Errors, err.Error())
			break
		}
		got, gvr, err := live.Get(ctx, d)
		if err != nil {
			r.Errors = append(r.Errors, err.Error())
			continue
		}
		r.Checked++
		ref := refOf(d)
		if got == nil {
			r.Items = append(r.Items, Item{ObjectRef: ref, Resource: gvr.Resource, State: "missing"})
			continue
		}
		if cs := CompareDesired(d.Object, got.Object); len(cs) > 0 {
			r.Items = append(r.Items, Item{ObjectRef: ref, Resource: gvr.Resource, State: "changed", Changes: maskSecretChanges(ref, cs)})
		}
	}
	sort.Slice(r.Items, func(i, j int) bool { return r.Items[i].String() < r.Items[j].String() })
	return r
}

// GitCheckout clones ref of a Git repository (URL or local path) shallowly
// into a new temporary directory, which the caller removes.
func GitCheckout(ctx context.Context, repo, ref string) (string, error) {
	if strings.HasPrefix(repo, "-") || strings.HasPrefix(ref, "-") {
		return "", fmt.Errorf("bad git repository or ref")
	}
	dir, err := os.MkdirTemp("", "vigil-drift-git-")
	if err != nil {
		return "", err
	}
	args := []string{"clone", "--quiet", "--depth", "1"}
	if ref != "" {
		args = append(args, "--branch", ref)
	}
	args = append(args, "--", repo, dir)
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("git clone %s: %w: %s", repo, err, strings.TrimSpace(string(out)))
	}
	return dir, nil
}

// GitManifests reads the manifests under sub of a Git checkout of repo at ref.
func GitManifests(ctx context.Context, repo, ref, sub string) ([]*unstructured.Unstructured, error) {
	dir, err := GitCheckout(ctx, repo, ref)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, filepath.Clean("/"+sub))
	return LoadManifestDir(p)
}

// WriteText prints a report for people: one block per drifted object.
func (r *Report) WriteText(w interface{ Write([]byte) (int, error) }) {
	fmt.Fprintf(w, "drift check of %s: %d objects checked, %d drifted\n", r.Source, r.Checked, len(r.Items))
	for _, it := range r.Items {
		fmt.Fprintf(w, "\n~ %s (%s)\n", it.ObjectRef, it.State)
		for _, c := range it.Changes {
			fmt.Fprintf(w, "    %s\n", c)
		}
		if b := it.Blame; b != nil {
			fmt.Fprintf(w, "    changed by %s at %s with %s from %s (%s %s)\n", b.User, b.Time.Format(time.RFC3339), b.Client, b.SourceIP, b.Verb, b.What())
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "! %s\n", e)
	}
}

// JSON renders the report.
func (r *Report) JSON() []byte {
	b, _ := json.MarshalIndent(r, "", "  ")
	return b
}
