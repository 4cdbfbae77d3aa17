// Package nodemetrics reads a node's CPU, memory, load, disk, filesystem and
// network figures from /proc and /sys (via prometheus/procfs) and returns them
// as OTLP metrics named like node-exporter's.
package nodemetrics

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
	"github.com/prometheus/procfs/blockdevice"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Config says where the host's filesystems are (in a DaemonSet they are mounted under /host).
type Config struct {
	NodeName string
	ProcPath string // default /proc
	SysPath  string // default /sys
	RootFS   string // prefix for mount points when reading filesystem usage; default /
}

// Collector gathers node metrics.
type Collector struct {
	cfg  Config
	proc procfs.FS
	blk  blockdevice.FS
}

// New checks the paths and returns a collector.
func New(cfg Config) (*Collector, error) {
	if cfg.ProcPath == "" {
		cfg.ProcPath = "/proc"
	}
	if cfg.SysPath == "" {
		cfg.SysPath = "/sys"
	}
	if cfg.RootFS == "" {
		cfg.RootFS = "/"
	}
	if cfg.NodeName == "" {
		return nil, fmt.Errorf("node name is required")
	}
	p, err := procfs.NewFS(cfg.ProcPath)
	if err != nil {
		return nil, fmt.Errorf("open procfs %s: %w", cfg.ProcPath, err)
	}
	b, err := blockdevice.NewFS(cfg.ProcPath, cfg.SysPath)
	if err != nil {
		return nil, fmt.Errorf("open block devices: %w", err)
	}
	return &Collector{cfg: cfg, proc: p, blk: b}, nil
}

// builder groups data points under one Metric per name, as OTLP intends.
type builder struct {
	sm      pmetric.ScopeMetrics
	ts      pcommon.Timestamp
	gauges  map[string]pmetric.Gauge
	counter map[string]pmetric.Sum
}

func (b *builder) gauge(name, unit string, v float64, attrs ...string) {
	g, ok := b.gauges[name]
	if !ok {
		m := b.sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		g = m.SetEmptyGauge()
		b.gauges[name] = g
	}
	b.point(g.DataPoints().AppendEmpty(), v, attrs)
}

func (b *builder) counterPoint(name, unit string, v float64, attrs ...string) {
	s, ok := b.counter[name]
	if !ok {
		m := b.sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		s = m.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		b.counter[name] = s
	}
	b.point(s.DataPoints().AppendEmpty(), v, attrs)
}

func (b *builder) point(dp pmetric.NumberDataPoint, v float64, attrs []string) {
	dp.SetTimestamp(b.ts)
	dp.SetDoubleValue(v)
	for i := 0; i+1 < len(attrs); i += 2 {
		dp.Attributes().PutStr(attrs[i], attrs[i+1])
	}
}

// Collect reads the current figures. Partial failures (a missing file) skip that
// group and are reported together; the rest is still returned.
func (c *Collector) Collect(now time.Time) (pmetric.Metrics, error) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("k8s.node.name", c.cfg.NodeName)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("vigil/nodemetrics")
	b := &builder{sm: sm, ts: pcommon.NewTimestampFromTime(now), gauges: map[string]pmetric.Gauge{}, counter: map[string]pmetric.Sum{}}
	var errs []string
	for _, f := range []struct {
		name string
		fn   func(*builder) error
	}{{"cpu", c.cpu}, {"memory", c.memory}, {"load", c.load}, {"network", c.network}, {"disk", c.disk}, {"filesystem", c.filesystems}} {
		if err := f.fn(b); err != nil {
			errs = append(errs, f.name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return md, fmt.Errorf("node metrics: %s", strings.Join(errs, "; "))
	}
	return md, nil
}

func (c *Collector) cpu(b *builder) error {
	st, err := c.proc.Stat()
	if err != nil {
		return err
	}
	for i, cs := range st.CPU {
		cpu := strconv.FormatInt(i, 10)
		for mode, v := range map[string]float64{"user": cs.User, "nice": cs.Nice, "system": cs.System, "idle": cs.Idle,
			"iowait": cs.Iowait, "irq": cs.IRQ, "softirq": cs.SoftIRQ, "steal": cs.Steal} {
			b.counterPoint("node_cpu_seconds_total", "s", v, "cpu", cpu, "mode", mode)
		}
	}
	b.counterPoint("node_context_switches_total", "", float64(st.ContextSwitches))
	b.gauge("node_boot_time_seconds", "s", float64(st.BootTime))
	b.gauge("node_procs_running", "", float64(st.ProcessesRunning))
	return nil
}

func (c *Collector) memory(b *builder) error {
	mi, err := c.proc.Meminfo()
	if err != nil {
		return err
	}
	for name, p := range map[string]*uint64{
		"node_memory_MemTotal_bytes": mi.MemTotalBytes, "node_memory_MemFree_bytes": mi.MemFreeBytes,
		"node_memory_MemAvailable_bytes": mi.MemAvailableBytes, "node_memory_Buffers_bytes": mi.BuffersBytes,
		"node_memory_Cached_bytes": mi.CachedBytes, "node_memory_SwapTotal_bytes": mi.SwapTotalBytes,
		"node_memory_SwapFree_bytes": mi.SwapFreeBytes,
	} {
		if p != nil {
			b.gauge(name, "By", float64(*p))
		}
	}
	return nil
}

func (c *Collector) load(b *builder) error {
	l, err := c.proc.LoadAvg()
	if err != nil {
		return err
	}
	b.gauge("node_load1", "", l.Load1)
	b.gauge("node_load5", "", l.Load5)
	b.gauge("node_load15", "", l.Load15)
	return nil
}

func (c *Collector) network(b *builder) error {
	nd, err := c.proc.NetDev()
	if err != nil {
		return err
	}
	for name, l := range nd {
		b.counterPoint("node_network_receive_bytes_total", "By", float64(l.RxBytes), "device", name)
		b.counterPoint("node_network_transmit_bytes_total", "By", float64(l.TxBytes), "device", name)
		b.counterPoint("node_network_receive_packets_total", "", float64(l.RxPackets), "device", name)
		b.counterPoint("node_network_transmit_packets_total", "", float64(l.TxPackets), "device", name)
		b.counterPoint("node_network_receive_errs_total", "", float64(l.RxErrors), "device", name)
		b.counterPoint("node_network_transmit_errs_total", "", float64(l.TxErrors), "device", name)
	}
	return nil
}

// Sectors in /proc/diskstats are always 512 bytes, whatever the device's block size.
const sectorBytes = 512

func (c *Collector) disk(b *builder) error {
	ds, err := c.blk.ProcDiskstats()
	if err != nil {
		return err
	}
	for _, d := range ds {
		// Partitions and virtual devices would double-count their parent disk.
		if strings.HasPrefix(d.DeviceName, "loop") || strings.HasPrefix(d.DeviceName, "ram") || isPartition(c.cfg.SysPath, d.DeviceName) {
			continue
		}
		dev := d.DeviceName
		b.counterPoint("node_disk_read_bytes_total", "By", float64(d.ReadSectors*sectorBytes), "device", dev)
		b.counterPoint("node_disk_written_bytes_total", "By", float64(d.WriteSectors*sectorBytes), "device", dev)
		b.counterPoint("node_disk_reads_completed_total", "", float64(d.ReadIOs), "device", dev)
		b.counterPoint("node_disk_writes_completed_total", "", float64(d.WriteIOs), "device", dev)
		b.counterPoint("node_disk_io_time_seconds_total", "s", float64(d.IOsTotalTicks)/1000, "device", dev)
	}
	return nil
}

func isPartition(sys, dev string) bool {
	_, err := os.Stat(filepath.Join(sys, "class", "block", dev, "partition"))
	return err == nil
}

// Pseudo filesystems carry no user data; node-exporter skips the same kinds.
var ignoredFS = map[string]bool{"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true,
	"mqueue": true, "debugfs": true, "tracefs": true, "securityfs": true, "pstore": true, "bpf": true,
	"autofs": true, "hugetlbfs": true, "configfs": true, "fusectl": true, "binfmt_misc": true, "nsfs": true,
	"devtmpfs": true, "rpc_pipefs": true, "squashfs": true, "overlay": true, "tmpfs": true, "ramfs": true}

func (c *Collector) filesystems(b *builder) error {
	mounts, err := procfs.GetProcMounts(1)
	if err != nil {
		if mounts, err = procfs.GetMounts(); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, m := range mounts {
		if ignoredFS[m.FSType] || seen[m.Source+m.MountPoint] {
			continue
		}
		seen[m.Source+m.MountPoint] = true
		var st syscall.Statfs_t
		if err := syscall.Statfs(filepath.Join(c.cfg.RootFS, m.MountPoint), &st); err != nil {
			continue // unreachable mount (e.g. stale NFS): skip rather than fail the node
		}
		attrs := []string{"device", m.Source, "mountpoint", m.MountPoint, "fstype", m.FSType}
		bs := float64(st.Bsize)
		b.gauge("node_filesystem_size_bytes", "By", float64(st.Blocks)*bs, attrs...)
		b.gauge("node_filesystem_free_bytes", "By", float64(st.Bfree)*bs, attrs...)
		b.gauge("node_filesystem_avail_bytes", "By", float64(st.Bavail)*bs, attrs...)
		b.gauge("node_filesystem_files", "", float64(st.Files), attrs...)
		b.gauge("node_filesystem_files_free", "", float64(st.Ffree), attrs...)
	}
	return nil
}
