// Package web holds the vigil web UI: a single-page app built into dist/ by
// `npm ci && npm run build` (see package.json) and embedded into the binary.
package web

import (
	"bytes"
	"embed"
	"hash/fnv"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// Dist is the built UI. Before the first build it holds only dist/.gitkeep,
// and Handler answers 503.
//
//go:embed all:dist
var Dist embed.FS

const (
	indexFile     = "index.html"
	assetsPrefix  = "/assets/"
	notBuiltText  = "UI not built: run make\n"
	immutableCC   = "public, max-age=31536000, immutable"
	revalidateCC  = "no-cache"
	staticFilesCC = "public, max-age=3600"
)

// Paths the UI never owns: an unknown path under these is a 404, not the app.
var reservedPrefixes = []string{"/api/", "/select/", "/v1/", "/assets/"}

// Extensions of static files: a missing file with one of these is a 404
// instead of the app shell (node names with dots still reach the app).
var staticExt = map[string]bool{
	".js": true, ".mjs": true, ".css": true, ".map": true, ".json": true,
	".ico": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true,
	".svg": true, ".webp": true, ".woff": true, ".woff2": true, ".ttf": true,
	".txt": true, ".wasm": true, ".webmanifest": true,
}

// Handler serves the embedded UI.
func Handler() http.Handler {
	sub, err := fs.Sub(Dist, "dist")
	if err != nil {
		// fs.Sub fails only for an invalid directory name.
		panic(err)
	}
	return newHandler(sub)
}

// newHandler serves a single-page app from fsys, whose root holds index.html
// and the assets/ directory:
//   - existing files are served as they are; files under /assets/ carry
//     content hashes in their names and are cached for a year;
//   - any other GET for a path that is not a static file nor under a
//     reserved prefix gets index.html (client-side routes), never cached;
//   - without index.html every request gets a 503 saying the UI is not built.
func newHandler(fsys fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		index, err := fs.ReadFile(fsys, indexFile)
		if err != nil {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Retry-After", "60")
			http.Error(w, strings.TrimSuffix(notBuiltText, "\n"), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")

		p := path.Clean("/" + r.URL.Path)
		if p == "/" || p == "/"+indexFile {
			serveIndex(w, r, index)
			return
		}
		name := strings.TrimPrefix(p, "/")
		if f, err := fsys.Open(name); err == nil {
			st, err := f.Stat()
			if err == nil && !st.IsDir() {
				if strings.HasPrefix(p, assetsPrefix) {
					w.Header().Set("Cache-Control", immutableCC)
				} else {
					w.Header().Set("Cache-Control", staticFilesCC)
				}
				serveFile(w, r, name, st.ModTime(), f)
				f.Close()
				return
			}
			f.Close()
		}
		if isReserved(p) || staticExt[strings.ToLower(path.Ext(p))] {
			http.NotFound(w, r)
			return
		}
		serveIndex(w, r, index)
	})
}

func isReserved(p string) bool {
	for _, prefix := range reservedPrefixes {
		if strings.HasPrefix(p+"/", prefix) {
			return true
		}
	}
	return false
}

func serveIndex(w http.ResponseWriter, r *http.Request, index []byte) {
	h := fnv.New64a()
	h.Write(index)
	w.Header().Set("Cache-Control", revalidateCC)
	w.Header().Set("ETag", `"`+strconv.FormatUint(h.Sum64(), 36)+`"`)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, indexFile, time.Time{}, bytes.NewReader(index))
}

func serveFile(w http.ResponseWriter, r *http.Request, name string, mod time.Time, f fs.File) {
	if rs, ok := f.(io.ReadSeeker); ok {
		http.ServeContent(w, r, name, mod, rs)
		return
	}
	data, err := io.ReadAll(f)
	if err != nil {
		http.Error(w, "read error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, name, mod, bytes.NewReader(data))
}
