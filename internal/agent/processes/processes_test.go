package processes

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
)

const (
	cid = "3f2a9c1b7e5d4c3b2a1908f7e6d5c4b3a2918f7e6d5c4b3a2918f7e6d5c4b3a2"
	uid = "0f0e6c5a-1b2c-4d5e-8f90-123456789abc"
)

func TestParseCgroupPath(t *testing.T) {
	for _, tc := range []struct{ path, id, pod string }{
		{"/kubepods/burstable/pod" + uid + "/" + cid, cid, uid},
		{"/kubepods/pod" + uid + "/" + cid, cid, uid},
		{"/kubepods/besteffort/pod" + uid, "", uid},
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/cri-containerd-" + cid + ".scope", cid, uid},
		{"/kubepods.slice/kubepods-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-" + cid + ".scope", cid, uid},
		{"/kubepods.slice/kubepods-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/crio-conmon-" + cid + ".scope", "", uid},
		{"/system.slice/containerd.service/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice:cri-containerd:" + cid, cid, uid},
		{"/system.slice/docker-" + cid + ".scope", cid, ""},
		{"/docker/" + cid, cid, ""},
		{"/user.slice/user-1000.slice/session-2.scope", "", ""},
		{"/", "", ""},
		{"/process_api/0d727bd39a6e3ed7ff00b9e565b7355d", "", ""},
		{"/kubepods/podnot-a-uid/" + cid, cid, ""},
		{"", "", ""},
	} {
		id, pod := ParseCgroupPath(tc.path)
		if id != tc.id || pod != tc.pod {
			t.Errorf("%q → (%q, %q), want (%q, %q)", tc.path, id, pod, tc.id, tc.pod)
		}
	}
	if got := ContainerIDFromStatus("containerd://" + cid); got != cid {
		t.Fatal(got)
	}
}

func FuzzParseCgroupPath(f *testing.F) {
	f.Add("/kubepods/burstable/pod" + uid + "/" + cid)
	f.Add("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice/cri-containerd-" + cid + ".scope")
	f.Add("/system.slice/containerd.service/kubepods-pod" + uid + ".slice:cri-containerd:" + cid)
	f.Add("0::/\xff/pod")
	f.Fuzz(func(t *testing.T, path string) {
		id, pod := ParseCgroupPath(path)
		if id != "" && (!isHex64(id) || !strings.Contains(path, id)) {
			t.Fatalf("id %q from %q", id, path)
		}
		if pod != "" && !isUUID(pod) {
			t.Fatalf("pod uid %q from %q", pod, path)
		}
	})
}

type fakeResolver map[string]Owner

func (f fakeResolver) Lookup(id, pod string) (Owner, bool) {
	if o, ok := f[id]; ok {
		return o, true
	}
	o, ok := f[pod]
	return o, ok
}

// The collector reads this machine's real /proc: a process started here must
// be reported with its pid, command, user and CPU.
func TestCollectFindsSpawnedProcess(t *testing.T) {
	dir := t.TempDir()
	script := dir + "/vigil-spin-test"
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile :; do :; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}

	c, err := New(Config{NodeName: "n1", Top: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sample(time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	series, err := c.Collect(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]labels.Labels{}
	values := map[string]float64{}
	for _, s := range series {
		if s.Labels.Get("pid") == strconv.Itoa(pid) {
			found[s.Labels.Get(labels.MetricName)] = s.Labels
			values[s.Labels.Get(labels.MetricName)] = s.Samples[0].V
		}
		if !utf8.ValidString(s.Labels.String()) {
			t.Fatalf("invalid UTF-8 in %s", s.Labels)
		}
	}
	l, ok := found[MetricCPURatio]
	if !ok || len(found) != 4 {
		t.Fatalf("pid %d not reported: %v", pid, found)
	}
	if l.Get("command") != "vigil-spin-test" || l.Get("user") != me.Username || l.Get("node") != "n1" || !strings.Contains(l.Get("args"), script) {
		t.Fatalf("labels %s", l)
	}
	// A busy loop gets some of a core even on a loaded machine.
	if v := values[MetricCPURatio]; v <= 0.02 || v > 1.05 {
		t.Fatalf("cpu ratio %v", v)
	}
	if values[MetricRSS] <= 0 || values[MetricCPUSeconds] <= 0 {
		t.Fatalf("values %v", values)
	}
	if st := values[MetricStartTime]; st < float64(time.Now().Add(-time.Minute).Unix()) || st > float64(time.Now().Unix()+1) {
		t.Fatalf("start time %v", st)
	}
}

func TestTopLimitsAndUnion(t *testing.T) {
	c, err := New(Config{NodeName: "n1", Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	procs, err := c.Sample(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Three by CPU plus three by memory, overlapping or not.
	if len(procs) < 3 || len(procs) > 6 {
		t.Fatalf("%d processes", len(procs))
	}
	for i := 1; i < len(procs); i++ {
		if procs[i].CPURatio > procs[i-1].CPURatio {
			t.Fatalf("not sorted by CPU: %v", procs)
		}
	}
}

func TestResolverFillsOwner(t *testing.T) {
	c, err := New(Config{NodeName: "n1", Resolver: fakeResolver{}})
	if err != nil {
		t.Fatal(err)
	}
	// This process has no container cgroup here; the owner stays empty rather than guessed.
	procs, err := c.Sample(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		if p.Owner.Pod != "" {
			t.Fatalf("owner invented: %+v", p)
		}
	}
	r := fakeResolver{cid: {ContainerID: cid, Namespace: "shop", Pod: "web-1", Container: "web"}}
	o, ok := r.Lookup(cid, "")
	if !ok || o.Container != "web" {
		t.Fatal(o)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("no node name accepted")
	}
	if _, err := New(Config{NodeName: "n", ProcPath: "/nonexistent"}); err == nil {
		t.Fatal("bad proc path accepted")
	}
}

func TestShorten(t *testing.T) {
	if got := shorten(strings.Repeat("é", 150), 201); !utf8.ValidString(got) || len(got) > 204 {
		t.Fatalf("%q", got)
	}
}

// writeProc lays out the /proc files the collector reads for one process.
func writeProc(t *testing.T, root string, pid int, comm string, utime, rssPages int, uid, cmdline, cgroup string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Fields 14/15 utime/stime, 22 starttime (ticks since boot), 24 rss (pages).
	stat := fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 100 0 0 0 %d 0 0 0 20 0 1 0 5000 1000000 %d 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n",
		pid, comm, pid, pid, utime, rssPages)
	files := map[string]string{
		"stat":    stat,
		"status":  fmt.Sprintf("Name:\t%s\nUid:\t%s\t%s\t%s\t%s\nGid:\t0\t0\t0\t0\n", comm, uid, uid, uid, uid),
		"cmdline": strings.ReplaceAll(cmdline, " ", "\x00") + "\x00",
		"cgroup":  cgroup,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A process in a pod's container is labelled with that pod and container.
func TestCollectLabelsContainerProcesses(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("cpu  1 2 3 4 5 6 7 8 9 10\nbtime 1700000000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeProc(t, root, 4242, "nginx", 500, 2560, "101", "nginx: master process nginx -g daemon off;",
		"12:memory:/kubepods/burstable/pod"+uid+"/"+cid+"\n0::/kubepods/burstable/pod"+uid+"/"+cid+"\n")
	writeProc(t, root, 7, "sshd", 10, 100, "0", "/usr/sbin/sshd -D", "0::/system.slice/ssh.service\n")
	res := fakeResolver{cid: {ContainerID: cid, Namespace: "shop", Pod: "web-1", Container: "web"}}
	names := map[string]string{"101": "www-data", "0": "root"}
	c, err := New(Config{NodeName: "n1", ProcPath: root, Resolver: res, LookupUser: func(u string) string { return names[u] }})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000+50+100, 0) // 100 s after the processes started (5000 ticks after boot)
	series, err := c.Collect(now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range series {
		got[s.Labels.Get("pid")+" "+s.Labels.Get(labels.MetricName)] = fmt.Sprintf("%s = %g", s.Labels, s.Samples[0].V)
	}
	want := map[string]string{
		"4242 " + MetricCPURatio: `{__name__="vigil_process_cpu_usage_ratio", args="nginx: master process nginx -g daemon off;", command="nginx", container="web", container_id="` + cid + `", namespace="shop", node="n1", pid="4242", pod="web-1", user="www-data"} = 0.05`,
		"4242 " + MetricRSS:      `{__name__="vigil_process_resident_memory_bytes", args="nginx: master process nginx -g daemon off;", command="nginx", container="web", container_id="` + cid + `", namespace="shop", node="n1", pid="4242", pod="web-1", user="www-data"} = ` + fmt.Sprintf("%g", float64(2560*os.Getpagesize())),
		"7 " + MetricCPUSeconds:  `{__name__="vigil_process_cpu_seconds_total", args="/usr/sbin/sshd -D", command="sshd", node="n1", pid="7", user="root"} = 0.1`,
		"7 " + MetricStartTime:   `{__name__="vigil_process_start_time_seconds", args="/usr/sbin/sshd -D", command="sshd", node="n1", pid="7", user="root"} = 1.70000005e+09`,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
		}
	}
	if len(series) != 8 {
		t.Fatalf("%d series", len(series))
	}
	// The next collection rates CPU over the interval: 5 more seconds of CPU in 10 s.
	writeProc(t, root, 4242, "nginx", 1000, 2560, "101", "nginx", "0::/kubepods/burstable/pod"+uid+"/"+cid+"\n")
	procs, err := c.Sample(now.Add(10 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if procs[0].PID != 4242 || procs[0].CPURatio != 0.5 {
		t.Fatalf("second sample: %+v", procs[0])
	}
}

func TestScrubHidesSecrets(t *testing.T) {
	in := []string{"postgres", "--password=hunter2", "-D", "/data", "--token", "abc", "DB_PASSWORD=x", "--api-key", "k", "--verbose", "user=bob", "--secret"}
	got := strings.Join(Scrub(in), " ")
	want := "postgres --password=******** -D /data --token ******** DB_PASSWORD=******** --api-key ******** --verbose user=bob --secret"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
