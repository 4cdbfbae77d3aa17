package vuln_test

import (
	"slices"
	"testing"

	"vigil/internal/security/inventory"
	"vigil/internal/security/osv"
	"vigil/internal/security/vuln"
)

// Go findings take the severity of a GHSA alias in the database and say so;
// those left unrated are listed reviewed and precise first.
func TestMatchRatesGoEntriesFromAliases(t *testing.T) {
	db := importDB(t, "../vulndb/testdata/alias")
	inv := &inventory.Inventory{Packages: []inventory.Package{
		{Name: "golang.org/x/text", Version: "v0.3.0", Ecosystem: "Go", Type: "golang", Path: "app", Layer: -1},
		{Name: "golang.org/x/net", Version: "v0.1.0", Ecosystem: "Go", Type: "golang", Path: "app", Layer: -1},
		{Name: "golang.org/x/image", Version: "v0.1.0", Ecosystem: "Go", Type: "golang", Path: "app", Layer: -1},
	}}
	fs, warns := vuln.Match(inv, db)
	if len(warns) != 0 {
		t.Errorf("warnings %v", warns)
	}
	var got []string
	for _, f := range fs {
		if f.Package != "golang.org/x/crypto" {
			got = append(got, f.ID)
		}
	}
	// The GHSA copies match too (same package); each GO entry is rated like its copy.
	want := []string{"GHSA-fx03-back-0000", "GO-FIXTURE-0003", "GHSA-fx02-pkg0-0000", "GO-FIXTURE-0002", "GHSA-fx01-aaaa-bbbb", "GO-FIXTURE-0001",
		"GHSA-fx02-mod0-0000", "GO-FIXTURE-0006", "GO-FIXTURE-0004", "GHSA-fx05-none-0000", "GO-FIXTURE-0005"}
	if !slices.Equal(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
	g := finding(t, fs, "GO-FIXTURE-0001", "golang.org/x/text")
	if g.Severity != osv.SevHigh || g.Score != 7.5 || g.SeverityFrom != "GHSA-fx01-aaaa-bbbb" {
		t.Errorf("GO-FIXTURE-0001 %+v", g)
	}
	if u := finding(t, fs, "GO-FIXTURE-0004", "golang.org/x/text"); u.Severity != osv.SevUnknown || u.SeverityFrom != "" {
		t.Errorf("GO-FIXTURE-0004 %+v", u)
	}
	if n, _ := (&vuln.Report{Findings: fs}).Threshold("critical"); n != 2 {
		t.Errorf("%d critical findings, want the GHSA record and its GO entry", n)
	}
}
