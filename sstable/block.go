package sstable

import (
	"bytes"
	"encoding/binary"

	"github.com/stratadb/strata/keys"
)

// denseFlag is set in the restart count of a block's expanded form (see
// expandBlock), which exists only in memory: every entry is then a restart
// point, so the iterator moves from restart to restart. It is never written
// to a file; a block read from a file that carries it is corrupt.
const denseFlag = 1 << 31

// blockWriter builds one block: prefix-compressed entries, then the restart
// array and its length. It belongs to the Writer's goroutine.
type blockWriter struct {
	restartInterval int
	buf             []byte
	restarts        []uint32
	sinceRestart    int // entries since the last restart point
	entries         int
	lastKey         []byte
}

func (b *blockWriter) reset() {
	b.buf = b.buf[:0]
	b.restarts = b.restarts[:0]
	b.sinceRestart = 0
	b.entries = 0
	b.lastKey = b.lastKey[:0]
}

// add appends an entry; keys must be added in increasing order.
func (b *blockWriter) add(key, value []byte) {
	shared := 0
	if b.entries == 0 || b.sinceRestart >= b.restartInterval {
		b.restarts = append(b.restarts, uint32(len(b.buf)))
		b.sinceRestart = 0
	} else {
		shared = keys.SharedPrefixLen(b.lastKey, key)
	}
	b.buf = binary.AppendUvarint(b.buf, uint64(shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(key)-shared))
	b.buf = binary.AppendUvarint(b.buf, uint64(len(value)))
	b.buf = append(b.buf, key[shared:]...)
	b.buf = append(b.buf, value...)
	b.lastKey = append(b.lastKey[:0], key...)
	b.sinceRestart++
	b.entries++
}

// estimatedSize returns the size finish would return now.
func (b *blockWriter) estimatedSize() int {
	return len(b.buf) + restartEntryLen*len(b.restarts) + 4
}

// finish appends the restart array and returns the whole block (an empty
// block has no restart points). The result aliases the builder's buffer
// until reset.
func (b *blockWriter) finish() []byte {
	for _, r := range b.restarts {
		b.buf = binary.LittleEndian.AppendUint32(b.buf, r)
	}
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(len(b.restarts)))
	return b.buf
}

// blockIter iterates over the entries of one uncompressed block: a data
// block in its on-disk form (as the block cache keeps it), or the index in
// the expanded form the reader keeps in memory. It never panics and never
// reads outside data, whatever data holds: a malformed entry stops the
// iterator and sets err. A blockIter belongs to one goroutine.
type blockIter struct {
	data        []byte
	restartsOff int // offset of the restart array = end of the entries
	numRestarts int
	dense       bool // every entry is a restart point (the expanded form)

	cur        int // offset of the current entry
	next       int // offset just past the current entry
	restartIdx int // index of the restart interval holding cur
	key        []byte
	val        []byte
	keyBuf     []byte // holds key when it had to be rebuilt from a shared prefix
	valid      bool
	err        error

	// For error messages.
	name     string
	blockOff int64
}

// init points the iterator at a block. It checks the block's frame (restart
// count and array bounds) but not its entries.
func (it *blockIter) init(data []byte, name string, blockOff int64) error {
	*it = blockIter{data: data, name: name, blockOff: blockOff, keyBuf: it.keyBuf[:0]}
	if len(data) < 4 {
		return it.corrupt(0, "block of %d bytes is too short", len(data))
	}
	n := uint64(binary.LittleEndian.Uint32(data[len(data)-4:]))
	it.dense = n&denseFlag != 0
	n &^= denseFlag
	if n > uint64(len(data)-4)/restartEntryLen {
		return it.corrupt(len(data)-4, "block claims %d restart points in %d bytes", n, len(data))
	}
	it.numRestarts = int(n)
	it.restartsOff = len(data) - 4 - restartEntryLen*int(n)
	if n == 0 && it.restartsOff != 0 {
		return it.corrupt(len(data)-4, "block has %d bytes of entries but no restart points", it.restartsOff)
	}
	return nil
}

func (it *blockIter) corrupt(at int, format string, args ...any) error {
	it.valid = false
	it.err = keys.CorruptionError(it.name, it.blockOff, "block entry at %d: "+format, append([]any{at}, args...)...)
	return it.err
}

// restart returns the i'th restart offset, or -1 (with err set) if it points
// outside the entries.
func (it *blockIter) restart(i int) int {
	r := int(binary.LittleEndian.Uint32(it.data[it.restartsOff+restartEntryLen*i:]))
	if r >= it.restartsOff || r < 0 {
		it.corrupt(it.restartsOff+restartEntryLen*i, "restart point %d is %d, outside the %d bytes of entries", i, r, it.restartsOff)
		return -1
	}
	return r
}

func uvarint(b []byte) (uint64, int) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1
	}
	return binary.Uvarint(b)
}

// decodeAt decodes the entry at off, whose predecessor's key is it.key (or
// which must be a restart entry when atRestart). It sets key, val, cur and
// next, and returns false (with err set) on a malformed entry.
func (it *blockIter) decodeAt(off int, atRestart bool) bool {
	end := it.restartsOff
	if off >= end {
		it.corrupt(off, "entry starts past the end of the entries (%d)", end)
		return false
	}
	p := off
	var shared, unshared, vlen uint64
	if d := it.data[p:end]; len(d) >= 3 && d[0]|d[1]|d[2] < 0x80 {
		// The common case: all three lengths below 128, one byte each.
		shared, unshared, vlen = uint64(d[0]), uint64(d[1]), uint64(d[2])
		p += 3
	} else {
		var n int
		if shared, n = uvarint(it.data[p:end]); n <= 0 {
			it.corrupt(off, "bad shared length")
			return false
		}
		p += n
		if unshared, n = uvarint(it.data[p:end]); n <= 0 {
			it.corrupt(off, "bad key length")
			return false
		}
		p += n
		if vlen, n = uvarint(it.data[p:end]); n <= 0 {
			it.corrupt(off, "bad value length")
			return false
		}
		p += n
	}
	rem := uint64(end - p)
	if unshared > rem || vlen > rem-unshared {
		it.corrupt(off, "key (%d) and value (%d) overrun the block", unshared, vlen)
		return false
	}
	kEnd := p + int(unshared)
	if shared == 0 {
		it.key = it.data[p:kEnd:kEnd]
	} else {
		if atRestart || shared > uint64(len(it.key)) {
			it.corrupt(off, "shared prefix %d longer than the previous key (%d bytes)", shared, len(it.key))
			return false
		}
		if len(it.key) > 0 && len(it.keyBuf) > 0 && &it.key[0] == &it.keyBuf[0] {
			// The previous key was rebuilt in keyBuf: its prefix is in place.
			it.keyBuf = append(it.keyBuf[:shared], it.data[p:kEnd]...)
		} else {
			it.keyBuf = append(it.keyBuf[:0], it.key[:shared]...)
			it.keyBuf = append(it.keyBuf, it.data[p:kEnd]...)
		}
		it.key = it.keyBuf
	}
	vEnd := kEnd + int(vlen)
	it.val = it.data[kEnd:vEnd:vEnd]
	it.cur = off
	it.next = vEnd
	it.valid = true
	return true
}

// seekRestart moves to the entry at restart point i; false (with err set)
// on damage.
func (it *blockIter) seekRestart(i int) bool {
	r := it.restart(i)
	if r < 0 {
		return false
	}
	it.restartIdx = i
	return it.decodeAt(r, true)
}

// First moves to the first entry.
func (it *blockIter) First() bool {
	if it.err != nil || it.numRestarts == 0 {
		it.valid = false
		return false
	}
	return it.seekRestart(0)
}

// Next moves to the next entry.
func (it *blockIter) Next() bool {
	if !it.valid {
		return false
	}
	if it.next >= it.restartsOff {
		it.valid = false
		return false
	}
	if it.dense {
		if it.restartIdx+1 >= it.numRestarts {
			it.valid = false
			return false
		}
		return it.seekRestart(it.restartIdx + 1)
	}
	atRestart := false
	if it.restartIdx+1 < it.numRestarts {
		r := it.restart(it.restartIdx + 1)
		if r < 0 {
			return false
		}
		if r == it.next {
			it.restartIdx++
			atRestart = true
		}
	}
	return it.decodeAt(it.next, atRestart)
}

// Last moves to the last entry.
func (it *blockIter) Last() bool {
	if it.err != nil || it.numRestarts == 0 {
		it.valid = false
		return false
	}
	if !it.seekRestart(it.numRestarts-1) || it.dense {
		return it.valid
	}
	for it.next < it.restartsOff {
		if !it.decodeAt(it.next, false) {
			return false
		}
	}
	return true
}

// Prev moves to the previous entry.
func (it *blockIter) Prev() bool {
	if !it.valid {
		return false
	}
	if it.dense {
		if it.restartIdx == 0 {
			it.valid = false
			return false
		}
		return it.seekRestart(it.restartIdx - 1)
	}
	target := it.cur
	idx := it.restartIdx
	r := it.restart(idx)
	if r < 0 {
		return false
	}
	if r >= target {
		if idx == 0 {
			it.valid = false
			return false
		}
		idx--
	}
	if !it.seekRestart(idx) {
		return false
	}
	if it.cur >= target {
		it.corrupt(it.cur, "restart points out of order")
		return false
	}
	for it.next < target {
		if !it.decodeAt(it.next, false) {
			return false
		}
	}
	if it.next != target {
		it.corrupt(it.cur, "entry overlaps the restart point at %d", target)
		return false
	}
	return true
}

// SeekGE moves to the first entry whose key is >= target in keys.Compare
// order.
func (it *blockIter) SeekGE(target []byte) bool {
	if it.err != nil || it.numRestarts == 0 {
		it.valid = false
		return false
	}
	// Find the first restart point whose key is >= target.
	lo, hi := 0, it.numRestarts
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !it.seekRestart(m) {
			return false
		}
		if keys.Compare(it.key, target) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 || it.dense {
		if lo == it.numRestarts {
			it.valid = false
			return false
		}
		return it.seekRestart(lo)
	}
	// Every entry before restart lo is < target, and the entry at restart
	// lo (if any) is >= target: scan the interval from restart lo-1, whose
	// entries share their keys' prefixes with no restart point among them.
	end := it.restartsOff
	if lo < it.numRestarts {
		if end = it.restart(lo); end < 0 {
			return false
		}
	}
	if !it.seekRestart(lo - 1) {
		return false
	}
	for keys.Compare(it.key, target) < 0 {
		if it.next >= end {
			if lo == it.numRestarts {
				it.valid = false
				return false
			}
			return it.seekRestart(lo)
		}
		if !it.decodeAt(it.next, false) {
			return false
		}
	}
	return true
}

// SeekLT moves to the last entry whose key is < target.
func (it *blockIter) SeekLT(target []byte) bool {
	if it.SeekGE(target) {
		return it.Prev()
	}
	if it.err != nil {
		return false
	}
	return it.Last()
}

// maxExpansion bounds the expanded form of a block to
// maxExpansion*len(raw) + maxExpansionSlack bytes. Long keys sharing long
// prefixes could otherwise make a small block expand quadratically; such a
// block is kept in its on-disk form instead.
const (
	maxExpansion      = 8
	maxExpansionSlack = 4096
)

// expandBlock decodes every entry of an on-disk block and returns the
// block's expanded form: the same block format with a restart point at every
// entry, so that every key is stored whole, and denseFlag set in the count.
// The reader expands its index this way when it opens a table: a seek in
// the index is then a binary search over whole keys that alias the block,
// never rebuilt into a buffer. (Data blocks stay in their on-disk form, in
// the cache too; see readDataBlock.) It checks every entry, that every
// restart point starts an entry, and that keys are strictly increasing; a
// damaged block returns a corruption error naming name and blockOff. It
// also returns the number of entries.
//
// If the expanded form would exceed the maxExpansion bound, expandBlock
// returns raw itself (checked all the same) and expanded=false.
func expandBlock(raw []byte, name string, blockOff int64) (block []byte, expanded bool, n int, err error) {
	var it blockIter
	if err := it.init(raw, name, blockOff); err != nil {
		return nil, false, 0, err
	}
	if it.dense {
		return nil, false, 0, it.corrupt(len(raw)-4, "restart count %08x has the in-memory flag set", binary.LittleEndian.Uint32(raw[len(raw)-4:]))
	}
	// Pass 1: validate and size.
	size := 0
	limit := maxExpansion*len(raw) + maxExpansionSlack
	var prev []byte
	for ok := it.First(); ok; ok = it.Next() {
		if n > 0 && keys.Compare(prev, it.key) >= 0 {
			return nil, false, 0, it.corrupt(it.cur, "keys out of order")
		}
		prev = append(prev[:0], it.key...)
		if size <= limit {
			size += 1 + uvarintLen(uint64(len(it.key))) + uvarintLen(uint64(len(it.val))) + len(it.key) + len(it.val) + restartEntryLen
		}
		n++
	}
	if it.err != nil {
		return nil, false, 0, it.err
	}
	if n == 0 {
		return make([]byte, 4), true, 0, nil // no entries, no restart points
	}
	if it.restartIdx != it.numRestarts-1 {
		return nil, false, 0, it.corrupt(it.cur, "restart point %d does not start an entry", it.restartIdx+1)
	}
	if size > limit {
		return raw, false, n, nil
	}
	size -= restartEntryLen * n // size of the entries alone
	out := make([]byte, size+restartEntryLen*n+4)
	// Pass 2: write whole keys, and a restart point per entry.
	w, i := 0, 0
	for ok := it.First(); ok && i < n; ok = it.Next() {
		binary.LittleEndian.PutUint32(out[size+restartEntryLen*i:], uint32(w))
		out[w] = 0
		w++
		w += binary.PutUvarint(out[w:], uint64(len(it.key)))
		w += binary.PutUvarint(out[w:], uint64(len(it.val)))
		w += copy(out[w:], it.key)
		w += copy(out[w:], it.val)
		i++
	}
	if it.err != nil || i != n || w != size {
		return nil, false, 0, it.corrupt(it.cur, "block changed while expanding")
	}
	binary.LittleEndian.PutUint32(out[size+restartEntryLen*n:], uint32(n)|denseFlag)
	return out, true, n, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// BlockIter iterates over one uncompressed block, given without its trailer.
// It exists for tools that dump tables and for fuzzing the block decoder:
// whatever bytes it is given, it never panics, and damage stops it with an
// error wrapping keys.ErrCorruption. Keys are internal keys, in keys.Compare
// order when the block is well formed. Key and Value stay valid until the
// next positioning call. A BlockIter belongs to one goroutine.
type BlockIter struct {
	it blockIter
}

// NewBlockIter returns an iterator over block. It fails if the block's
// restart array is malformed.
func NewBlockIter(block []byte) (*BlockIter, error) {
	b := &BlockIter{}
	if err := b.it.init(block, "block", 0); err != nil {
		return nil, err
	}
	return b, nil
}

// SeekGE moves to the first entry whose key is >= key.
func (b *BlockIter) SeekGE(key []byte) bool { return b.it.SeekGE(key) }

// SeekLT moves to the last entry whose key is < key.
func (b *BlockIter) SeekLT(key []byte) bool { return b.it.SeekLT(key) }

// First moves to the first entry.
func (b *BlockIter) First() bool { return b.it.First() }

// Last moves to the last entry.
func (b *BlockIter) Last() bool { return b.it.Last() }

// Next moves to the next entry.
func (b *BlockIter) Next() bool { return b.it.Next() }

// Prev moves to the previous entry.
func (b *BlockIter) Prev() bool { return b.it.Prev() }

// Valid reports whether the iterator is at an entry.
func (b *BlockIter) Valid() bool { return b.it.valid }

// Key returns the current key.
func (b *BlockIter) Key() []byte {
	if !b.it.valid {
		return nil
	}
	return b.it.key
}

// Value returns the current value.
func (b *BlockIter) Value() []byte {
	if !b.it.valid {
		return nil
	}
	return b.it.val
}

// Error returns the first corruption met, if any.
func (b *BlockIter) Error() error { return b.it.err }

// Close returns Error().
func (b *BlockIter) Close() error { return b.it.err }

// Expand returns the block in the expanded form the reader keeps its index
// in (a restart point at every entry), after checking every entry and the
// key order.
// If the expanded form would be too large (long keys sharing long
// prefixes), it returns the block unchanged.
func (b *BlockIter) Expand() ([]byte, error) {
	out, _, _, err := expandBlock(b.it.data, "block", 0)
	return out, err
}

var _ keys.Iterator = (*BlockIter)(nil)

// equalUserKey reports whether the internal key ikey has user key ukey.
func equalUserKey(ikey, ukey []byte) bool {
	return len(ikey) == len(ukey)+keys.TrailerLen && bytes.Equal(ikey[:len(ukey)], ukey)
}
