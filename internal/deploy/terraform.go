package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// MaxPlanBytes bounds a `terraform show -json` document.
const MaxPlanBytes = 256 << 20

// TerraformDrift is one resource changed outside Terraform.
type TerraformDrift struct {
	Address string   `json:"address"`
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Mode    string   `json:"mode"`
	Actions []string `json:"actions"`
	// Changes compare the state Terraform recorded (Desired) with what the
	// provider found (Live); sensitive values are masked.
	Changes []Change `json:"changes"`
}

type tfPlan struct {
	FormatVersion *string      `json:"format_version"`
	ResourceDrift []tfResource `json:"resource_drift"`
}

type tfResource struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	Name    string `json:"name"`
	Change  *struct {
		Actions         []string        `json:"actions"`
		Before          json.RawMessage `json:"before"`
		After           json.RawMessage `json:"after"`
		BeforeSensitive json.RawMessage `json:"before_sensitive"`
		AfterSensitive  json.RawMessage `json:"after_sensitive"`
	} `json:"change"`
}

// ParseTerraformDrift reads the JSON of `terraform show -json <planfile>` and
// returns its resource_drift: resources whose real state no longer matches
// what Terraform last recorded.
func ParseTerraformDrift(r io.Reader) ([]TerraformDrift, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPlanBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if len(data) > MaxPlanBytes {
		return nil, fmt.Errorf("plan JSON is larger than %d bytes", MaxPlanBytes)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("plan JSON is not valid UTF-8")
	}
	var p tfPlan
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not the JSON of `terraform show -json <plan>`: %w", err)
	}
	if p.FormatVersion == nil {
		return nil, errors.New("not the JSON of `terraform show -json <plan>`: no format_version")
	}
	if !strings.HasPrefix(*p.FormatVersion, "1.") {
		return nil, fmt.Errorf("unsupported plan format_version %q (want 1.x)", *p.FormatVersion)
	}
	out := make([]TerraformDrift, 0, len(p.ResourceDrift))
	for i, rd := range p.ResourceDrift {
		if rd.Address == "" || rd.Change == nil {
			return nil, fmt.Errorf("resource_drift[%d]: missing address or change", i)
		}
		before, err := decodeAny(rd.Change.Before)
		if err != nil {
			return nil, fmt.Errorf("%s: before: %w", rd.Address, err)
		}
		after, err := decodeAny(rd.Change.After)
		if err != nil {
			return nil, fmt.Errorf("%s: after: %w", rd.Address, err)
		}
		bs, _ := decodeAny(rd.Change.BeforeSensitive)
		as, _ := decodeAny(rd.Change.AfterSensitive)
		before, after = maskSensitive(before, bs, 0), maskSensitive(after, as, 0)
		d := TerraformDrift{Address: rd.Address, Type: rd.Type, Name: rd.Name, Mode: rd.Mode, Actions: rd.Change.Actions, Changes: CompareAll(before, after)}
		if d.Actions == nil {
			d.Actions = []string{}
		}
		if d.Changes == nil {
			d.Changes = []Change{}
		}
		out = append(out, d)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out, nil
}

func decodeAny(raw json.RawMessage) (any, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// maskSensitive replaces the parts of v that Terraform's sensitivity map
// (true, or a map/list of the same shape) marks.
func maskSensitive(v, sens any, depth int) any {
	if depth > maxDepth {
		return v
	}
	switch s := sens.(type) {
	case bool:
		if s && v != nil {
			return Masked
		}
	case map[string]any:
		if m, ok := v.(map[string]any); ok {
			out := make(map[string]any, len(m))
			for k, e := range m {
				out[k] = maskSensitive(e, s[k], depth+1)
			}
			return out
		}
	case []any:
		if l, ok := v.([]any); ok {
			out := make([]any, len(l))
			for i, e := range l {
				var si any
				if i < len(s) {
					si = s[i]
				}
				out[i] = maskSensitive(e, si, depth+1)
			}
			return out
		}
	}
	return v
}

// WriteTerraformDrift prints drifted resources for people.
func WriteTerraformDrift(w io.Writer, ds []TerraformDrift) {
	if len(ds) == 0 {
		fmt.Fprintln(w, "no resources changed outside Terraform")
		return
	}
	fmt.Fprintf(w, "%d resource(s) changed outside Terraform:\n", len(ds))
	for _, d := range ds {
		fmt.Fprintf(w, "\n~ %s (%s)\n", d.Address, strings.Join(d.Actions, ","))
		for _, c := range d.Changes {
			fmt.Fprintf(w, "    %s\n", c.BeforeAfter()) // as Terraform recorded it → as it is now
		}
	}
}
