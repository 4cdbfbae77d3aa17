package tailbase

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestZapLoggerLevels(t *testing.T) {
	var buf bytes.Buffer
	l := NewZapLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	l.Info("Started watching file", zap.String("path", "/x"))
	l.Error("Failed to open file - unreadable", zap.String("original_path", "/var/log/secret.log"))
	l.Error("save offsets")
	out := buf.String()
	if strings.Contains(out, "Started watching") {
		t.Errorf("fileconsumer info not lowered to debug:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN msg=\"Failed to open file - unreadable\" fileconsumer.original_path=/var/log/secret.log") {
		t.Errorf("unreadable file not a warning:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR msg=\"save offsets\"") {
		t.Errorf("error lost:\n%s", out)
	}
}
