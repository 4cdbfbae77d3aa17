package inventory

import (
	"fmt"
	"log/slog"

	scalibrlog "github.com/google/osv-scalibr/log"
)

// osv-scalibr logs through its own global logger, by default to stderr on
// every walk; route it to slog at debug level (warnings stay warnings) so a
// CLI's output and a server's log stay clean.
func init() { scalibrlog.SetLogger(slogAdapter{}) }

type slogAdapter struct{}

func (slogAdapter) Errorf(f string, a ...any) { slog.Warn("inventory: " + fmt.Sprintf(f, a...)) }
func (slogAdapter) Error(a ...any)            { slog.Warn("inventory: " + fmt.Sprint(a...)) }
func (slogAdapter) Warnf(f string, a ...any)  { slog.Debug("inventory: " + fmt.Sprintf(f, a...)) }
func (slogAdapter) Warn(a ...any)             { slog.Debug("inventory: " + fmt.Sprint(a...)) }
func (slogAdapter) Infof(f string, a ...any)  { slog.Debug("inventory: " + fmt.Sprintf(f, a...)) }
func (slogAdapter) Info(a ...any)             { slog.Debug("inventory: " + fmt.Sprint(a...)) }
func (slogAdapter) Debugf(f string, a ...any) { slog.Debug("inventory: " + fmt.Sprintf(f, a...)) }
func (slogAdapter) Debug(a ...any)            { slog.Debug("inventory: " + fmt.Sprint(a...)) }
