package sstable

import (
	"bytes"

	"github.com/stratadb/strata/internal/invariants"
	"github.com/stratadb/strata/keys"
)

// Iterator is a two-level iterator over a table: an iterator over the index
// block picks the data block, which is loaded lazily through the block
// cache, and an iterator over that block yields the entries. It implements
// keys.Iterator. Key and Value stay valid until the next positioning call.
// Corruption or an I/O error met while positioning makes the positioning
// call return false and is reported by Error; so does an entry that cannot
// be judged (keys.ValidEntry), named by the table and its block's offset. An Iterator belongs to one
// goroutine.
type Iterator struct {
	r *Reader
	// p is the table's point index, held for the iterator's life (nil if
	// the index has none). Positioning calls find their data block in it
	// and step from block to block by number (blk) when it decides
	// (pointMode); a target whose prefix ties with an index entry's, and
	// tables without a point index, use the whole index: ix, loaded the
	// first time it is needed, and index over it.
	p         *pointIndex
	pv        pointIndex // what p points at
	pref      BlockRef   // holds pv's memory when the cache's (see Reader.pointIdx)
	blk       int
	pointMode bool
	ix        *indexPart
	index     blockIter // over ix.index
	data      blockIter // over the loaded data block

	loaded  bool     // data holds a block
	dataOff uint64   // offset of the loaded block
	ref     BlockRef // holds the loaded block (released when it moves on)
	noFill  bool     // blocks read from the file stay out of the cache (NewCompactionIter)
	// dropParts makes Close drop the table's parts from the cache
	// (DropPartsOnClose).
	dropParts bool
	ra        readahead
	// scratch (noFill iterators) is the pooled buffer the blocks read from
	// the file are decoded into, one after the other: a compaction reads
	// every block of its inputs, and a fresh allocation per block was most
	// of the garbage a large fill makes. The block it holds is dropped, like
	// a cached one, when the iterator moves to another.
	scratch *[]byte

	// User key bounds: lower inclusive, upper exclusive; nil = none.
	lower, upper []byte
	seekBuf      []byte // a bound turned into an internal search key

	valid  bool
	err    error
	closed bool
}

var _ keys.Iterator = (*Iterator)(nil)

// NewIter returns an iterator over the table (it implements keys.Iterator).
// Data blocks are loaded lazily through the cache.
func (r *Reader) NewIter() *Iterator {
	it := &Iterator{}
	r.ResetIter(it, false)
	return it
}

// ResetIter makes it an iterator over r, as NewIter returns (or
// NewCompactionIter when compaction is true), keeping the memory of its key
// buffers: a caller that recycles its closed Iterators saves the
// allocation of one and of its buffers per table it opens. it must be new
// or closed, and no key it returned may be in use.
func (r *Reader) ResetIter(it *Iterator, compaction bool) {
	it.ref.Release() // nothing for a closed iterator; a block an unclosed one still held
	it.pref.Release()
	it.ra.release()
	ib, db, sb := it.index.keyBuf[:0], it.data.keyBuf[:0], it.seekBuf[:0]
	*it = Iterator{r: r, noFill: compaction, seekBuf: sb}
	it.index.keyBuf, it.data.keyBuf = ib, db
	it.ra.init(compaction)
	if r.closed.Load() {
		it.err = errReaderClosed
		return
	}
	has, _, ref, err := r.pointIdx(&it.pv)
	if err != nil {
		it.err = err
		return
	}
	it.pref = ref
	if has {
		it.p = &it.pv
	} else {
		it.needIndex()
	}
}

// needIndex loads the whole index for the iterator, if it has not yet,
// and reports whether it has it.
func (it *Iterator) needIndex() bool {
	if it.ix != nil {
		return true
	}
	ix, err := it.r.index()
	if err != nil {
		return it.fail(err)
	}
	if err := it.index.init(ix.index, it.r.name, int64(it.r.meta.footer.index.offset)); err != nil {
		return it.fail(err)
	}
	it.ix = ix
	return true
}

// pointSeek finds the block of the first index entry >= ikey by the point
// index. decided is false when it cannot (no point index, or a tie: see
// pointIndex.search); otherwise the iterator is in pointMode and i is the
// block number (the number of blocks if ikey is above every index key).
func (it *Iterator) pointSeek(ikey []byte) (i int, decided bool) {
	if it.p == nil {
		it.pointMode = false
		return 0, false
	}
	i, tie := it.p.search(ikey)
	it.pointMode = !tie
	return i, !tie
}

// loadBlockNum loads data block i in pointMode.
func (it *Iterator) loadBlockNum(i int) bool {
	it.blk = i
	return it.loadHandle(it.p.handle(i))
}

// boundOrder compares the user key of block i's index key with the user
// key bound by the point index's prefixes: -1 if it is below, +1 if at or
// above, 0 when the prefixes do not tell.
func (it *Iterator) boundOrder(i int, bound []byte) int {
	p := it.p
	if !bytes.HasPrefix(bound, p.common) {
		return 0
	}
	switch b := prefixOf(p.common, bound); {
	case p.prefixes[i] < b:
		return -1
	case p.prefixes[i] > b:
		return 1
	}
	// Equal prefixes: a bound of at most 8 bytes past the common prefix,
	// ending with a non-zero byte, is then a prefix of the index key (a
	// shorter key would have a zero of padding where the bound does not).
	if rest := bound[len(p.common):]; len(rest) > 0 && len(rest) <= 8 && rest[len(rest)-1] != 0 {
		return 1
	}
	return 0
}

// NewCompactionIter returns an iterator for reading the table once from end
// to end, as a compaction does: it uses the data blocks the cache holds, but
// the blocks it reads from the file are not added to the cache. A
// compaction reads every block of its inputs, tables it is about to delete:
// caching them would evict, block for block, the blocks that reads keep
// using, for blocks no read will ask for again.
func (r *Reader) NewCompactionIter() *Iterator {
	it := &Iterator{}
	r.ResetIter(it, true)
	return it
}

// DropPartsOnClose makes a compaction iterator's Close evict the table's
// point index and whole index from the cache (Reader.DropParts): a
// compaction calls it for each input, a table it reads once and deletes
// when it is done. Other iterators ignore it.
func (it *Iterator) DropPartsOnClose() {
	it.dropParts = it.noFill
}

// SetBounds limits the iterator to user keys in [lower, upper); nil means
// unbounded. A bounded scan stops at the bound without loading the next
// data block when the index shows it holds nothing in bounds. The bounds
// are copied. The iterator must be repositioned afterwards.
func (it *Iterator) SetBounds(lower, upper []byte) {
	it.lower, it.upper = nil, nil
	if lower != nil {
		it.lower = append(make([]byte, 0, len(lower)), lower...)
	}
	if upper != nil {
		it.upper = append(make([]byte, 0, len(upper)), upper...)
	}
	it.valid = false
}

func (it *Iterator) usable() bool {
	it.valid = false
	return it.err == nil && !it.closed
}

// fail records err (if any) and leaves the iterator unpositioned.
func (it *Iterator) fail(err error) bool {
	if err != nil && it.err == nil {
		it.err = err
	}
	it.valid = false
	return false
}

// loadBlock points data at the block the index is positioned at, without
// reloading it if it is the block already loaded.
func (it *Iterator) loadBlock() bool {
	h, ok := decodeHandle(it.index.val)
	if !ok {
		return it.fail(keys.CorruptionError(it.r.name, int64(it.r.meta.footer.index.offset), "bad block handle in index"))
	}
	return it.loadHandle(h)
}

// loadHandle points data at the block at h.
func (it *Iterator) loadHandle(h blockHandle) bool {
	if it.loaded && h.offset == it.dataOff {
		return true
	}
	it.loaded = false
	it.data.data, it.data.key, it.data.val = nil, nil, nil // about to be released
	it.ref.Release()
	var into *[]byte
	if it.noFill {
		if it.scratch == nil {
			it.scratch = getBuf()
		}
		if invariants.Enabled {
			// A key or value of the previous block kept past this move
			// (against Key's contract) reads zeros, not stale data.
			clear(*it.scratch)
		}
		into = it.scratch
	}
	block, ref, err := it.r.loadDataBlock(h, !it.noFill, &it.ra, into)
	it.ref = ref
	if err != nil {
		return it.fail(err)
	}
	if err := it.data.init(block, it.r.name, int64(h.offset)); err != nil {
		return it.fail(err)
	}
	it.loaded, it.dataOff = true, h.offset
	return true
}

// indexSeekGE moves the index iterator to the first entry whose key is >=
// ikey, by the reader's prefix search when the index is expanded.
func (it *Iterator) indexSeekGE(ikey []byte) bool {
	if !it.needIndex() {
		return false
	}
	m := it.ix
	if m.prefixes == nil {
		return it.index.SeekGE(ikey)
	}
	i := m.indexSearch(&it.index, ikey)
	if i < 0 {
		return false
	}
	if i == len(m.handles) {
		it.index.valid = false
		return false
	}
	return it.index.seekRestart(i)
}

// boundKey returns the internal key that sorts before every version of the
// user key bound.
func (it *Iterator) boundKey(bound []byte) []byte {
	it.seekBuf = keys.SearchKey(it.seekBuf[:0], bound, keys.MaxSeq)
	return it.seekBuf
}

// settle finishes a positioning call: it checks the bound in the direction
// of travel.
func (it *Iterator) settle(ok bool, forward bool) bool {
	if !ok {
		if it.data.err != nil {
			return it.fail(it.data.err)
		}
		if it.index.err != nil {
			return it.fail(it.index.err)
		}
		it.valid = false
		return false
	}
	if !keys.ValidEntry(it.data.key, it.data.val) {
		return it.fail(keys.EntryError(it.r.name, int64(it.dataOff), it.data.key, it.data.val))
	}
	uk := keys.UserKey(it.data.key)
	if forward && it.upper != nil && bytes.Compare(uk, it.upper) >= 0 {
		it.valid = false
		return false
	}
	if !forward && it.lower != nil && bytes.Compare(uk, it.lower) < 0 {
		it.valid = false
		return false
	}
	it.valid = true
	return true
}

// nextBlock moves to the first entry of the next non-empty data block.
func (it *Iterator) nextBlock() bool {
	if it.pointMode {
		for {
			if it.data.err != nil {
				return false
			}
			// Every key of the next block is above block blk's index key.
			if it.upper != nil && it.boundOrder(it.blk, it.upper) > 0 {
				return false
			}
			if it.blk+1 >= len(it.p.ends) || !it.loadBlockNum(it.blk+1) {
				return false
			}
			if it.data.First() {
				return true
			}
		}
	}
	for {
		if it.data.err != nil {
			return false
		}
		// Every key of the next block is above the current index key, so
		// its user key is >= that of the index key.
		if it.upper != nil && it.index.valid && bytes.Compare(keys.UserKey(it.index.key), it.upper) >= 0 {
			return false
		}
		if !it.index.Next() || !it.loadBlock() {
			return false
		}
		if it.data.First() {
			return true
		}
	}
}

// prevBlock moves to the last entry of the previous non-empty data block.
func (it *Iterator) prevBlock() bool {
	if it.pointMode {
		for {
			if it.data.err != nil || it.blk == 0 {
				return false
			}
			// Every key of the previous block is <= its index key.
			if it.lower != nil && it.boundOrder(it.blk-1, it.lower) < 0 {
				return false
			}
			if !it.loadBlockNum(it.blk - 1) {
				return false
			}
			if it.data.Last() {
				return true
			}
		}
	}
	for {
		if it.data.err != nil {
			return false
		}
		if !it.index.Prev() {
			return false
		}
		// Every key of this block is <= its index key.
		if it.lower != nil && bytes.Compare(keys.UserKey(it.index.key), it.lower) < 0 {
			return false
		}
		if !it.loadBlock() {
			return false
		}
		if it.data.Last() {
			return true
		}
	}
}

// First moves to the first entry (the first within bounds).
func (it *Iterator) First() bool {
	if !it.usable() {
		return false
	}
	if it.lower != nil {
		return it.SeekGE(it.boundKey(it.lower))
	}
	if it.pointMode = it.p != nil; it.pointMode {
		if len(it.p.ends) == 0 || !it.loadBlockNum(0) {
			return it.settle(false, true)
		}
	} else if !it.needIndex() || !it.index.First() || !it.loadBlock() {
		return it.settle(false, true)
	}
	ok := it.data.First() || it.nextBlock()
	return it.settle(ok, true)
}

// Last moves to the last entry (the last within bounds).
func (it *Iterator) Last() bool {
	if !it.usable() {
		return false
	}
	if it.upper != nil {
		return it.SeekLT(it.boundKey(it.upper))
	}
	return it.settle(it.last(), false)
}

func (it *Iterator) last() bool {
	if it.pointMode = it.p != nil; it.pointMode {
		if len(it.p.ends) == 0 || !it.loadBlockNum(len(it.p.ends)-1) {
			return false
		}
	} else if !it.needIndex() || !it.index.Last() || !it.loadBlock() {
		return false
	}
	return it.data.Last() || it.prevBlock()
}

// SeekGE moves to the first entry whose internal key is >= ikey (and whose
// user key is within bounds; a key below the lower bound seeks to it).
func (it *Iterator) SeekGE(ikey []byte) bool {
	if !it.usable() {
		return false
	}
	if it.lower != nil && bytes.Compare(keys.UserKey(ikey), it.lower) < 0 {
		ikey = it.boundKey(it.lower)
	}
	if it.upper != nil && bytes.Compare(keys.UserKey(ikey), it.upper) >= 0 {
		return false
	}
	if i, ok := it.pointSeek(ikey); ok {
		if i == len(it.p.ends) || !it.loadBlockNum(i) {
			return it.settle(false, true)
		}
	} else if it.p != nil && it.ix == nil && it.p.tied(i) <= maxTieWalk && it.r.heldIndex() == nil {
		return it.seekGETie(ikey, i)
	} else if !it.indexSeekGE(ikey) || !it.loadBlock() {
		return it.settle(false, true)
	}
	ok := it.data.SeekGE(ikey) || it.nextBlock()
	return it.settle(ok, true)
}

// seekGETie is SeekGE for a target the point index ties at block i (see
// pointIndex.search), at most maxTieWalk blocks sharing its prefix, when
// neither the iterator, the reader nor the cache holds the whole index: as
// a Get does (see Reader.seekTie), it seeks the data blocks from i on
// until one holds a key >= ikey, instead of reading the index block again,
// and stays in pointMode.
func (it *Iterator) seekGETie(ikey []byte, i int) bool {
	it.pointMode = true
	for ; i < len(it.p.ends); i++ {
		if !it.loadBlockNum(i) {
			return it.settle(false, true)
		}
		if it.data.SeekGE(ikey) {
			return it.settle(true, true)
		}
		if it.data.err != nil || (it.upper != nil && it.boundOrder(i, it.upper) > 0) {
			return it.settle(false, true)
		}
	}
	return it.settle(false, true)
}

// SeekLT moves to the last entry whose internal key is < ikey (and whose
// user key is within bounds; a key at or above the upper bound seeks below
// it).
func (it *Iterator) SeekLT(ikey []byte) bool {
	if !it.usable() {
		return false
	}
	if it.upper != nil && bytes.Compare(keys.UserKey(ikey), it.upper) >= 0 {
		ikey = it.boundKey(it.upper)
	}
	if it.lower != nil && bytes.Compare(keys.UserKey(ikey), it.lower) < 0 {
		return false
	}
	var ok bool
	if i, decided := it.pointSeek(ikey); decided {
		if i == len(it.p.ends) {
			ok = it.last() // ikey is above every index key, hence above every key
		} else if it.loadBlockNum(i) {
			ok = it.data.SeekLT(ikey) || it.prevBlock()
		}
	} else if !it.indexSeekGE(ikey) {
		// ikey is above every index key, hence above every key.
		if it.index.err != nil {
			return it.settle(false, false)
		}
		ok = it.last()
	} else if it.loadBlock() {
		ok = it.data.SeekLT(ikey) || it.prevBlock()
	}
	return it.settle(ok, false)
}

// Next moves to the next entry.
func (it *Iterator) Next() bool {
	if !it.valid {
		return false
	}
	ok := it.data.Next() || it.nextBlock()
	return it.settle(ok, true)
}

// Prev moves to the previous entry.
func (it *Iterator) Prev() bool {
	if !it.valid {
		return false
	}
	ok := it.data.Prev() || it.prevBlock()
	return it.settle(ok, false)
}

// Valid reports whether the iterator is at an entry.
func (it *Iterator) Valid() bool { return it.valid }

// Key returns the current internal key (nil when not valid). It may alias
// the data block, valid until the next positioning call or Close.
func (it *Iterator) Key() []byte {
	if !it.valid {
		return nil
	}
	return it.data.key
}

// Value returns the current value (nil when not valid).
func (it *Iterator) Value() []byte {
	if !it.valid {
		return nil
	}
	return it.data.val
}

// Error returns the first error the iterator met, if any.
func (it *Iterator) Error() error { return it.err }

// Close releases the iterator, and the data block it holds, and returns
// Error(). Later positioning calls return false.
func (it *Iterator) Close() error {
	if it.dropParts && !it.closed {
		it.r.DropParts()
	}
	it.closed = true
	it.valid = false
	it.loaded = false
	it.data = blockIter{keyBuf: it.data.keyBuf[:0]} // drops the block, keeps the buffer
	it.ref.Release()
	it.ref = BlockRef{}
	it.p, it.pv = nil, pointIndex{}
	it.pref.Release()
	it.pref = BlockRef{}
	it.ra.release() // drops the readahead buffer
	it.ra = readahead{}
	if it.scratch != nil {
		putBuf(it.scratch, *it.scratch)
		it.scratch = nil
	}
	return it.err
}
