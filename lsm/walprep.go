package lsm

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// WAL segments written ahead (Options.WALPrewrite).
//
// After a memtable rotation whose retiring segment was synced often
// (prewriteMaxPerSync), a goroutine creates a temporary file, writes
// zeros over the size the next segment will need and syncs it. The next
// rotation takes that file, renames it to the new segment's name (a
// number allocated then, so segments stay numbered in the order they are
// used) and syncs the directory, as a newly created segment's entry is
// synced. The WAL writer then overwrites the zeros from the start: a
// zero-filled tail reads as a clean end of the log, and closing the writer
// cuts it off. A crash leaves at worst the temporary file, which Open
// deletes, or a renamed segment of zeros, which replays as empty.

// walPrep is the segment written ahead, if any.
type walPrep struct {
	mu      sync.Mutex // guards the fields below; a leaf
	f       vfs.File   // written with zeros and synced; nil if none is ready
	name    string     // its temporary name
	size    int64      // the bytes of zeros f holds
	running bool       // a goroutine is writing one
	off     bool       // the filesystem cannot: no more tries
}

// prewriteMaxPerSync is the bytes a retiring segment may have averaged
// per sync for the next segment to be written ahead: above it the writes
// are large enough that the disk's bandwidth, which the zeros take from,
// bounds them more than the fsyncs' journal commits do (measured: writes
// of 1 MiB and fsync ran at a third of their speed with the next segment
// zero-filled beside them, 64-100 KiB ones 10-25% faster).
const prewriteMaxPerSync = 256 << 10

// prewriteChunk is the size of the writes of zeros.
const prewriteChunk = 1 << 20

// maybePrewriteWAL starts writing a segment of size bytes ahead if
// Options.WALPrewrite is set, none is ready or being written, and the
// retiring segment w was synced at least once per prewriteMaxPerSync
// bytes. (The first segment after Open is never written ahead: zeros
// written before the log has shown how it is written may be for nothing,
// and take from the disk while the log starts.) The leader only.
func (db *DB) maybePrewriteWAL(w *wal.Writer, size int64) {
	if !db.opts.WALPrewrite || w == nil {
		return
	}
	if syncs := w.Syncs(); syncs == 0 || w.Size()/syncs >= prewriteMaxPerSync {
		return
	}
	p := &db.walPrep
	p.mu.Lock()
	if p.running || p.f != nil || p.off {
		p.mu.Unlock()
		return
	}
	p.running = true
	p.mu.Unlock()
	db.bgWG.Add(1)
	go db.prewriteWAL(size)
}

// prewriteWAL writes a segment of size bytes ahead (see walPrep). It gives
// up, deleting its file, on any error (the next rotation then creates its
// segment as without Options.WALPrewrite) and at Close.
func (db *DB) prewriteWAL(size int64) {
	defer db.bgWG.Done()
	name := manifest.MakeFilename(db.dir, manifest.FileTypeTemp, db.vs.NewFileNum())
	f, err := db.fs.Create(name)
	if err == nil {
		err = zeroFill(f, size, db.stopc)
		if err == nil {
			err = f.Sync()
		}
		if err != nil {
			f.Close()
			db.removeFile(name)
		}
	}
	p := &db.walPrep
	p.mu.Lock()
	p.running = false
	if err == nil {
		p.f, p.name, p.size = f, name, size
	}
	if errors.Is(err, vfs.ErrUnsupported) {
		p.off = true
	}
	p.mu.Unlock()
	if err != nil && !errors.Is(err, errPrewriteStopped) {
		db.opts.Logger.Warn("WAL segment not written ahead", "file", name, "err", err)
	}
}

var errPrewriteStopped = errors.New("strata: closing")

// zeroFill writes size bytes of zeros to f with positioned writes, which
// leave the offset of f's sequential writes at 0; it stops early, with
// errPrewriteStopped, once stop is closed.
func zeroFill(f vfs.File, size int64, stop <-chan struct{}) error {
	wa, ok := f.(io.WriterAt)
	if !ok {
		return fmt.Errorf("strata: %w: the file has no positioned writes", vfs.ErrUnsupported)
	}
	zero := make([]byte, min(prewriteChunk, size))
	for off := int64(0); off < size; off += int64(len(zero)) {
		select {
		case <-stop:
			return errPrewriteStopped
		default:
		}
		n := min(int64(len(zero)), size-off)
		if _, err := wa.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// take hands over the segment written ahead, its temporary name and the
// bytes of zeros it holds, if one is ready (f nil otherwise).
func (p *walPrep) take() (f vfs.File, name string, size int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, name, size, p.f = p.f, p.name, p.size, nil
	return f, name, size
}

// takePrewrittenWAL returns the segment written ahead, renamed to name
// (its directory entry not yet synced), and the bytes of zeros it holds,
// or nil if there is none or the rename failed.
func (db *DB) takePrewrittenWAL(name string) (vfs.File, int64) {
	f, tmp, size := db.walPrep.take()
	if f == nil {
		return nil, 0
	}
	if err := db.fs.Rename(tmp, name); err != nil {
		f.Close()
		db.removeFile(tmp)
		db.opts.Logger.Warn("WAL segment written ahead not used", "file", tmp, "err", err)
		return nil, 0
	}
	db.metrics.walPrewritten.Add(1)
	return f, size
}

// zeroAheadMaxPerSync is the bytes a segment in use may average per sync
// for zeros to be written ahead of its log (wal.Writer.ZeroAhead): the
// zeros are paid for by the fsync that follows them, and above this the
// journal commits they save are worth less than the disk time they take
// (measured: appends of 10,300 bytes 20-35% faster a call, of 66,000
// bytes 12-20% slower).
const zeroAheadMaxPerSync = 16 << 10

// newWALWriter returns the writer of a new segment f of a memtable of
// capacity bytes; written is the bytes of zeros f holds (a segment
// written ahead), 0 for a file just created. With Options.WALPrewrite,
// a segment not written ahead (the first after Open, or after a segment
// synced too seldom) has zeros written ahead of its log instead, once it
// shows it is synced often (see wal.Writer.ZeroAhead).
func (db *DB) newWALWriter(f vfs.File, capacity, written int64) *wal.Writer {
	// A segment holds about one memtable's worth of records: preallocate
	// and map that much, so appends are memory copies into the page cache.
	w := wal.NewMappedWriter(f, capacity+capacity/8)
	if db.opts.WALPrewrite && !db.walPrep.isOff() {
		w.ZeroAhead(zeroAheadMaxPerSync, written, &db.metrics.walZeroedAhead)
	}
	return w
}

// isOff reports whether the filesystem was found to take no positioned
// writes.
func (p *walPrep) isOff() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.off
}

// dropPrewrittenWAL deletes a segment written ahead and not used (Close,
// after the background goroutines stopped).
func (db *DB) dropPrewrittenWAL() {
	if f, tmp, _ := db.walPrep.take(); f != nil {
		f.Close()
		db.removeFile(tmp)
	}
}
