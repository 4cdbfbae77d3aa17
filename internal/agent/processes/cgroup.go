package processes

import (
	"strings"
)

// runtimePrefixes are how container runtimes name a container's cgroup
// (systemd driver: "cri-containerd-<id>.scope", "crio-<id>.scope", "docker-<id>.scope").
var runtimePrefixes = []string{"cri-containerd-", "crio-", "docker-", "containerd-", "libpod-", "cri-dockerd-"}

// ParseCgroupPath finds the container id (64 hex digits) and the pod UID in a
// cgroup path from /proc/<pid>/cgroup, for the cgroupfs and systemd drivers
// and cgroup v1 and v2, e.g.
//
//	/kubepods/burstable/pod0f0e6c5a-…/3f2a…
//	/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f0e6c5a_….slice/cri-containerd-3f2a….scope
//	/system.slice/containerd.service/kubepods-burstable-pod0f0e6c5a_….slice:cri-containerd:3f2a…
//
// Either result may be empty. Runtime monitor processes (CRI-O's conmon) are
// not the container and yield no id.
func ParseCgroupPath(path string) (containerID, podUID string) {
	segs := strings.FieldsFunc(path, func(r rune) bool { return r == '/' || r == ':' })
	for i := len(segs) - 1; i >= 0; i-- {
		seg := segs[i]
		if containerID == "" && podUID == "" {
			if id, ok := containerSegment(seg); ok {
				containerID = id
				continue
			}
		}
		if podUID == "" {
			if uid, ok := podSegment(seg); ok {
				podUID = uid
				break
			}
		}
	}
	return containerID, podUID
}

func containerSegment(seg string) (string, bool) {
	seg = strings.TrimSuffix(seg, ".scope")
	if strings.Contains(seg, "conmon") {
		return "", false
	}
	for _, p := range runtimePrefixes {
		if rest, ok := strings.CutPrefix(seg, p); ok {
			seg = rest
			break
		}
	}
	if isHex64(seg) {
		return seg, true
	}
	return "", false
}

func podSegment(seg string) (string, bool) {
	seg = strings.TrimSuffix(seg, ".slice")
	i := strings.LastIndex(seg, "pod")
	if i < 0 {
		return "", false
	}
	// The systemd driver escapes the UID's dashes as underscores.
	uid := strings.ReplaceAll(seg[i+len("pod"):], "_", "-")
	if !isUUID(uid) {
		return "", false
	}
	return uid, true
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// ContainerIDFromStatus strips the runtime scheme of a pod status containerID
// ("containerd://3f2a…" → "3f2a…").
func ContainerIDFromStatus(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}
