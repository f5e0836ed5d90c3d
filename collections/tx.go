package collections

import (
	"bytes"
	"errors"
	"time"

	"github.com/stratadb/strata/lsm"
)

// Tx is one atomic unit of work: every Store operation runs as one, and
// Update and UpdateKeys hand one to their function. Its reads see its own
// earlier writes; its writes reach the engine as one lsm batch when it
// commits, or not at all. Time stands still in a Tx: every expiry it judges
// is judged against one reading of the clock, taken the first time it needs
// one (as Redis freezes time for a command or a script).
//
// A Tx belongs to the goroutine running its function and is valid only
// until the function returns.
type Tx struct {
	s   *Store
	ls  *lockSet // &lsv
	lsv lockSet
	// attempt counts the reruns of the operation (see end).
	attempt int
	done    bool
	// now is the clock in Unix ns, read when the Tx first needs it (nowOK),
	// not when it begins: most operations never judge an expiry themselves
	// (the engine does), and a clock read is a measurable part of an INCR.
	now   int64
	nowOK bool

	ov     overlay
	ranges []rangeDel
	// dropped counts the elements the range deletes in ranges cover.
	dropped int64
	// conds are the string keys the Tx read from the engine, with what it
	// saw: a rewrite of one is applied only if nobody outside the Store
	// changed it meanwhile.
	conds []strCond

	touched [][]byte
	tbuf    []byte
	// undeclared is set when a method was refused with ErrTxKey.
	undeclared bool
	// zdirty are the sorted sets whose mirrors the Tx changed; zdead those
	// it deleted.
	zdirty, zdead []uint64
	buf           []byte
	batch         *lsm.Batch
	// vbuf holds the value getRawTmp read last; hkey a header key.
	vbuf []byte
	hkey [16]byte
	// lookups counts the engine point reads the Tx made since it began
	// (its commit's not included): what tests hold the read paths to.
	lookups int
	// wroteMeta is set when the Tx wrote a metadata key: its commit then
	// updates the metadata cache.
	wroteMeta bool
}

type rangeDel struct{ lo, hi []byte }

type strCond struct {
	key     []byte
	present bool
	val     []byte
}

// errRetry asks end for another run of the operation.
var errRetry = errors.New("collections: retry")

func (tx *Tx) begin(s *Store, ls *lockSet) {
	tx.s, tx.ls, tx.done = s, ls, false
	tx.nowOK = false
	tx.lookups = 0
	tx.wroteMeta = false
	tx.ov.reset()
	tx.ranges = tx.ranges[:0]
	tx.dropped = 0
	tx.conds = tx.conds[:0]
	tx.touched = tx.touched[:0]
	tx.tbuf = tx.tbuf[:0]
	tx.zdirty = tx.zdirty[:0]
	tx.zdead = tx.zdead[:0]
	tx.undeclared = false
}

// Undeclared reports whether a method of the Tx was refused with ErrTxKey
// (a key UpdateKeys was not given): a caller that ran several operations
// and wrote their errors as replies learns from it that the Tx must not
// commit and the work must run under Update instead.
func (tx *Tx) Undeclared() bool { return tx.undeclared }

// Now returns the time the Tx judges expiry against.
func (tx *Tx) Now() time.Time { return time.Unix(0, tx.nowNs()) }

// nowNs returns the Tx's time in Unix ns, reading the clock the first time.
func (tx *Tx) nowNs() int64 {
	if !tx.nowOK {
		tx.now, tx.nowOK = tx.s.now().UnixNano(), true
	}
	return tx.now
}

// scratch returns a reusable buffer; a key built in it is valid until the
// next call of scratch.
func (tx *Tx) scratch() []byte { return tx.buf[:0] }

// keep remembers the scratch buffer grown by append, for reuse.
func (tx *Tx) keep(b []byte) []byte {
	if cap(b) > cap(tx.buf) {
		tx.buf = b[:0]
	}
	return b
}

// check returns an error if the Tx may not touch name.
func (tx *Tx) check(name []byte, write bool) error {
	if tx.done || tx.s == nil {
		return ErrTxDone
	}
	if write && !tx.ls.write {
		return ErrReadOnlyTx
	}
	if len(name) > MaxNameSize {
		return sizeErr("key name", len(name), MaxNameSize)
	}
	if tx.ls.all {
		return nil
	}
	i := tx.s.stripeOf(name)
	for _, j := range tx.ls.idx {
		if i == j {
			return nil
		}
	}
	tx.undeclared = true
	return ErrTxKey
}

// touch records that the Tx modified name.
func (tx *Tx) touch(name []byte) {
	for _, t := range tx.touched {
		if bytes.Equal(t, name) {
			return
		}
	}
	// A slice of tbuf stays valid when a later append moves tbuf: it keeps
	// pointing at the old array, whose bytes never change.
	off := len(tx.tbuf)
	tx.tbuf = append(tx.tbuf, name...)
	tx.touched = append(tx.touched, tx.tbuf[off:len(tx.tbuf):len(tx.tbuf)])
}

// ---- raw reads and writes through the overlay ----

// inRange reports whether a pending range delete covers raw.
func (tx *Tx) inRange(raw []byte) bool {
	for i := range tx.ranges {
		r := &tx.ranges[i]
		if bytes.Compare(raw, r.lo) >= 0 && bytes.Compare(raw, r.hi) < 0 {
			return true
		}
	}
	return false
}

// getRaw returns the value of raw as the Tx sees it. The slice is the
// caller's.
func (tx *Tx) getRaw(raw []byte) ([]byte, bool, error) {
	if n := tx.ov.find(raw); n != nil {
		if n.del || (n.expAt != 0 && n.expAt <= tx.nowNs()) {
			return nil, false, nil
		}
		return append([]byte{}, n.val...), true, nil
	}
	if len(tx.ranges) > 0 && tx.inRange(raw) {
		return nil, false, nil
	}
	if c := tx.noted(raw); c != nil {
		if !c.present {
			return nil, false, nil
		}
		return append([]byte{}, c.val...), true, nil
	}
	meta := tx.s.mc.on && isMetaKey(raw)
	if meta {
		if m, ok := tx.s.metaGet(raw[2:]); ok {
			tx.verifyMeta(raw, m)
			return m.encode(nil), true, nil
		}
	}
	tx.lookups++
	v, err := tx.s.db.Get(raw)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if meta {
		tx.s.metaFill(raw[2:], v, 0)
	}
	return v, true, nil
}

// getRawAppend is getRaw appending the value to dst, with no copy of its
// own: dst unchanged when raw is absent.
func (tx *Tx) getRawAppend(dst, raw []byte) ([]byte, bool, error) {
	if n := tx.ov.find(raw); n != nil {
		if n.del || (n.expAt != 0 && n.expAt <= tx.nowNs()) {
			return dst, false, nil
		}
		return append(dst, n.val...), true, nil
	}
	if len(tx.ranges) > 0 && tx.inRange(raw) {
		return dst, false, nil
	}
	if c := tx.noted(raw); c != nil {
		if !c.present {
			return dst, false, nil
		}
		return append(dst, c.val...), true, nil
	}
	tx.lookups++
	out, err := tx.s.db.GetAppend(dst, raw, nil)
	if errors.Is(err, lsm.ErrNotFound) {
		return dst, false, nil
	}
	if err != nil {
		return dst, false, err
	}
	return out, true, nil
}

// getRawTmp is getRaw for a value decoded at once (metadata, a header, a
// score): the slice is the Tx's, valid until the next getRawTmp, so the read
// allocates nothing.
func (tx *Tx) getRawTmp(raw []byte) ([]byte, bool, error) {
	if n := tx.ov.find(raw); n != nil {
		if n.del || (n.expAt != 0 && n.expAt <= tx.nowNs()) {
			return nil, false, nil
		}
		tx.vbuf = append(tx.vbuf[:0], n.val...)
		return tx.vbuf, true, nil
	}
	if len(tx.ranges) > 0 && tx.inRange(raw) {
		return nil, false, nil
	}
	if c := tx.noted(raw); c != nil {
		if !c.present {
			return nil, false, nil
		}
		tx.vbuf = append(tx.vbuf[:0], c.val...)
		return tx.vbuf, true, nil
	}
	meta := tx.s.mc.on && isMetaKey(raw)
	if meta {
		if m, ok := tx.s.metaGet(raw[2:]); ok {
			tx.verifyMeta(raw, m)
			return tx.encodeMetaTmp(m), true, nil
		}
	}
	tx.lookups++
	v, err := tx.s.db.GetAppend(tx.vbuf[:0], raw, nil)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if meta {
		tx.s.metaFill(raw[2:], v, 0)
	}
	if cap(v) <= 1<<10 {
		tx.vbuf = v[:0]
	}
	return v, true, nil
}

// headerKey returns the header key of id in the Tx's own buffer, valid
// until the next call.
func (tx *Tx) headerKey(id uint64) []byte { return headerKey(tx.hkey[:0], id) }

// getRawExp is getRaw with the entry's expiry (Unix ns, 0 = never).
func (tx *Tx) getRawExp(raw []byte) ([]byte, int64, bool, error) {
	if n := tx.ov.find(raw); n != nil {
		if n.incr {
			if err := tx.resolveIncr(n); err != nil {
				return nil, 0, false, err
			}
		}
		if n.del || (n.expAt != 0 && n.expAt <= tx.nowNs()) {
			return nil, 0, false, nil
		}
		return append([]byte{}, n.val...), n.expAt, true, nil
	}
	if len(tx.ranges) > 0 && tx.inRange(raw) {
		return nil, 0, false, nil
	}
	meta := tx.s.mc.on && isMetaKey(raw)
	if meta {
		if m, ok := tx.s.metaGet(raw[2:]); ok {
			tx.verifyMeta(raw, m)
			return m.encode(nil), 0, true, nil // the cache holds no TTL
		}
	}
	tx.lookups++
	v, err := tx.s.db.Get(raw)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	tx.lookups++
	at, err := tx.s.db.Expiry(raw)
	if errors.Is(err, lsm.ErrNotFound) {
		return nil, 0, false, nil // expired between the two reads
	}
	if err != nil {
		return nil, 0, false, err
	}
	var exp int64
	if !at.IsZero() {
		exp = at.UnixNano()
		if exp <= tx.nowNs() {
			return nil, 0, false, nil
		}
	}
	if meta {
		tx.s.metaFill(raw[2:], v, exp)
	}
	return v, exp, true, nil
}

// resolveIncr makes the pending increment n a plain write: it reads the
// expiry the key has in the engine, which the increment would have kept,
// into n, so the Tx can read or change it. The commit then writes n as a
// put conditional on the value noted at the Tx's read, as any other
// rewrite of a string. A key expired since that read is pending as
// expired now: it reads as absent, and the commit's condition fails, so
// the Tx runs again.
func (tx *Tx) resolveIncr(n *ovNode) error {
	tx.lookups++
	at, err := tx.s.db.Expiry(n.key)
	switch {
	case errors.Is(err, lsm.ErrNotFound):
		n.expAt = tx.nowNs()
	case err != nil:
		return err
	case !at.IsZero():
		n.expAt = at.UnixNano()
	}
	n.incr = false
	return nil
}

// hasRaw reports whether raw exists as the Tx sees it.
func (tx *Tx) hasRaw(raw []byte) (bool, error) {
	if n := tx.ov.find(raw); n != nil {
		return !n.del && (n.expAt == 0 || n.expAt > tx.nowNs()), nil
	}
	if len(tx.ranges) > 0 && tx.inRange(raw) {
		return false, nil
	}
	if c := tx.noted(raw); c != nil {
		return c.present, nil
	}
	if tx.s.mc.on && isMetaKey(raw) {
		if m, ok := tx.s.metaGet(raw[2:]); ok {
			tx.verifyMeta(raw, m)
			return true, nil
		}
	}
	tx.lookups++
	return tx.s.db.Has(raw)
}

func (tx *Tx) putRaw(raw, val []byte, expAt int64) {
	tx.wroteMeta = tx.wroteMeta || isMetaKey(raw)
	tx.ov.put(raw, val, expAt)
}

func (tx *Tx) delRaw(raw []byte) {
	tx.wroteMeta = tx.wroteMeta || isMetaKey(raw)
	tx.ov.del(raw)
}

// rangeDeleteMin is the number of elements from which data is deleted with
// one range delete rather than one point delete per key: a whole
// collection (deleteData) or a run of a list's elements (deleteSeqs).
//
// A range delete costs the same whatever it covers, but the engine's
// memtable keeps its range tombstones in a list it re-fragments on the
// first read after each change: cheap for a few, a cost on every read once
// there are thousands. Point deletes cost one small write per key. So a
// small collection (a session hash, a queue emptied by its pops, a capped
// feed trimmed by one) goes key by key, at most a bounded number of keys,
// and a large one in one range delete; a memtable then holds at most one
// range tombstone per rangeDeleteMin elements written to it.
const rangeDeleteMin = 512

// deleteData deletes every data key of the collection id, which holds
// elems elements: key by key (read through the Tx) below rangeDeleteMin,
// else, or if the keys turn out more than the header said, with one range
// delete.
func (tx *Tx) deleteData(id uint64, elems int64) error {
	lo, hi := dataBounds(id)
	if elems < tx.s.rangeMin() {
		// A sorted set has two keys per element and its rank nodes (about
		// one per 64 elements); past the limit a range delete is cheaper.
		limit := 2*rangeDeleteMin + 64
		var ks [][]byte
		ti := tx.iter(lo, hi)
		for ok := ti.First(); ok && len(ks) <= limit; ok = ti.Next() {
			ks = append(ks, append([]byte{}, ti.Key()...))
		}
		if err := ti.Close(); err != nil {
			return err
		}
		if len(ks) <= limit {
			for _, k := range ks {
				tx.delRaw(k)
			}
			return nil
		}
	}
	tx.deleteRange(lo, hi, elems)
	return nil
}

// deleteSeqs deletes the elements at sequence numbers [lo, hi) of the list
// id: key by key below rangeDeleteMin (no reads: the keys are known), else
// with one range delete.
func (tx *Tx) deleteSeqs(id, lo, hi uint64) {
	if hi-lo < uint64(tx.s.rangeMin()) {
		for q := lo; q < hi; q++ {
			tx.delRaw(seqKey(nil, id, q))
		}
		return
	}
	tx.deleteRange(seqKey(nil, id, lo), seqKey(nil, id, hi), int64(hi-lo))
}

// deleteRange deletes every raw key in [lo, hi) with one range delete;
// elems is how many elements that drops (see Options.DeleteFlushElements).
func (tx *Tx) deleteRange(lo, hi []byte, elems int64) {
	tx.dropped += elems
	tx.ov.deleteRange(lo, hi)
	tx.ranges = append(tx.ranges, rangeDel{append([]byte{}, lo...), append([]byte{}, hi...)})
}

// noteString records, the first time the Tx reads the string at raw from the
// engine, what it saw, so that commit can require it unchanged.
//
// A read-only Tx commits nothing, so it notes nothing: a GET allocates no
// copy of its key and value for a check that never runs. A noted entry
// reuses the buffers of the slot a pooled Tx used before.
func (tx *Tx) noteString(raw, val []byte, present bool) {
	if !tx.ls.write {
		return
	}
	if tx.ov.find(raw) != nil {
		return // the Tx wrote it already: its first read was noted then
	}
	for i := range tx.conds {
		if bytes.Equal(tx.conds[i].key, raw) {
			return
		}
	}
	if len(tx.conds) < cap(tx.conds) {
		tx.conds = tx.conds[:len(tx.conds)+1]
	} else {
		tx.conds = append(tx.conds, strCond{})
	}
	c := &tx.conds[len(tx.conds)-1]
	c.key = append(c.key[:0], raw...)
	c.val = append(c.val[:0], val...)
	c.present = present
}

// noted returns what the Tx's first engine read of the string at raw saw,
// nil if it has not read it (or is read-only, and notes nothing). A later
// read of a key the Tx has not written is answered from it, not from the
// engine: the Tx holds the key's lock, so only a raw write from outside the
// Store can have changed it since, and a Tx that writes the key commits
// only if none did (the condition the note becomes). The Tx so sees one
// state of the key throughout, as if the raw write came after it: a GET and
// then a DEL of the key (a lock release) read it once.
func (tx *Tx) noted(raw []byte) *strCond {
	if len(tx.conds) == 0 {
		return nil
	}
	return tx.condOf(raw)
}

func (tx *Tx) condOf(raw []byte) *strCond {
	for i := range tx.conds {
		if bytes.Equal(tx.conds[i].key, raw) {
			return &tx.conds[i]
		}
	}
	return nil
}

// commit applies the Tx's writes as one batch: its range deletes first, then
// the final state of every key it wrote.
func (tx *Tx) commit() error {
	if tx.ov.n == 0 && len(tx.ranges) == 0 {
		return nil
	}
	if tx.batch == nil {
		tx.batch = tx.s.db.NewBatch()
	} else {
		tx.batch.Reset()
	}
	b := tx.batch
	for _, r := range tx.ranges {
		b.DeleteRange(r.lo, r.hi)
	}
	if len(tx.ranges) > 0 {
		tx.s.rangeDels.Add(int64(len(tx.ranges)))
	}
	now := tx.s.now().UnixNano()
	var optBuf [2]lsm.WriteOption
	for n := tx.ov.first(); n != nil; n = n.next[0] {
		if n.covered {
			continue
		}
		opts := optBuf[:0]
		if len(tx.conds) > 0 {
			if c := tx.condOf(n.key); c != nil {
				if c.present {
					opts = append(opts, lsm.IfValue(c.val))
				} else {
					opts = append(opts, lsm.IfAbsent())
				}
			}
		}
		if n.del {
			b.Delete(n.key, opts...)
			continue
		}
		if n.incr {
			// opts holds IfValue of the value the increment was
			// computed from (Tx.IncrBy noted it): the engine's
			// increment reads the key once, checks it, and keeps its
			// expiry.
			b.Increment(n.key, n.delta, opts...)
			continue
		}
		if n.expAt != 0 {
			d := n.expAt - now
			if d <= 0 {
				b.Delete(n.key, opts...)
				continue
			}
			opts = append(opts, lsm.WithTTL(time.Duration(d)))
		}
		b.Put(n.key, n.val, opts...)
	}
	err := tx.s.db.Apply(b)
	if err != nil && len(tx.conds) > 0 && errors.Is(err, lsm.ErrConditionFailed) {
		return errRetry
	}
	return err
}
