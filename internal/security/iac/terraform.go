package iac

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"vigil/internal/security/compliance"
)

// unknownKey marks a value that cannot be known without running Terraform
// (variables, locals, resource attributes, function calls): the controls
// report it as unknown instead of passing it.
const unknownKey = "$unknown"

// Terraform parses one .tf file into evaluation inputs: one per resource,
// data source, module call and backend, each with the lines of its fields.
func Terraform(name string, src []byte) ([]compliance.Object, error) {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse %s: %s", name, diags.Error())
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return nil, fmt.Errorf("parse %s: not native HCL syntax", name)
	}
	var out []compliance.Object
	add := func(block, typ, objName, source string, b *hclsyntax.Block) error {
		lines := map[string]int{}
		in := map[string]any{"block": block, "type": typ, "name": objName, "source": source, "body": convertBody(b.Body, src, "", lines)}
		kind := typ
		if block == "module" || block == "backend" {
			kind = block
		}
		display := objName
		if block == "backend" {
			display = typ
		}
		o, err := compliance.NewObject(compliance.TargetTerraform, kind, "", display, in)
		if err != nil {
			return err
		}
		o.File, o.Line, o.Lines = name, b.DefRange().Start.Line, lines
		out = append(out, o)
		return nil
	}
	for _, b := range body.Blocks {
		var err error
		switch {
		case (b.Type == "resource" || b.Type == "data") && len(b.Labels) == 2:
			err = add(b.Type, b.Labels[0], b.Labels[1], "", b)
		case b.Type == "module" && len(b.Labels) == 1:
			src := ""
			if a, ok := b.Body.Attributes["source"]; ok {
				if v, ok := literal(a.Expr).(string); ok {
					src = v
				}
			}
			err = add("module", "module", b.Labels[0], src, b)
		case b.Type == "terraform":
			for _, nb := range b.Body.Blocks {
				if nb.Type == "backend" && len(nb.Labels) == 1 {
					if err = add("backend", nb.Labels[0], "terraform", "", nb); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// convertBody turns attributes into values and nested blocks into lists
// keyed by block type (like Terraform's JSON plan form), recording lines.
func convertBody(b *hclsyntax.Body, src []byte, prefix string, lines map[string]int) map[string]any {
	out := map[string]any{}
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	for name, a := range b.Attributes {
		p := join(name)
		lines[p] = a.SrcRange.Start.Line
		out[name] = value(a.Expr, src, p, lines)
	}
	for _, nb := range b.Blocks {
		typ, inner := nb.Type, nb.Body
		if nb.Type == "dynamic" && len(nb.Labels) == 1 {
			// The content block stands for every generated block; values that
			// use the iterator come out unknown.
			typ = nb.Labels[0]
			for _, cb := range nb.Body.Blocks {
				if cb.Type == "content" {
					inner = cb.Body
				}
			}
		}
		list, _ := out[typ].([]any)
		p := fmt.Sprintf("%s[%d]", join(typ), len(list))
		lines[p] = nb.DefRange().Start.Line
		out[typ] = append(list, convertBody(inner, src, p, lines))
	}
	return out
}

// value evaluates literals; lists and objects element by element, so one
// variable in a list does not hide a literal "0.0.0.0/0" beside it.
func value(e hclsyntax.Expression, src []byte, p string, lines map[string]int) any {
	switch x := e.(type) {
	case *hclsyntax.TupleConsExpr:
		out := make([]any, len(x.Exprs))
		for i, el := range x.Exprs {
			ep := fmt.Sprintf("%s[%d]", p, i)
			lines[ep] = el.Range().Start.Line
			out[i] = value(el, src, ep, lines)
		}
		return out
	case *hclsyntax.ObjectConsExpr:
		out := map[string]any{}
		for _, item := range x.Items {
			k, ok := literal(item.KeyExpr).(string)
			if !ok {
				return unknown(e, src)
			}
			kp := p + "." + k
			lines[kp] = item.KeyExpr.Range().Start.Line
			out[k] = value(item.ValueExpr, src, kp, lines)
		}
		return out
	}
	if v := literal(e); v != nil || isNullLiteral(e) {
		return v
	}
	return unknown(e, src)
}

func isNullLiteral(e hclsyntax.Expression) bool {
	v, diags := e.Value(nil)
	return !diags.HasErrors() && v.IsKnown() && v.IsNull()
}

// literal returns the Go value of an expression that needs no context, or nil.
func literal(e hclsyntax.Expression) any {
	if k, ok := e.(*hclsyntax.ObjectConsKeyExpr); ok && !k.ForceNonLiteral {
		if name := hcl.ExprAsKeyword(k.Wrapped); name != "" {
			return name
		}
		return literal(k.Wrapped)
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return nil
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil
	}
	return out
}

func unknown(e hclsyntax.Expression, src []byte) map[string]any {
	r := e.Range()
	text := ""
	if r.Start.Byte >= 0 && r.End.Byte <= len(src) && r.Start.Byte <= r.End.Byte {
		text = strings.Join(strings.Fields(string(src[r.Start.Byte:r.End.Byte])), " ")
	}
	if len(text) > 80 {
		text = text[:77] + "..."
	}
	if text == "" {
		text = "an expression"
	}
	return map[string]any{unknownKey: text}
}
