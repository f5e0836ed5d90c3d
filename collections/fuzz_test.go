package collections

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stratadb/strata/lsm"
	"github.com/stratadb/strata/vfs"
)

// scriptSource is a rand source reading its numbers from a fuzz input;
// done is set once the input is used up.
type scriptSource struct {
	b    []byte
	done bool
	tail uint64
}

func (s *scriptSource) Uint64() uint64 {
	if len(s.b) == 0 {
		// Used up: the script ends at the next step, but the step under
		// way still needs numbers, and varied ones (IntN rejects some).
		s.done = true
		s.tail += 0x9E3779B97F4A7C15
		z := s.tail
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	if n < 8 {
		// Short tails still vary the low bits IntN uses.
		return binary.LittleEndian.Uint64(buf[:]) * 0x9E3779B97F4A7C15
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// FuzzCollections runs an operation script (every command of every type,
// Updates that commit or abort, clock jumps, flushes, compactions, reopens
// and raw lsm writes) against the Store and the model, and requires every
// result and, at the end, the whole keyspace to agree, with every
// collection passing CheckKey.
func FuzzCollections(f *testing.F) {
	f.Add([]byte("seed: hashes and sets"))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31})
	f.Add(make([]byte, 256))
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 4; i++ {
		b := make([]byte, 64+r.IntN(512))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, script []byte) {
	{
		if len(script) > 4096 {
			script = script[:4096]
		}
		src := &scriptSource{b: script}
		h := &harness{t: t, r: rand.New(src), fs: vfs.NewMem(), clock: newFakeClock()}
		h.m = newModel(h.clock.Now)
		h.names = []string{"a", "b", "c", "", "\xff"}
		h.elems = []string{"", "f", "g", "x1", "\x00", "\xff\xff"}
		h.zfan = 1 + len(script)%3
		h.zmem = []int64{0, -1, 200}[len(script)%3]
		h.open()
		defer h.close()
		h.dataOps = append(h.dataOps, keyOps()...)
		for _, o := range [][]hop{stringOps(), hashOps(), setOps(), listOps(), zsetOps()} {
			h.dataOps = append(h.dataOps, o...)
		}
		h.ops = append(append(append(h.ops, engineOps()...), h.dataOps...), updateOp())
		total := 0
		for _, op := range h.ops {
			total += op.weight
		}
		for !src.done && h.step < 2000 {
			h.step++
			x := h.r.IntN(total)
			for _, op := range h.ops {
				if x < op.weight {
					op.fn(h)
					break
				}
				x -= op.weight
			}
		}
		h.checkAll()
		h.checkNoGarbage()
	}
}

// FuzzDecoders feeds arbitrary bytes to every decoder of engine values and
// every parser of arguments: none may panic, and the integer parser agrees
// with strconv on what it accepts.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte("12345"))
	f.Add([]byte("-9223372036854775808"))
	f.Add([]byte("(1.5"))
	f.Add([]byte("0x1p-3"))
	f.Add([]byte("[abc"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := []byte("k")
		if m, err := decodeMeta(name, b); err == nil {
			if string(m.encode(nil)) != string(b) {
				t.Fatalf("metadata %x decodes to %+v, which encodes differently", b, m)
			}
		} else if !errors.Is(err, lsm.ErrCorruption) {
			t.Fatalf("decodeMeta error %v does not wrap ErrCorruption", err)
		}
		for _, typ := range []Type{TypeHash, TypeList} {
			if _, err := decodeHeader(name, typ, b); err != nil && !errors.Is(err, lsm.ErrCorruption) {
				t.Fatal(err)
			}
		}
		if _, err := decodeScore(name, b); err != nil && !errors.Is(err, lsm.ErrCorruption) {
			t.Fatal(err)
		}
		z := &zidx{key: name, pre: dataPrefix(nil, 1)}
		for level := 1; level <= 2; level++ {
			if _, err := z.decodeNode(level, z.nodeKey(nil, level, b), b); err != nil && !errors.Is(err, lsm.ErrCorruption) {
				t.Fatal(err)
			}
		}
		if n, ok := ParseInt(b); ok {
			v, err := strconv.ParseInt(string(b), 10, 64)
			if err != nil || v != n || string(appendInt(nil, n)) != string(b) {
				t.Fatalf("ParseInt(%q) = %d; strconv says %d, %v", b, n, v, err)
			}
		}
		DescribeKey(b, b)
		DescribeKey(append([]byte{reservedByte}, b...), b)
		DescribeRange(b, b)
		if h := len(b) / 2; h > 0 {
			DescribeRange(append([]byte{reservedByte, tagData}, b[:h]...), append([]byte{reservedByte, tagData}, b[h:]...))
		}
		parseLongDouble(b)
		ParseFloat(b)
		ParseScoreRange(b, b)
		ParseLexRange(b, b)
		if len(b) > 1 {
			if len(b) < 16 && b[0] != 0 {
				incrFloatText(b[:len(b)/2], true, b[len(b)/2:], ErrNotFloat)
			}
		}
	})
}

// FuzzDamagedEngine writes arbitrary bytes over the engine keys of a
// collection (its metadata, header, elements, rank nodes, expiry entry, or
// the ID mark) and then runs every kind of operation on it: each must
// return a result or an error, never panic, and a damaged value must be
// reported as lsm.ErrCorruption, not taken for data of another type.
func FuzzDamagedEngine(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{1, 2, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add(uint8(1), uint8(3), []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF})
	f.Add(uint8(3), uint8(4), []byte{})
	f.Add(uint8(4), uint8(2), []byte{0, 0, 0, 0, 0, 0, 0, 9})
	f.Fuzz(func(t *testing.T, which, typ uint8, v []byte) {
		clock := newFakeClock()
		db, err := lsm.Open("/db", smallDBOptions(vfs.NewMem(), clock.Now))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s := NewWithOptions(db, &Options{Clock: clock.Now, ReclaimInterval: -1})
		s.zfan = 1
		defer s.Close()
		k := []byte("k")
		var zs []Z
		for i := 0; i < 12; i++ {
			zs = append(zs, Z{Score: float64(i), Member: []byte{byte('a' + i)}})
		}
		switch typ % 4 {
		case 0:
			_, err = s.HSet(k, []byte("f"), []byte("v"), []byte("g"), []byte("w"))
		case 1:
			_, err = s.SAdd(k, []byte("a"), []byte("b"))
		case 2:
			_, err = s.RPush(k, []byte("a"), []byte("b"), []byte("c"))
		default:
			_, err = s.ZAdd(k, ZAddArgs{}, zs...)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Expire(k, 1e12); err != nil {
			t.Fatal(err)
		}
		var m meta
		err = s.Update(func(tx *Tx) error {
			_, m, err = tx.lookup(k)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var raw []byte
		switch which % 6 {
		case 0:
			raw = metaKey(nil, k)
		case 1:
			raw = headerKey(nil, m.id)
		case 2:
			raw = elemKey(nil, m.id, []byte("a"))
		case 3:
			raw = append(dataPrefix(nil, m.id), subNodeBase+1+which/6%2)
			raw = append(raw, v[:min(len(v), 9)]...)
		case 4:
			raw = expiryIndexKey(nil, m.idxAt, m.id)
		default:
			raw = idHighKey
		}
		if err := db.Put(raw, v); err != nil {
			t.Fatal(err)
		}
		check := func(err error) {
			if err == nil || errors.Is(err, lsm.ErrCorruption) || errors.Is(err, ErrNotFound) ||
				errors.Is(err, ErrWrongType) || errors.Is(err, ErrNoSuchKey) || errors.Is(err, ErrHashNotInteger) {
				return
			}
			t.Fatalf("unexpected error %v", err)
		}
		_, err = s.Type(k)
		check(err)
		_, err = s.TTL(k)
		check(err)
		_, err = s.HGetAll(k)
		check(err)
		_, err = s.HSet(k, []byte("x"), []byte("y"))
		check(err)
		_, err = s.HIncrBy(k, []byte("f"), 1)
		check(err)
		_, err = s.SMembers(k)
		check(err)
		_, err = s.SAdd(k, []byte("z"))
		check(err)
		_, err = s.SPop(k, 2)
		check(err)
		_, err = s.LRange(k, 0, -1)
		check(err)
		_, err = s.RPush(k, []byte("z"))
		check(err)
		_, err = s.LPop(k)
		check(err)
		_, err = s.LRem(k, 0, []byte("a"))
		check(err)
		_, err = s.ZRange(k, 0, -1)
		check(err)
		_, err = s.ZRank(k, []byte("e"))
		check(err)
		_, err = s.ZAdd(k, ZAddArgs{}, Z{Score: 5.5, Member: []byte("q")})
		check(err)
		_, err = s.ZRem(k, []byte("c"))
		check(err)
		_, err = s.ZRangeByScore(k, AllScores, 1, 3)
		check(err)
		_, err = s.ZCount(k, AllScores)
		check(err)
		check(s.CheckKey(k))
		_, err = s.ReclaimExpired(10)
		check(err)
		clock.Advance(2e12)
		_, err = s.ReclaimExpired(10)
		check(err)
		_, err = s.Delete(k)
		check(err)
		_, err = s.DBSize()
		check(err)
		_, err = s.HSet([]byte("new"), []byte("f"), []byte("v"))
		check(err)
	})
}
