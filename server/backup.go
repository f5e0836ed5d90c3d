package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SAVE and BGSAVE: the data is always on disk, so they write a backup: a
// consistent lsm Checkpoint in <dir>/backup that kvctl --db can open. The
// new checkpoint is written beside the old one and swapped in by renames
// once complete, so a crash or an error at any point leaves the previous
// backup whole.

type backupState struct {
	running  atomic.Bool
	lastSave atomic.Int64 // unix seconds of the last success (start time at first)
	lastOK   atomic.Bool
	tried    atomic.Bool
	lastSecs atomic.Int64
	wg       sync.WaitGroup
	s        *Server
}

// backupDir is where the current backup lives: Dir/backup, or beside the
// DB when that would lie inside it (see Options.Dir).
func (s *Server) backupDir() string {
	dir := s.config().Dir
	dbDir, err := filepath.Abs(s.db.Metrics().Dir)
	if err != nil {
		dbDir = s.db.Metrics().Dir
	}
	if rel, err := filepath.Rel(dbDir, dir); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.Clean(dbDir) + ".backup"
	}
	return filepath.Join(dir, "backup")
}

// backupNow writes a backup and waits for it.
func (s *Server) backupNow() error {
	if !s.backup.running.CompareAndSwap(false, true) {
		return errors.New("Background save already in progress")
	}
	defer s.backup.running.Store(false)
	return s.writeBackup()
}

// backupInBackground starts a backup unless one runs already.
func (s *Server) backupInBackground() bool {
	if !s.backup.running.CompareAndSwap(false, true) {
		return false
	}
	s.backup.wg.Add(1)
	go func() {
		defer s.backup.wg.Done()
		defer s.backup.running.Store(false)
		if err := s.writeBackup(); err != nil {
			s.log.Error("background backup failed", "err", err)
		}
	}()
	return true
}

func (b *backupState) wait() { b.wg.Wait() }

func (s *Server) writeBackup() error {
	start := time.Now()
	err := s.checkpointSwap()
	s.backup.tried.Store(true)
	s.backup.lastOK.Store(err == nil)
	s.backup.lastSecs.Store(int64(time.Since(start).Seconds()))
	if err == nil {
		s.backup.lastSave.Store(time.Now().Unix())
		s.log.Info("backup written", "dir", s.backupDir(), "took", time.Since(start).Round(time.Millisecond))
	}
	return err
}

func (s *Server) checkpointSwap() error {
	final := s.backupDir()
	parent := filepath.Dir(final)
	tmp := final + ".new"
	old := final + ".old"
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	// Leftovers of an interrupted backup.
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := s.db.Checkpoint(tmp); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := os.Stat(old); err == nil {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
	}
	hadOld := false
	if _, err := os.Stat(final); err == nil {
		if err := os.Rename(final, old); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		hadOld = true
	}
	if err := os.Rename(tmp, final); err != nil {
		if hadOld {
			os.Rename(old, final)
		}
		return fmt.Errorf("backup: %w", err)
	}
	syncDir(parent)
	if hadOld {
		os.RemoveAll(old)
	}
	return nil
}

// syncDir makes the renames in dir durable (best effort: some systems
// cannot fsync a directory).
func syncDir(dir string) {
	if f, err := os.Open(dir); err == nil {
		f.Sync()
		f.Close()
	}
}
