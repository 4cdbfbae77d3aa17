// Command kubelet measures the kubelet metrics parser on a cAdvisor-sized
// exposition (a full node: 110 pods) and one collection of this machine's top
// processes, and prints a table of figures.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"vigil/internal/agent/processes"
	"vigil/internal/kubelet"
)

// cadvisor writes an exposition like a kubelet's /metrics/cadvisor for pods×containers.
func cadvisor(pods, containers int) []byte {
	var b bytes.Buffer
	families := []string{"container_cpu_usage_seconds_total", "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
		"container_cpu_cfs_throttled_seconds_total", "container_memory_working_set_bytes", "container_memory_rss", "container_memory_cache",
		"container_memory_usage_bytes", "container_fs_usage_bytes", "container_fs_reads_bytes_total", "container_fs_writes_bytes_total",
		"container_network_receive_bytes_total", "container_network_transmit_bytes_total", "container_oom_events_total",
		"container_spec_memory_limit_bytes", "container_spec_cpu_shares", "container_tasks_state", "container_last_seen"}
	for _, f := range families {
		fmt.Fprintf(&b, "# HELP %s A cAdvisor metric.\n# TYPE %s gauge\n", f, f)
		for p := 0; p < pods; p++ {
			for c := 0; c < containers; c++ {
				fmt.Fprintf(&b, "%s{container=\"c%d\",id=\"/kubepods/burstable/pod%08d-1b2c-4d5e-8f90-123456789abc/%064d\",image=\"registry.example/app:%d\",name=\"%012d\",namespace=\"ns%d\",pod=\"pod-%d\"} %d 1732614003512\n",
					f, c, p, p*10+c, p, p*10+c, p%10, p, p*1000+c)
			}
		}
	}
	return b.Bytes()
}

func main() {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "figure\tvalue\t")
	body := cadvisor(110, 3)
	const runs = 20
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	start := time.Now()
	var n int
	for i := 0; i < runs; i++ {
		s, err := kubelet.Parse(bytes.NewReader(body), kubelet.ParseOptions{Node: "n1", Time: time.Now()})
		if err != nil {
			fmt.Fprintln(os.Stderr, "parse:", err)
			os.Exit(1)
		}
		n = len(s)
	}
	per := time.Since(start) / runs
	runtime.ReadMemStats(&ms)
	lines := strings.Count(string(body), "\n")
	fmt.Fprintf(w, "cAdvisor exposition (110 pods × 3 containers)\t%.1f MiB, %d lines\t\n", float64(len(body))/(1<<20), lines)
	fmt.Fprintf(w, "series kept\t%d\t\n", n)
	fmt.Fprintf(w, "parse time per scrape\t%v\t\n", per.Round(time.Microsecond))
	fmt.Fprintf(w, "parse throughput\t%.0f lines/s\t\n", float64(lines)/per.Seconds())
	fmt.Fprintf(w, "allocated per scrape\t%.1f MiB\t\n", float64(ms.TotalAlloc-alloc0)/runs/(1<<20))

	c, err := processes.New(processes.Config{NodeName: "bench"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "processes:", err)
		os.Exit(1)
	}
	if _, err := c.Collect(time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "processes:", err)
		os.Exit(1)
	}
	all, _ := os.ReadDir("/proc")
	procs := 0
	for _, e := range all {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			procs++
		}
	}
	start = time.Now()
	const pruns = 10
	var series int
	for i := 0; i < pruns; i++ {
		s, err := c.Collect(time.Now())
		if err != nil {
			fmt.Fprintln(os.Stderr, "processes:", err)
			os.Exit(1)
		}
		series = len(s)
	}
	fmt.Fprintf(w, "process collection (%d processes on this host)\t%v\t\n", procs, (time.Since(start) / pruns).Round(time.Microsecond))
	fmt.Fprintf(w, "process series per collection (top 20 ∪ 20)\t%d\t\n", series)
	w.Flush()
}
