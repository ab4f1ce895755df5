package raftnode

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// hcLogger bridges raft's hclog calls to slog. Raft is chatty at info, so
// it logs at warn and above unless the slog logger is enabled for debug.
type hcLogger struct {
	l       *slog.Logger
	name    string
	level   *atomic.Int32
	implied []any
}

var _ hclog.Logger = (*hcLogger)(nil)

func newHCLogger(l *slog.Logger, name string) *hcLogger {
	level := hclog.Warn
	if l.Enabled(context.Background(), slog.LevelDebug) {
		level = hclog.Debug
	}
	lv := &atomic.Int32{}
	lv.Store(int32(level))
	return &hcLogger{l: l.With("component", name), name: name, level: lv}
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level < hclog.Level(h.level.Load()) {
		return
	}
	var sl slog.Level
	switch {
	case level <= hclog.Debug:
		sl = slog.LevelDebug
	case level == hclog.Info:
		sl = slog.LevelInfo
	case level == hclog.Warn:
		sl = slog.LevelWarn
	default:
		sl = slog.LevelError
	}
	h.l.Log(context.Background(), sl, msg, args...)
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(l hclog.Level) bool { return l >= hclog.Level(h.level.Load()) }
func (h *hcLogger) IsTrace() bool              { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool              { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool               { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool               { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool              { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return h.implied }

func (h *hcLogger) With(args ...any) hclog.Logger {
	return &hcLogger{l: h.l.With(args...), name: h.name, level: h.level, implied: append(append([]any{}, h.implied...), args...)}
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	return &hcLogger{l: h.l.With("component", name), name: name, level: h.level, implied: h.implied}
}

func (h *hcLogger) SetLevel(level hclog.Level) { h.level.Store(int32(level)) }
func (h *hcLogger) GetLevel() hclog.Level      { return hclog.Level(h.level.Load()) }

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	level := hclog.Info
	if opts != nil && opts.ForceLevel != hclog.NoLevel {
		level = opts.ForceLevel
	}
	return lineWriter(func(line string) { h.Log(level, line) })
}

// lineWriter logs each write (a log.Logger writes one line at a time).
type lineWriter func(string)

func (w lineWriter) Write(p []byte) (int, error) {
	w(string(bytes.TrimRight(p, "\r\n")))
	return len(p), nil
}
