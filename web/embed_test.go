package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func builtFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":               {Data: []byte("<!doctype html><title>vigil</title>")},
		"favicon.svg":              {Data: []byte("<svg/>")},
		"assets/index-AbC123.js":   {Data: []byte("console.log(1)")},
		"assets/index-AbC123.css":  {Data: []byte("body{}")},
		"assets/sub/font-x1y2.txt": {Data: []byte("x")},
	}
}

func TestHandlerServesIndex(t *testing.T) {
	h := newHandler(builtFS())
	for _, target := range []string{"/", "/index.html", "/infrastructure", "/infrastructure/ip-10-0-0-1.ec2.internal", "/logs?query=*", "/settings/"} {
		rec := serve(t, h, http.MethodGet, target)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", target, rec.Code)
		}
		if !strings.Contains(rec.Body.String(), "<title>vigil</title>") {
			t.Fatalf("%s: body %q", target, rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Fatalf("%s: Cache-Control %q", target, cc)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: Content-Type %q", target, ct)
		}
	}
}

func TestHandlerIndexETag(t *testing.T) {
	h := newHandler(builtFS())
	rec := serve(t, h, http.MethodGet, "/")
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	req := httptest.NewRequest(http.MethodGet, "/logs", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET: status %d", rec.Code)
	}
}

func TestHandlerAssets(t *testing.T) {
	h := newHandler(builtFS())
	rec := serve(t, h, http.MethodGet, "/assets/index-AbC123.js")
	if rec.Code != http.StatusOK || rec.Body.String() != "console.log(1)" {
		t.Fatalf("asset: %d %q", rec.Code, rec.Body.String())
	}
	if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
		t.Fatalf("asset Cache-Control %q", cc)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Fatalf("asset Content-Type %q", ct)
	}
	rec = serve(t, h, http.MethodGet, "/assets/index-AbC123.css")
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("css Content-Type %q", ct)
	}

	rec = serve(t, h, http.MethodGet, "/favicon.svg")
	if rec.Code != http.StatusOK {
		t.Fatalf("favicon: %d", rec.Code)
	}
	if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "immutable") {
		t.Fatalf("unhashed file must not be immutable: %q", cc)
	}
}

func TestHandlerNotFound(t *testing.T) {
	h := newHandler(builtFS())
	for _, target := range []string{"/assets/missing-123.js", "/assets/", "/assets", "/main.js", "/robots.txt", "/api/nope", "/select/logsql/nope", "/v1/x"} {
		rec := serve(t, h, http.MethodGet, target)
		if rec.Code != http.StatusNotFound {
			t.Fatalf("%s: status %d, want 404", target, rec.Code)
		}
	}
}

func TestHandlerMethod(t *testing.T) {
	h := newHandler(builtFS())
	if rec := serve(t, h, http.MethodPost, "/"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d", rec.Code)
	}
	if rec := serve(t, h, http.MethodHead, "/logs"); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func TestHandlerNotBuilt(t *testing.T) {
	h := newHandler(fstest.MapFS{".gitkeep": {Data: nil}})
	for _, target := range []string{"/", "/infrastructure", "/assets/index-AbC123.js"} {
		rec := serve(t, h, http.MethodGet, target)
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%s: status %d, want 503", target, rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("%s: Content-Type %q", target, ct)
		}
		if !strings.Contains(rec.Body.String(), "UI not built: run make") {
			t.Fatalf("%s: body %q", target, rec.Body.String())
		}
	}
}

func TestHandlerEmbedded(t *testing.T) {
	// Whatever state dist/ is in, the embedded handler answers: 200 once built,
	// 503 before.
	rec := serve(t, Handler(), http.MethodGet, "/")
	if rec.Code != http.StatusOK && rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", rec.Code)
	}
}
