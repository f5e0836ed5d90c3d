package server

import "sync/atomic"

// Version is the server's own version, reported as strata_version.
const Version = "0.1.0"

type scripting struct{ busyFlag atomic.Bool }

type scriptRun struct{}

func newScripting(s *Server) *scripting { return &scripting{} }
func (l *scripting) busy() bool         { return l.busyFlag.Load() }
func (l *scripting) killForShutdown()   {}
func scriptingCommands() []*command     { return nil }
