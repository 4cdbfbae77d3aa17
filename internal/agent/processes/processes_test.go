package processes

import (
	"os"
	"os/exec"
	"os/user"
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
