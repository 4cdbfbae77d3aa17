// Package fsutil holds the small durable-file helpers the agent's buffers share.
package fsutil

import (
	"fmt"
	"os"
)

// SyncDir fsyncs a directory so that renames and creations in it survive a power loss.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}
