package podlogs

import (
	"path/filepath"
	"strconv"
	"strings"
)

// podRef is what the kubelet encodes in a container log path:
// <root>/<namespace>_<pod>_<uid>/<container>/<restart>.log[.<rotation suffix>]
type podRef struct {
	Namespace string
	Pod       string
	UID       string
	Container string
	Restart   int
	// HasRestart is false when the file name does not start with a number.
	HasRestart bool
	// OK is false when the path does not follow the kubelet layout; the file
	// is still shipped, only without pod metadata.
	OK bool
}

// parsePodLogPath extracts the pod reference from a log file path below root.
func parsePodLogPath(root, path string) podRef {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return podRef{}
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	if len(parts) != 3 {
		return podRef{}
	}
	// Namespace and pod names are DNS labels/subdomains and cannot contain
	// '_', so the directory splits into exactly three fields. Should a
	// runtime ever produce more, the UID is still last and the namespace
	// first, and the rest is taken as the pod name.
	fields := strings.Split(parts[0], "_")
	if len(fields) < 3 || parts[1] == "" {
		return podRef{}
	}
	ref := podRef{
		Namespace: fields[0],
		Pod:       strings.Join(fields[1:len(fields)-1], "_"),
		UID:       fields[len(fields)-1],
		Container: parts[1],
		OK:        true,
	}
	if ref.Namespace == "" || ref.Pod == "" || ref.UID == "" {
		return podRef{}
	}
	name := parts[2]
	if i := strings.Index(name, ".log"); i > 0 {
		if n, err := strconv.Atoi(name[:i]); err == nil && n >= 0 {
			ref.Restart = n
			ref.HasRestart = true
		}
	}
	return ref
}

// rotatedBase returns the live file name a rotated file was renamed from:
// ".../0.log.20261126-120000" → ".../0.log". The kubelet (rename) and
// logrotate-style copytruncate both keep the live name as a prefix.
func rotatedBase(path string) (string, bool) {
	dir, name := filepath.Split(path)
	i := strings.Index(name, ".log.")
	if i <= 0 {
		return "", false
	}
	return dir + name[:i+len(".log")], true
}
