// Package version holds build information set by the linker.
package version

// Set with -ldflags "-X vigil/internal/version.Version=…".
var (
	Version = "dev"
	Commit  = "unknown"
)
