package collections

import (
	"bytes"
	"errors"

	"github.com/stratadb/strata/lsm"
)

// KeysOptions selects the keys a KeyIter walks. Every field is optional.
type KeysOptions struct {
	// Prefix keeps the names that start with it (a MATCH pattern's literal
	// prefix).
	Prefix []byte
	// After resumes strictly after this name (a SCAN cursor); nil starts at
	// the first name.
	After []byte
	// Type keeps the keys of one type; TypeNone keeps every type.
	Type Type
}

// KeyIter walks the top-level keys of every type (strings written by Set or
// db.Put, and collections) in name byte order, as of one point in time (an
// lsm snapshot: every Store operation is one batch, so it sees each one
// whole). Collections' elements and every other engine key the package
// owns are not keys here. It backs SCAN, KEYS, DBSIZE and RANDOMKEY. A
// KeyIter belongs to one goroutine and must be closed.
type KeyIter struct {
	snap    *lsm.Snapshot
	streams []*nameStream
	typ     Type
	name    []byte
	t       Type
	err     error
	started bool
	valid   bool // positioned at name
}

// nameStream is one engine range holding top-level names: plain strings,
// strings under the escape prefix, or collection metadata.
type nameStream struct {
	it     *lsm.Iterator
	skip   int  // bytes before the name in a raw key
	isMeta bool // values are metadata
	ok     bool
}

func (ns *nameStream) name() []byte { return ns.it.Key()[ns.skip:] }

// Keys returns a KeyIter over the keys opts selects (nil: every key).
func (s *Store) Keys(opts *KeysOptions) (*KeyIter, error) {
	if opts == nil {
		opts = &KeysOptions{}
	}
	ki := &KeyIter{snap: s.db.NewSnapshot(), typ: opts.Type}
	add := func(lo, hi []byte, skip int, isMeta bool) error {
		// Narrow [lo, hi) to the names with the prefix.
		plo := append(append([]byte{}, lo[:skip]...), opts.Prefix...)
		phi := prefixEnd(plo)
		if bytes.Compare(plo, lo) > 0 {
			lo = plo
		}
		if phi != nil && (hi == nil || bytes.Compare(phi, hi) < 0) {
			hi = phi
		}
		if hi != nil && bytes.Compare(lo, hi) >= 0 {
			return nil
		}
		if len(lo) == 0 {
			lo = nil
		}
		it, err := ki.snap.NewIter(&lsm.IterOptions{LowerBound: lo, UpperBound: hi})
		if err != nil {
			return err
		}
		ki.streams = append(ki.streams, &nameStream{it: it, skip: skip, isMeta: isMeta})
		return nil
	}
	var err error
	if opts.Type == TypeNone || opts.Type == TypeString {
		if len(opts.Prefix) == 0 || opts.Prefix[0] != reservedByte {
			err = add([]byte{}, plainHi, 0, false)
		}
		if err == nil {
			err = add(escapedLo, escapedHi, 2, false)
		}
	}
	if err == nil && opts.Type != TypeString {
		err = add(metaLo, metaHi, 2, true)
	}
	if err != nil {
		ki.Close()
		return nil, err
	}
	for _, ns := range ki.streams {
		if opts.After != nil {
			ns.ok = ns.it.SeekGE(ns.raw(opts.After, true))
		} else {
			ns.ok = ns.it.First()
		}
	}
	return ki, nil
}

// raw returns the raw key of name in the stream, just past it if after.
func (ns *nameStream) raw(name []byte, after bool) []byte {
	var k []byte
	switch {
	case ns.isMeta:
		k = metaKey(nil, name)
	case ns.skip == 2:
		k = append([]byte{reservedByte, tagString}, name...)
	default:
		k = append([]byte{}, name...)
	}
	if after {
		k = append(k, 0)
	}
	return k
}

// Next moves to the next key.
func (ki *KeyIter) Next() bool {
	if ki.err != nil {
		return false
	}
	if ki.valid {
		ki.valid = false
		// Step every stream off the current name.
		for _, ns := range ki.streams {
			if ns.ok && bytes.Equal(ns.name(), ki.name) {
				ns.ok = ns.it.Next()
			}
		}
	}
	ki.started = true
	for {
		var best *nameStream
		for _, ns := range ki.streams {
			if !ns.ok {
				if err := ns.it.Error(); err != nil {
					ki.err = err
					return false
				}
				continue
			}
			if best == nil {
				best = ns
				continue
			}
			c := bytes.Compare(ns.name(), best.name())
			if c < 0 || (c == 0 && !ns.isMeta) {
				best = ns // a string beats a collection of the same name
			}
		}
		if best == nil {
			ki.name, ki.valid = nil, false
			return false
		}
		ki.name = append(ki.name[:0], best.name()...)
		ki.t = TypeString
		if best.isMeta {
			m, err := decodeMeta(ki.name, best.it.Value())
			if err != nil {
				ki.err = err
				return false
			}
			ki.t = m.typ
			if ki.typ != TypeNone {
				// Only the metadata stream runs: a string of the same name
				// (left by a raw db.Put) hides the collection.
				has, err := ki.hasString(ki.name)
				if err != nil {
					ki.err = err
					return false
				}
				if has {
					ki.t = TypeString
				}
			}
		}
		if ki.typ == TypeNone || ki.t == ki.typ {
			ki.valid = true
			return true
		}
		best.ok = best.it.Next()
	}
}

func (ki *KeyIter) hasString(name []byte) (bool, error) {
	_, err := ki.snap.Get(stringKey(nil, name))
	if errors.Is(err, lsm.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Name is the current key's name, valid until the next call of Next.
func (ki *KeyIter) Name() []byte { return ki.name }

// Type is the current key's type.
func (ki *KeyIter) Type() Type { return ki.t }

// Err returns the error that ended the walk, if any.
func (ki *KeyIter) Err() error { return ki.err }

// Close releases the KeyIter. It returns Err.
func (ki *KeyIter) Close() error {
	for _, ns := range ki.streams {
		if err := ns.it.Close(); err != nil && ki.err == nil {
			ki.err = err
		}
	}
	ki.streams = nil
	if ki.snap != nil {
		if err := ki.snap.Close(); err != nil && ki.err == nil {
			ki.err = err
		}
		ki.snap = nil
	}
	return ki.err
}

// Scan returns up to count keys (names) after cursor (nil: from the start)
// matching opts' Prefix and Type, and the cursor to continue from, nil when
// the walk is complete (SCAN: every key present for the whole scan is
// returned exactly once). The server keeps the byte cursor behind the
// integer cursor it shows clients.
func (s *Store) Scan(cursor []byte, count int, opts *KeysOptions) ([][]byte, []Type, []byte, error) {
	o := KeysOptions{After: cursor}
	if opts != nil {
		o.Prefix, o.Type = opts.Prefix, opts.Type
	}
	if count <= 0 {
		count = 10
	}
	ki, err := s.Keys(&o)
	if err != nil {
		return nil, nil, nil, err
	}
	var names [][]byte
	var types []Type
	more := false
	for ki.Next() {
		if len(names) == count {
			more = true
			break
		}
		names = append(names, append([]byte{}, ki.Name()...))
		types = append(types, ki.Type())
	}
	if err := ki.Close(); err != nil {
		return nil, nil, nil, err
	}
	var next []byte
	if more {
		next = names[len(names)-1]
	}
	return names, types, next, nil
}

// DBSize returns the number of keys (DBSIZE). It walks every top-level key:
// O(keys), not Redis's O(1).
func (s *Store) DBSize() (int64, error) {
	ki, err := s.Keys(nil)
	if err != nil {
		return 0, err
	}
	var n int64
	for ki.Next() {
		n++
	}
	return n, ki.Close()
}

// RandomKey returns the name of a random key (RANDOMKEY), ErrNotFound if
// there is none. The choice descends the name space with a few seeks; it is
// not exactly uniform.
func (s *Store) RandomKey() ([]byte, error) {
	ki, err := s.Keys(nil)
	if err != nil {
		return nil, err
	}
	defer ki.Close()
	k, _, ok := randomKeyIn(&nameSeeker{ki: ki}, []byte{}, nil)
	if err := ki.Err(); err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrNotFound
	}
	return k, nil
}

// nameSeeker positions a KeyIter's streams by name for randomKeyIn.
type nameSeeker struct {
	ki  *KeyIter
	cur []byte
}

func (n *nameSeeker) SeekGE(name []byte) bool {
	var best []byte
	for _, ns := range n.ki.streams {
		lo := ns.raw(name, false)
		if ns.ok = ns.it.SeekGE(lo); ns.ok {
			if nm := ns.name(); best == nil || bytes.Compare(nm, best) < 0 {
				best = nm
			}
		}
	}
	n.cur = append(n.cur[:0], best...)
	return best != nil
}

func (n *nameSeeker) SeekLT(name []byte) bool {
	var best []byte
	found := false
	for _, ns := range n.ki.streams {
		if name == nil {
			ns.ok = ns.it.Last()
		} else {
			ns.ok = ns.it.SeekLT(ns.raw(name, false))
		}
		if ns.ok {
			if nm := ns.name(); !found || bytes.Compare(nm, best) > 0 {
				best, found = nm, true
			}
		}
	}
	n.cur = append(n.cur[:0], best...)
	return found
}

func (n *nameSeeker) Key() []byte   { return n.cur }
func (n *nameSeeker) Value() []byte { return nil }
