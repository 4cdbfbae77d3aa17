package tailbase

import (
	"context"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewZapLogger routes the fileconsumer's zap logging into slog so the agent
// has a single log stream. Its fields go into a group so they cannot clash
// with the agent's own attributes.
func NewZapLogger(l *slog.Logger) *zap.Logger {
	return zap.New(&slogCore{h: l.Handler().WithGroup("fileconsumer")})
}

type slogCore struct {
	h slog.Handler
}

// zapToSlog lowers Info to Debug: the fileconsumer logs every file it starts
// or resumes watching at Info, which on a node with hundreds of containers
// drowns the agent's own messages.
func zapToSlog(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l == zapcore.WarnLevel:
		return slog.LevelWarn
	default:
		return slog.LevelDebug
	}
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return c.h.Enabled(context.Background(), zapToSlog(l))
}

func (c *slogCore) With(fields []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h.WithAttrs(fieldsToAttrs(fields))}
}

// unreadableMsg is what the fileconsumer logs, once per path and start, when
// it may not open a matched file. That file is skipped and every other one
// keeps flowing, so it is a warning rather than an error.
const unreadableMsg = "Failed to open file - unreadable"

func entryLevel(e zapcore.Entry) slog.Level {
	if e.Message == unreadableMsg && e.Level >= zapcore.WarnLevel {
		return slog.LevelWarn
	}
	return zapToSlog(e.Level)
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.h.Enabled(context.Background(), entryLevel(e)) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	r := slog.NewRecord(e.Time, entryLevel(e), e.Message, 0)
	r.AddAttrs(fieldsToAttrs(fields)...)
	return c.h.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }

func fieldsToAttrs(fields []zapcore.Field) []slog.Attr {
	if len(fields) == 0 {
		return nil
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	attrs := make([]slog.Attr, 0, len(enc.Fields))
	for k, v := range enc.Fields {
		attrs = append(attrs, slog.Any(k, v))
	}
	return attrs
}
