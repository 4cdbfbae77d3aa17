package server

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"vigil/internal/agent/processes"
	"vigil/internal/store/metrics"
)

// ProcessView is one row of a node's top processes.
type ProcessView struct {
	PID           int       `json:"pid"`
	Command       string    `json:"command"`
	Args          string    `json:"args,omitempty"`
	User          string    `json:"user"`
	CPUPercent    float64   `json:"cpuPercent"` // of one core, as top shows it
	CPUSeconds    float64   `json:"cpuSeconds"`
	MemoryBytes   float64   `json:"memoryBytes"`
	MemoryPercent *float64  `json:"memoryPercent,omitempty"` // of the node's memory, when known
	StartTime     time.Time `json:"startTime,omitzero"`
	ContainerID   string    `json:"containerId,omitempty"`
	Namespace     string    `json:"namespace,omitempty"`
	Pod           string    `json:"pod,omitempty"`
	Container     string    `json:"container,omitempty"`
}

// ProcessList is the answer of GET /api/nodes/{name}/processes.
type ProcessList struct {
	Node        string        `json:"node"`
	Time        time.Time     `json:"time"`                  // the time asked about
	CollectedAt *time.Time    `json:"collectedAt,omitempty"` // when the shown sample was taken
	Processes   []ProcessView `json:"processes"`
}

// parseAPITime accepts RFC 3339 or Unix seconds (as the Prometheus API does).
func parseAPITime(s string, dflt time.Time) (time.Time, error) {
	if s == "" {
		return dflt, nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return time.Time{}, fmt.Errorf("time %q out of range", s)
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want RFC 3339 or Unix seconds", s)
	}
	return t, nil
}

// nodeProcesses answers GET /api/nodes/{name}/processes?time=&sort=cpu|memory&limit=:
// the processes of the node's collection nearest before time (default now).
func (s *Server) nodeProcesses(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if name == "" || len(name) > 253 || !utf8.ValidString(name) {
		http.Error(w, "bad node name", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	at, err := parseAPITime(q.Get("time"), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sortBy := cmp.Or(q.Get("sort"), "cpu")
	if sortBy != "cpu" && sortBy != "memory" {
		http.Error(w, `sort must be "cpu" or "memory"`, http.StatusBadRequest)
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			http.Error(w, "limit must be 1..1000", http.StatusBadRequest)
			return
		}
	}
	list, err := s.queryProcesses(r, name, at)
	if err != nil {
		var bq metrics.BadQueryError
		if errors.As(err, &bq) {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.log.Error("process list", "node", name, "err", err)
		http.Error(w, "query failed", http.StatusInternalServerError)
		return
	}
	ps := list.Processes
	slices.SortFunc(ps, func(a, b ProcessView) int {
		if sortBy == "memory" {
			return cmp.Or(cmp.Compare(b.MemoryBytes, a.MemoryBytes), cmp.Compare(b.CPUPercent, a.CPUPercent), cmp.Compare(a.PID, b.PID))
		}
		return cmp.Or(cmp.Compare(b.CPUPercent, a.CPUPercent), cmp.Compare(b.MemoryBytes, a.MemoryBytes), cmp.Compare(a.PID, b.PID))
	})
	if len(ps) > limit {
		list.Processes = ps[:limit]
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) queryProcesses(r *http.Request, node string, at time.Time) (ProcessList, error) {
	ctx := r.Context()
	sel := fmt.Sprintf("{node=%s}", strconv.Quote(node))
	vector := func(expr string) (promql.Vector, error) {
		res, err := s.Metrics.Query(ctx, expr, at)
		if err != nil {
			return nil, err
		}
		v, _ := res.Value.(promql.Vector)
		return v, nil
	}
	out := ProcessList{Node: node, Time: at.UTC(), Processes: []ProcessView{}}
	// Every series of one collection carries the same timestamp; the newest
	// one still within the lookback window is "the top processes at time T".
	stamps, err := vector("timestamp(" + processes.MetricRSS + sel + ")")
	if err != nil {
		return out, err
	}
	var latest float64
	for _, smp := range stamps {
		latest = max(latest, smp.F)
	}
	if latest == 0 {
		return out, nil
	}
	ct := time.UnixMilli(int64(math.Round(latest * 1000))).UTC()
	out.CollectedAt = &ct
	current := map[string]bool{}
	for _, smp := range stamps {
		if smp.F == latest {
			current[seriesKey(smp.Metric)] = true
		}
	}
	rows := map[string]*ProcessView{}
	for _, m := range []struct {
		name string
		set  func(p *ProcessView, v float64)
	}{
		{processes.MetricRSS, func(p *ProcessView, v float64) { p.MemoryBytes = v }},
		{processes.MetricCPURatio, func(p *ProcessView, v float64) { p.CPUPercent = math.Round(v*1000) / 10 }},
		{processes.MetricCPUSeconds, func(p *ProcessView, v float64) { p.CPUSeconds = v }},
		{processes.MetricStartTime, func(p *ProcessView, v float64) {
			if v > 0 {
				p.StartTime = time.Unix(int64(v), 0).UTC()
			}
		}},
	} {
		vec, err := vector(m.name + sel)
		if err != nil {
			return out, err
		}
		for _, smp := range vec {
			l := smp.Metric
			key := seriesKey(l)
			if !current[key] {
				continue
			}
			p, ok := rows[key]
			if !ok {
				n, err := strconv.Atoi(l.Get("pid"))
				if err != nil {
					continue
				}
				p = &ProcessView{PID: n, Command: l.Get("command"), Args: l.Get("args"), User: l.Get("user"),
					ContainerID: l.Get("container_id"), Namespace: l.Get("namespace"), Pod: l.Get("pod"), Container: l.Get("container")}
				rows[key] = p
			}
			m.set(p, smp.F)
		}
	}
	total, err := vector("max(node_memory_MemTotal_bytes" + sel + ")")
	if err != nil {
		return out, err
	}
	for _, p := range rows {
		if len(total) == 1 && total[0].F > 0 {
			pct := math.Round(p.MemoryBytes/total[0].F*1000) / 10
			p.MemoryPercent = &pct
		}
		out.Processes = append(out.Processes, *p)
	}
	return out, nil
}

// seriesKey identifies a process series across metric names.
func seriesKey(l labels.Labels) string {
	return labels.NewBuilder(l).Del(labels.MetricName).Labels().String()
}
