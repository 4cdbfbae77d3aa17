// Package ingest receives telemetry: OTLP/HTTP logs and metrics, and
// Prometheus remote-write, and hands it to the stores.
package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"vigil/internal/store/logs"
	"vigil/internal/store/metrics"
)

// DefaultMaxBodyBytes bounds a request body after decompression.
const DefaultMaxBodyBytes = 16 << 20

// Handler serves the ingestion endpoints.
type Handler struct {
	Logs         logs.Store
	Metrics      metrics.Store
	MaxBodyBytes int64
	Log          *slog.Logger
	// OnStored, when set, sees every batch of log records after it is stored
	// (the online pattern index); it must return quickly and not keep the slice.
	OnStored func([]logs.Record)
	// Pipeline, when set, parses, masks, filters and rate-limits records before they are stored.
	Pipeline *Pipeline

	LinesIn   atomic.Int64
	SamplesIn atomic.Int64
	Rejected  atomic.Int64
}

type encoding int

const (
	encProto encoding = iota
	encJSON
)

// httpError carries a status code to the response writer.
type httpError struct {
	code int
	err  error
}

func (e *httpError) Error() string { return e.err.Error() }

func errorf(code int, format string, args ...any) error {
	return &httpError{code: code, err: fmt.Errorf(format, args...)}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusServiceUnavailable // storage trouble: the sender should retry
	var he *httpError
	if errors.As(err, &he) {
		code = he.code
	}
	if code >= 500 {
		h.Log.Error("ingest failed", "path", r.URL.Path, "err", err)
	} else {
		h.Rejected.Add(1)
		h.Log.Debug("ingest rejected", "path", r.URL.Path, "code", code, "err", err)
	}
	http.Error(w, err.Error(), code)
}

func (h *Handler) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// readBody reads a possibly gzip-compressed body, enforcing the size limit on
// both the wire bytes and the decompressed bytes (a small gzip bomb is still a 413).
// Remote-write's snappy framing is its own and is left to the caller (passSnappy).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, passSnappy bool) ([]byte, func(), error) {
	limit := h.maxBody()
	var rd io.Reader = http.MaxBytesReader(w, r.Body, limit)
	switch enc := strings.ToLower(r.Header.Get("Content-Encoding")); {
	case enc == "" || enc == "identity":
	case enc == "snappy" && passSnappy:
	case enc == "gzip":
		gz, err := gzip.NewReader(rd)
		if err != nil {
			return nil, nil, errorf(http.StatusBadRequest, "bad gzip body: %v", err)
		}
		defer gz.Close()
		rd = gz
	default:
		return nil, nil, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	// Bodies are read into pooled buffers: a busy server reads hundreds of
	// megabytes a second, and growing a fresh slice for each is a large share
	// of its garbage. Decoders copy what they keep, so the buffer goes back
	// to the pool once the request is decoded.
	buf, _ := bodyPool.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if n := r.ContentLength; n > 0 && n <= limit && r.Header.Get("Content-Encoding") == "" {
		buf.Grow(int(n) + bytes.MinRead)
	}
	release := func() {
		if buf.Cap() <= maxPooledBody {
			bodyPool.Put(buf)
		}
	}
	_, err := buf.ReadFrom(io.LimitReader(rd, limit+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(buf.Len()) > limit {
		release()
		return nil, nil, errorf(http.StatusRequestEntityTooLarge, "body larger than %d bytes", limit)
	}
	if err != nil {
		release()
		return nil, nil, errorf(http.StatusBadRequest, "read body: %v", err)
	}
	return buf.Bytes(), release, nil
}

var bodyPool sync.Pool

// maxPooledBody: larger buffers are left to the garbage collector.
const maxPooledBody = 16 << 20

func otlpEncoding(r *http.Request) (encoding, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return 0, errorf(http.StatusUnsupportedMediaType, "missing or bad Content-Type")
	}
	switch mt {
	case "application/x-protobuf", "application/protobuf":
		return encProto, nil
	case "application/json":
		return encJSON, nil
	}
	return 0, errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q", mt)
}

type marshaler interface {
	MarshalProto() ([]byte, error)
	MarshalJSON() ([]byte, error)
}

func writeOTLPResponse(w http.ResponseWriter, enc encoding, resp marshaler) {
	var b []byte
	var err error
	if enc == encJSON {
		w.Header().Set("Content-Type", "application/json")
		b, err = resp.MarshalJSON()
	} else {
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, err = resp.MarshalProto()
	}
	if err != nil {
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// ServeOTLPLogs handles POST /v1/logs.
func (h *Handler) ServeOTLPLogs(w http.ResponseWriter, r *http.Request) {
	req := plogotlp.NewExportRequest()
	h.serveOTLP(w, r, req, func() (marshaler, error) {
		records := LogsToRecords(req.Logs())
		if h.Pipeline != nil {
			records = h.Pipeline.Process(records, time.Now())
		}
		if err := h.Logs.Write(r.Context(), records); err != nil {
			return nil, fmt.Errorf("store %d log records: %w", len(records), err)
		}
		if h.OnStored != nil {
			h.OnStored(records)
		}
		h.LinesIn.Add(int64(len(records)))
		return plogotlp.NewExportResponse(), nil
	})
}

// ServeOTLPMetrics handles POST /v1/metrics.
func (h *Handler) ServeOTLPMetrics(w http.ResponseWriter, r *http.Request) {
	req := pmetricotlp.NewExportRequest()
	h.serveOTLP(w, r, req, func() (marshaler, error) {
		series, dropped := MetricsToSeries(req.Metrics())
		st, err := h.Metrics.Write(r.Context(), series)
		if err != nil {
			return nil, fmt.Errorf("store %d series: %w", len(series), err)
		}
		h.SamplesIn.Add(int64(st.Samples))
		resp := pmetricotlp.NewExportResponse()
		if rejected := st.Rejected + dropped; rejected > 0 {
			resp.PartialSuccess().SetRejectedDataPoints(int64(rejected))
			resp.PartialSuccess().SetErrorMessage("some data points were out of bounds or of an unsupported kind")
		}
		return resp, nil
	})
}

// serveOTLP decodes an OTLP/HTTP export request into req, has store keep
// what it holds and answers store's response in the request's encoding.
func (h *Handler) serveOTLP(w http.ResponseWriter, r *http.Request, req unmarshaler, store func() (marshaler, error)) {
	enc, err := h.decodeOTLP(w, r, req)
	var resp marshaler
	if err == nil {
		resp, err = store()
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	writeOTLPResponse(w, enc, resp)
}

// decodeOTLP reads the body into req, handing the body's buffer back as
// soon as req holds its own copy.
func (h *Handler) decodeOTLP(w http.ResponseWriter, r *http.Request, req unmarshaler) (encoding, error) {
	enc, err := otlpEncoding(r)
	if err != nil {
		return 0, err
	}
	body, release, err := h.readBody(w, r, false)
	if err != nil {
		return 0, err
	}
	err = unmarshal(req, enc, body)
	release()
	return enc, err
}

type unmarshaler interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

// unmarshal decodes an OTLP request; decoder panics on hostile input become 400s.
func unmarshal(req unmarshaler, enc encoding, body []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errorf(http.StatusBadRequest, "malformed OTLP payload: %v", r)
		}
	}()
	if enc == encJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "malformed OTLP payload: %v", err)
	}
	return nil
}
