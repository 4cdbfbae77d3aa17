package audit

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync/atomic"

	"vigil/internal/store/logs"
)

// DefaultMaxBodyBytes bounds one webhook payload (after decompression). The
// API server's batches are far smaller (at most 400 events by default).
const DefaultMaxBodyBytes = 32 << 20

// Receiver serves POST /api/v1/audit/webhook.
type Receiver struct {
	Logs         logs.Store
	MaxBodyBytes int64
	Log          *slog.Logger

	EventsIn atomic.Int64
	Rejected atomic.Int64
}

func (rc *Receiver) maxBody() int64 {
	if rc.MaxBodyBytes > 0 {
		return rc.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (rc *Receiver) reject(w http.ResponseWriter, code int, err error) {
	rc.Rejected.Add(1)
	if rc.Log != nil {
		rc.Log.Warn("audit payload rejected", "code", code, "err", err)
	}
	http.Error(w, err.Error(), code)
}

// ServeHTTP stores one EventList. Any problem with the payload is a 4xx and
// nothing of it is stored; storage trouble is a 503 so the API server retries.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			rc.reject(w, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Type %q, want application/json", ct))
			return
		}
	}
	limit := rc.maxBody()
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		gz, err := gzip.NewReader(rd)
		if err != nil {
			rc.reject(w, http.StatusBadRequest, fmt.Errorf("bad gzip body: %w", err))
			return
		}
		defer gz.Close()
		rd = gz
	default:
		rc.reject(w, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q", enc))
		return
	}
	body, err := io.ReadAll(io.LimitReader(rd, limit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(body)) > limit {
		rc.reject(w, http.StatusRequestEntityTooLarge, fmt.Errorf("audit payload larger than %d bytes", limit))
		return
	}
	if err != nil {
		rc.reject(w, http.StatusBadRequest, fmt.Errorf("read audit payload: %w", err))
		return
	}
	records, err := Parse(body)
	if err != nil {
		rc.reject(w, http.StatusBadRequest, err)
		return
	}
	if err := rc.Logs.Write(r.Context(), records); err != nil {
		if rc.Log != nil {
			rc.Log.Error("store audit events", "events", len(records), "err", err)
		}
		http.Error(w, "store audit events: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	rc.EventsIn.Add(int64(len(records)))
	w.WriteHeader(http.StatusOK)
}

// TokenFromQuery lets a caller that cannot set headers (an API server whose
// webhook kubeconfig names only a URL) pass its token as ?token=. The token
// moves into the Authorization header and out of the URL before anything
// logs the request.
func TokenFromQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if tok := q.Get("token"); tok != "" {
			r = r.Clone(r.Context())
			if r.Header.Get("Authorization") == "" {
				r.Header.Set("Authorization", "Bearer "+tok)
			}
			q.Del("token")
			r.URL.RawQuery = q.Encode()
			r.RequestURI = r.URL.RequestURI()
		}
		h.ServeHTTP(w, r)
	})
}
