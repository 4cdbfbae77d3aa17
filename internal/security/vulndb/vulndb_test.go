package vulndb

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func record(id, eco, name, fixed string) string {
	return fmt.Sprintf(`{"id":%q,"modified":"2026-01-01T00:00:00Z","affected":[{"package":{"name":%q,"ecosystem":%q},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":%q}]}]}]}`, id, name, eco, fixed)
}

func zipOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, c := range files {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(c))
	}
	zw.Close()
	return buf.Bytes()
}

func TestUpdateFromMirrorReplacesEcosystems(t *testing.T) {
	archives := map[string][]byte{
		"/Debian/all.zip": zipOf(t, map[string]string{"D-1.json": record("D-1", "Debian:12", "openssl", "3.0.20-1"), "D-2.json": record("D-2", "Debian:12", "glibc", "2.36-10")}),
		"/Alpine/all.zip": zipOf(t, map[string]string{"A-1.json": record("A-1", "Alpine:v3.20", "busybox", "1.36.1-r29")}),
	}
	var gets []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets = append(gets, r.URL.Path)
		b, ok := archives[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	defer srv.Close()
	dir := t.TempDir()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	meta, err := Update(context.Background(), srv.Client(), dir, srv.URL, []string{"Debian", "Alpine"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Ecosystems["Debian"].Records != 2 || meta.Ecosystems["Alpine"].Records != 1 || !meta.Updated.Equal(now) {
		t.Fatalf("meta %+v", meta)
	}
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Records() != 3 || len(db.Lookup("Debian:12", "openssl")) != 1 || !db.HasEcosystem("Alpine:v3.20") || db.HasEcosystem("Go") {
		t.Fatalf("db records %d", db.Records())
	}
	if !db.Meta.Stale(now.Add(8*24*time.Hour)) || db.Meta.Stale(now.Add(time.Hour)) {
		t.Error("staleness")
	}
	// A newer archive with one record replaces the ecosystem whole.
	archives["/Debian/all.zip"] = zipOf(t, map[string]string{"D-3.json": record("D-3", "Debian:12", "curl", "7.88.1-11")})
	if _, err := Update(context.Background(), srv.Client(), dir, srv.URL, []string{"Debian"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	db, _ = Load(dir)
	if db.Records() != 2 || len(db.Lookup("Debian:12", "openssl")) != 0 || len(db.Lookup("Debian:12", "curl")) != 1 {
		t.Errorf("after replace: %d records", db.Records())
	}
	// A missing archive fails that ecosystem only and says so.
	_, err = Update(context.Background(), srv.Client(), dir, srv.URL, []string{"npm", "Alpine"}, now.Add(2*time.Hour))
	if err == nil || !strings.Contains(err.Error(), "npm") || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing archive: %v", err)
	}
	db, _ = Load(dir)
	if db.Records() != 2 {
		t.Errorf("records after a partial update: %d", db.Records())
	}
}

func TestImportMergesByID(t *testing.T) {
	dir := t.TempDir()
	src := t.TempDir()
	writeFile(t, src+"/a.json", record("X-1", "PyPI", "Django_Rest", "1.0"))
	if _, err := Import(dir, src, time.Now()); err != nil {
		t.Fatal(err)
	}
	src2 := t.TempDir()
	writeFile(t, src2+"/b.json", record("X-1", "PyPI", "django-rest", "2.0"))
	writeFile(t, src2+"/c.json", record("X-2", "PyPI", "flask", "3.0"))
	meta, err := Import(dir, src2, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if meta.Ecosystems["PyPI"].Records != 2 {
		t.Fatalf("meta %+v", meta)
	}
	db, _ := Load(dir)
	// PEP 503 names: Django_Rest and django-rest are one package; X-1 was replaced.
	es := db.Lookup("PyPI", "DJANGO.rest")
	if len(es) != 1 || es[0].Affected.Ranges[0].Events[1].Fixed != "2.0" {
		t.Errorf("lookup %+v", es)
	}
	if _, err := Import(dir, t.TempDir(), time.Now()); err == nil || !strings.Contains(err.Error(), "no OSV records") {
		t.Errorf("empty dir: %v", err)
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := osWriteFile(p, []byte(s)); err != nil {
		t.Fatal(err)
	}
}

func FuzzReadZip(f *testing.F) {
	f.Add(zipOf(f, map[string]string{"GO-1.json": record("GO-1", "Go", "golang.org/x/net", "0.55.0")}))
	f.Add(zipOf(f, map[string]string{"x.txt": "not json", "dir/A.json": `{"id":"A"}`}))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := ReadZip(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			return
		}
		for _, r := range recs {
			if r.ID == "" {
				t.Fatal("record without id accepted")
			}
		}
		FromRecords(Meta{}, recs)
	})
}
