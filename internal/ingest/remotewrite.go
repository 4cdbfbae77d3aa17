package ingest

import (
	"fmt"
	"mime"
	"net/http"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"vigil/internal/store/metrics"
)

// ServeRemoteWrite handles Prometheus remote-write 1.0 (snappy-compressed protobuf).
func (h *Handler) ServeRemoteWrite(w http.ResponseWriter, r *http.Request) {
	if err := h.remoteWrite(w, r); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) remoteWrite(w http.ResponseWriter, r *http.Request) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-protobuf" {
			return errorf(http.StatusUnsupportedMediaType, "unsupported Content-Type %q", ct)
		}
		if p := params["proto"]; p != "" && p != "prometheus.WriteRequest" {
			return errorf(http.StatusUnsupportedMediaType, "only remote-write 1.0 (prometheus.WriteRequest) is accepted, got %q", p)
		}
	}
	compressed, release, err := h.readBody(w, r, true)
	if err != nil {
		return err
	}
	defer release()
	n, err := snappy.DecodedLen(compressed)
	if err != nil {
		return errorf(http.StatusBadRequest, "bad snappy body: %v", err)
	}
	if int64(n) > h.maxBody() {
		return errorf(http.StatusRequestEntityTooLarge, "decoded body of %d bytes is larger than %d", n, h.maxBody())
	}
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		return errorf(http.StatusBadRequest, "bad snappy body: %v", err)
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return errorf(http.StatusBadRequest, "malformed remote-write payload: %v", err)
	}
	series := make([]metrics.Series, 0, len(req.Timeseries))
	for _, ts := range req.Timeseries {
		b := labels.NewScratchBuilder(len(ts.Labels))
		for _, l := range ts.Labels {
			b.Add(clean(l.Name), clean(l.Value))
		}
		b.Sort()
		s := metrics.Series{Labels: b.Labels(), Samples: make([]metrics.Sample, len(ts.Samples))}
		for i, smp := range ts.Samples {
			s.Samples[i] = metrics.Sample{T: smp.Timestamp, V: smp.Value}
		}
		series = append(series, s)
	}
	st, err := h.Metrics.Write(r.Context(), series)
	if err != nil {
		return fmt.Errorf("store %d series: %w", len(series), err)
	}
	h.SamplesIn.Add(int64(st.Samples))
	return nil
}
