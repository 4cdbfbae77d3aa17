// Package processes reports a node's top processes (by CPU and by memory)
// from /proc, with the container and pod each belongs to, as series such as
// vigil_process_cpu_usage_ratio{node,pid,command,user,container_id,namespace,pod,container},
// so "the node's top processes at time T" is a PromQL query.
package processes

import (
	"cmp"
	"errors"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/procfs"
	"github.com/prometheus/prometheus/model/labels"

	"vigil/internal/store/metrics"
)

// Metric names.
const (
	MetricCPUSeconds = "vigil_process_cpu_seconds_total"
	MetricCPURatio   = "vigil_process_cpu_usage_ratio" // cores used over the last interval (1 = one full core)
	MetricRSS        = "vigil_process_resident_memory_bytes"
	MetricStartTime  = "vigil_process_start_time_seconds"
)

// DefaultTop is how many processes are reported by CPU and by memory each.
const DefaultTop = 20

// maxArgsLen bounds the args label; command lines can be kilobytes long.
const maxArgsLen = 200

// userHZ is the kernel's clock tick for /proc times; 100 on every Linux architecture Kubernetes runs on.
const userHZ = 100

// Config configures a Collector.
type Config struct {
	NodeName string
	ProcPath string // default /proc
	Top      int    // default DefaultTop
	Resolver Resolver
	// LookupUser names a uid; default os/user (the agent's /etc/passwd), falling back to the number.
	LookupUser func(uid string) string
}

// Collector samples processes; it remembers CPU times between calls to compute rates.
type Collector struct {
	cfg   Config
	fs    procfs.FS
	prev  map[procKey]float64 // cumulative CPU seconds at the last collection
	last  time.Time
	users map[string]string
}

type procKey struct {
	pid   int
	start uint64 // start time in ticks: tells a reused pid apart
}

// New opens the proc filesystem.
func New(cfg Config) (*Collector, error) {
	if cfg.NodeName == "" {
		return nil, errors.New("node name is required")
	}
	if cfg.ProcPath == "" {
		cfg.ProcPath = "/proc"
	}
	if cfg.Top <= 0 {
		cfg.Top = DefaultTop
	}
	if cfg.LookupUser == nil {
		cfg.LookupUser = lookupUser
	}
	p, err := procfs.NewFS(cfg.ProcPath)
	if err != nil {
		return nil, fmt.Errorf("open procfs %s: %w", cfg.ProcPath, err)
	}
	return &Collector{cfg: cfg, fs: p, prev: map[procKey]float64{}, users: map[string]string{}}, nil
}

func lookupUser(uid string) string {
	if u, err := user.LookupId(uid); err == nil {
		return u.Username
	}
	return uid
}

// Process is one sampled process.
type Process struct {
	PID        int
	Command    string // the kernel's comm (executable name, at most 15 bytes)
	Args       string // command line, shortened
	User       string
	CPUSeconds float64
	CPURatio   float64 // cores over the last interval, or over its lifetime on the first sample
	RSSBytes   int64
	StartTime  float64 // seconds since the epoch
	Owner      Owner
}

// Collect samples all processes and returns the top ones as series at now.
func (c *Collector) Collect(now time.Time) ([]metrics.Series, error) {
	procs, err := c.Sample(now)
	if err != nil {
		return nil, err
	}
	out := make([]metrics.Series, 0, 4*len(procs))
	ts := now.UnixMilli()
	for _, p := range procs {
		base := []string{
			"node", c.cfg.NodeName, "pid", strconv.Itoa(p.PID), "command", p.Command, "args", p.Args, "user", p.User,
			"container_id", p.Owner.ContainerID, "namespace", p.Owner.Namespace, "pod", p.Owner.Pod, "container", p.Owner.Container,
		}
		for _, m := range []struct {
			name string
			v    float64
		}{{MetricCPUSeconds, p.CPUSeconds}, {MetricCPURatio, p.CPURatio}, {MetricRSS, float64(p.RSSBytes)}, {MetricStartTime, p.StartTime}} {
			b := labels.NewBuilder(labels.EmptyLabels())
			for i := 0; i+1 < len(base); i += 2 {
				if base[i+1] != "" {
					b.Set(base[i], base[i+1])
				}
			}
			b.Set(labels.MetricName, m.name)
			out = append(out, metrics.Series{Labels: b.Labels(), Samples: []metrics.Sample{{T: ts, V: m.v}}})
		}
	}
	return out, nil
}

// Sample reads every process and returns the union of the top N by CPU and
// the top N by resident memory, highest CPU first.
func (c *Collector) Sample(now time.Time) ([]Process, error) {
	st, err := c.fs.Stat()
	if err != nil {
		return nil, fmt.Errorf("read %s/stat: %w", c.cfg.ProcPath, err)
	}
	all, err := c.fs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	elapsed := now.Sub(c.last).Seconds()
	seen := make(map[procKey]float64, len(all))
	type cand struct {
		proc procfs.Proc
		stat procfs.ProcStat
		p    Process
	}
	cands := make([]cand, 0, len(all))
	for _, pr := range all {
		s, err := pr.Stat()
		if err != nil {
			continue // the process exited while we looked
		}
		k := procKey{pr.PID, s.Starttime}
		cpu := s.CPUTime()
		seen[k] = cpu
		start := float64(st.BootTime) + float64(s.Starttime)/userHZ
		var ratio float64
		if before, ok := c.prev[k]; ok && elapsed > 0 {
			ratio = max(cpu-before, 0) / elapsed
		} else if age := float64(now.UnixMilli())/1e3 - start; age > 0 {
			ratio = cpu / age
		}
		cands = append(cands, cand{pr, s, Process{
			PID: pr.PID, Command: cleanLabel(s.Comm), CPUSeconds: cpu, CPURatio: ratio,
			RSSBytes: int64(s.ResidentMemory()), StartTime: start,
		}})
	}
	c.prev, c.last = seen, now

	top := c.cfg.Top
	pick := map[int]bool{}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.p.RSSBytes, a.p.RSSBytes), cmp.Compare(a.p.PID, b.p.PID))
	})
	for i := 0; i < len(cands) && i < top; i++ {
		pick[cands[i].p.PID] = true
	}
	slices.SortFunc(cands, func(a, b cand) int {
		return cmp.Or(cmp.Compare(b.p.CPURatio, a.p.CPURatio), cmp.Compare(b.p.CPUSeconds, a.p.CPUSeconds), cmp.Compare(a.p.PID, b.p.PID))
	})
	for i := 0; i < len(cands) && i < top; i++ {
		pick[cands[i].p.PID] = true
	}
	var out []Process
	for _, cd := range cands {
		if !pick[cd.p.PID] {
			continue
		}
		p := cd.p
		c.details(cd.proc, &p)
		out = append(out, p)
	}
	return out, nil
}

// details reads what only the reported processes need: user, command line, cgroup.
func (c *Collector) details(pr procfs.Proc, p *Process) {
	if s, err := pr.NewStatus(); err == nil {
		uid := strconv.FormatUint(s.UIDs[1], 10) // effective uid, as ps and top show
		name, ok := c.users[uid]
		if !ok {
			name = cleanLabel(c.cfg.LookupUser(uid))
			c.users[uid] = name
		}
		p.User = name
	}
	if args, err := pr.CmdLine(); err == nil {
		p.Args = shorten(cleanLabel(strings.Join(Scrub(args), " ")), maxArgsLen)
	}
	if p.Args == "" && p.Command != "" {
		p.Args = "[" + p.Command + "]" // kernel threads have no command line; ps shows them bracketed
	}
	cgs, err := pr.Cgroups()
	if err != nil {
		return // exited, or no cgroups in this kernel
	}
	var id, uid string
	for _, cg := range cgs {
		cid, pu := ParseCgroupPath(cg.Path)
		if id == "" {
			id = cid
		}
		if uid == "" {
			uid = pu
		}
	}
	p.Owner.ContainerID = id
	if c.cfg.Resolver != nil && (id != "" || uid != "") {
		if o, ok := c.cfg.Resolver.Lookup(id, uid); ok {
			p.Owner = o
		}
	}
}

func cleanLabel(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.TrimSpace(s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
