package vulndb

import (
	"testing"
	"time"

	"vigil/internal/security/osv"
)

// Go vulnerability database entries carry no severity; their GHSA aliases
// do. The fixtures cover an alias named by the entry, one naming the entry,
// two aliases of different levels, and entries no alias rates.
func TestRateFromAliases(t *testing.T) {
	dir := t.TempDir()
	if _, err := Import(dir, "testdata/alias", time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	rate := func(id, pkg string) osv.Rating {
		t.Helper()
		for _, e := range db.Lookup("Go", pkg) {
			if e.Record.ID == id {
				return db.Rate(e)
			}
		}
		t.Fatalf("no entry %s for %s", id, pkg)
		return osv.Rating{}
	}
	cases := []struct {
		id, pkg string
		want    osv.Rating
	}{
		// The GHSA copy's CVSS vector wins over its severity word.
		{"GO-FIXTURE-0001", "golang.org/x/text", osv.Rating{Severity: osv.SevHigh, Score: 7.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", From: "GHSA-fx01-aaaa-bbbb"}},
		// Of two aliases the higher rating, and that alias's rating for the same package.
		{"GO-FIXTURE-0002", "golang.org/x/net", osv.Rating{Severity: osv.SevHigh, Score: 8.1, Vector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", From: "GHSA-fx02-pkg0-0000"}},
		// Only the GHSA record lists the alias.
		{"GO-FIXTURE-0003", "golang.org/x/image", osv.Rating{Severity: osv.SevCritical, Score: 9.8, Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", From: "GHSA-fx03-back-0000"}},
		// The alias is not in the database, or is unrated too.
		{"GO-FIXTURE-0004", "golang.org/x/text", osv.Rating{Severity: osv.SevUnknown}},
		{"GO-FIXTURE-0005", "golang.org/x/text", osv.Rating{Severity: osv.SevUnknown}},
		// A per-package word in affected[].database_specific.
		{"GO-FIXTURE-0006", "golang.org/x/text", osv.Rating{Severity: osv.SevLow}},
		// A record's own rating is never replaced by an alias's.
		{"GHSA-fx02-pkg0-0000", "golang.org/x/crypto", osv.Rating{Severity: osv.SevLow, Score: 3.5, Vector: "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:N/A:N"}},
	}
	for _, c := range cases {
		if got := rate(c.id, c.pkg); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.id, got, c.want)
		}
	}
	if db.Record("GHSA-fx01-aaaa-bbbb") == nil || db.Record("CVE-2099-0001") != nil {
		t.Error("records by id")
	}
}

// Unrated records order among themselves by review and precision.
func TestUnratedRank(t *testing.T) {
	dir := t.TempDir()
	if _, err := Import(dir, "testdata/alias", time.Now()); err != nil {
		t.Fatal(err)
	}
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"GO-FIXTURE-0004": 3, "GO-FIXTURE-0005": 0, "GO-FIXTURE-0001": 2}
	for id, n := range want {
		r := db.Record(id)
		if got := r.UnratedRank(&r.Affected[0]); got != n {
			t.Errorf("%s: unrated rank %d, want %d", id, got, n)
		}
	}
}
