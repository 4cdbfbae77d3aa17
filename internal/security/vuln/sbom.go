package vuln

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"vigil/internal/security/inventory"
	"vigil/internal/version"
)

// bomRef is a stable reference for a package within one document.
func bomRef(p inventory.Package) string {
	h := sha256.Sum256([]byte(p.Type + "\x00" + p.Name + "\x00" + p.Version + "\x00" + p.Path))
	return "pkg-" + hex.EncodeToString(h[:8])
}

// CycloneDX renders the inventory and the findings as a CycloneDX 1.5 JSON
// BOM: components with package URLs and layer properties, and a
// vulnerabilities section that references them.
func CycloneDX(r *Report) map[string]any {
	comps := []map[string]any{}
	refByKey := map[string]string{}
	for _, p := range r.Packages {
		ref := bomRef(p)
		refByKey[p.Type+"\x00"+p.Name+"\x00"+p.Version+"\x00"+p.Path] = ref
		c := map[string]any{
			"bom-ref": ref, "type": "library", "name": p.Name, "version": p.Version,
		}
		if p.OS() {
			c["type"] = "application"
		}
		if p.PURL != "" {
			c["purl"] = p.PURL
		}
		if len(p.Licenses) > 0 {
			var ls []map[string]any
			for _, l := range p.Licenses {
				ls = append(ls, map[string]any{"license": map[string]any{"name": l}})
			}
			c["licenses"] = ls
		}
		props := []map[string]string{{"name": "vigil:path", "value": p.Path}}
		if p.Layer >= 0 {
			props = append(props, map[string]string{"name": "vigil:layer", "value": fmt.Sprint(p.Layer)})
		}
		if p.SourceName != "" {
			props = append(props, map[string]string{"name": "vigil:source-package", "value": p.SourceName})
		}
		c["properties"] = props
		comps = append(comps, c)
	}
	vulns := []map[string]any{}
	byID := map[string]int{}
	for _, f := range r.Findings {
		ref := refByKey[f.Type+"\x00"+f.Package+"\x00"+f.Version+"\x00"+f.Path]
		if i, ok := byID[f.ID]; ok {
			aff := vulns[i]["affects"].([]map[string]any)
			vulns[i]["affects"] = append(aff, map[string]any{"ref": ref})
			continue
		}
		rating := map[string]any{"severity": f.Severity}
		if f.Score > 0 {
			rating["score"] = f.Score
			rating["method"] = "CVSSv31"
			rating["vector"] = f.Vector
		}
		v := map[string]any{
			"id": f.ID, "source": map[string]any{"name": "OSV", "url": f.URL},
			"ratings": []map[string]any{rating}, "description": f.Summary,
			"recommendation": f.Remediation,
			"affects":        []map[string]any{{"ref": ref}},
		}
		for _, a := range f.Aliases {
			v["references"] = append(asList(v["references"]), map[string]any{"id": a, "source": map[string]any{"name": aliasSource(a)}})
		}
		byID[f.ID] = len(vulns)
		vulns = append(vulns, v)
	}
	name := r.Target
	if name == "" {
		name = "scan"
	}
	return map[string]any{
		"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
		"serialNumber": "urn:uuid:" + uuidFrom(r.Target+r.Digest+r.ScannedAt.String()),
		"metadata": map[string]any{
			"timestamp": r.ScannedAt.Format(time.RFC3339),
			"tools":     map[string]any{"components": []map[string]any{{"type": "application", "name": "vigil", "version": version.Version}}},
			"component": map[string]any{"type": "container", "name": name, "version": r.Digest, "bom-ref": "target"},
		},
		"components":      comps,
		"vulnerabilities": vulns,
	}
}

func asList(v any) []map[string]any {
	if l, ok := v.([]map[string]any); ok {
		return l
	}
	return nil
}

func aliasSource(id string) string {
	switch {
	case strings.HasPrefix(id, "CVE-"):
		return "NVD"
	case strings.HasPrefix(id, "GHSA-"):
		return "GitHub"
	}
	return "OSV"
}

// uuidFrom derives a version-5-shaped UUID from s, so the same scan gives the same serial.
func uuidFrom(s string) string {
	h := sha256.Sum256([]byte(s))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// SPDX renders the inventory as an SPDX 2.3 JSON document.
func SPDX(r *Report) map[string]any {
	name := r.Target
	if name == "" {
		name = "scan"
	}
	root := "SPDXRef-Target"
	pkgs := []map[string]any{{
		"SPDXID": root, "name": name, "versionInfo": r.Digest, "downloadLocation": "NOASSERTION",
		"primaryPackagePurpose": "CONTAINER", "filesAnalyzed": false,
	}}
	rels := []map[string]any{{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root}}
	for _, p := range r.Packages {
		id := "SPDXRef-" + bomRef(p)
		lic := "NOASSERTION"
		if len(p.Licenses) == 1 && p.Licenses[0] != "" && !strings.ContainsAny(p.Licenses[0], " ,") {
			lic = p.Licenses[0]
		}
		sp := map[string]any{
			"SPDXID": id, "name": p.Name, "versionInfo": p.Version, "downloadLocation": "NOASSERTION",
			"filesAnalyzed": false, "licenseConcluded": "NOASSERTION", "licenseDeclared": lic,
			"comment": fmt.Sprintf("found in %s (layer %d)", p.Path, p.Layer),
		}
		if p.PURL != "" {
			sp["externalRefs"] = []map[string]any{{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p.PURL}}
		}
		if p.SourceName != "" {
			sp["sourceInfo"] = "built from source package " + p.SourceName
		}
		pkgs = append(pkgs, sp)
		rels = append(rels, map[string]any{"spdxElementId": root, "relationshipType": "CONTAINS", "relatedSpdxElement": id})
	}
	return map[string]any{
		"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
		"name":              name,
		"documentNamespace": "https://vigil.invalid/spdx/" + uuidFrom(r.Target+r.Digest+r.ScannedAt.String()),
		"creationInfo": map[string]any{
			"created":  r.ScannedAt.Format(time.RFC3339),
			"creators": []string{"Tool: vigil-" + version.Version},
		},
		"packages":      pkgs,
		"relationships": rels,
	}
}
