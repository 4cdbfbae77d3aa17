package podlogs

import (
	"path/filepath"

	"github.com/cespare/xxhash/v2"
)

// lineID identifies a raw CRI line of one container. The raw line includes
// the runtime's nanosecond timestamp and the stream, so two different lines
// only share an id if a container wrote identical text on the same stream at
// the same nanosecond (or by a 64-bit hash collision).
func lineID(ref podRef, path string, raw []byte) uint64 {
	h := xxhash.New()
	if ref.OK {
		_, _ = h.WriteString(ref.UID)
		_, _ = h.WriteString("\x00")
		_, _ = h.WriteString(ref.Container)
	} else {
		// Outside the kubelet layout: scope by the directory, which a
		// rotated file shares with the live one.
		_, _ = h.WriteString(filepath.Dir(path))
	}
	_, _ = h.WriteString("\x00")
	_, _ = h.Write(raw)
	return h.Sum64()
}
