package fuzz

import (
	"bytes"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/lsm"
)

// FuzzItemKey checks the item key codec: ItemKey round-trips through
// SplitItemKey, orders by pk bytes then sk bytes, and PartitionBounds holds
// exactly the items of its partition. SplitItemKey of arbitrary bytes never
// panics and, when it succeeds, re-encodes to the same bytes.
func FuzzItemKey(f *testing.F) {
	f.Add([]byte("user#1"), []byte("order#1"), []byte("user#1"), []byte("profile"))
	f.Add([]byte{0}, []byte{}, []byte{}, []byte{0xFF})
	f.Add([]byte{0, 0xFF, 0}, []byte{0, 1}, []byte{0, 0xFF}, []byte{})
	f.Add([]byte{}, []byte{}, []byte{0}, []byte{0})
	f.Fuzz(func(t *testing.T, pk1, sk1, pk2, sk2 []byte) {
		k1, k2 := lsm.ItemKey(pk1, sk1), lsm.ItemKey(pk2, sk2)
		pk, sk, ok := lsm.SplitItemKey(k1)
		if !ok || !bytes.Equal(pk, pk1) || !bytes.Equal(sk, sk1) {
			t.Fatalf("round trip of (%x, %x) gave (%x, %x, %v)", pk1, sk1, pk, sk, ok)
		}
		want := bytes.Compare(pk1, pk2)
		if want == 0 {
			want = bytes.Compare(sk1, sk2)
		}
		if got := bytes.Compare(k1, k2); got != want {
			t.Fatalf("order of (%x,%x) vs (%x,%x): got %d want %d", pk1, sk1, pk2, sk2, got, want)
		}
		lo, hi := lsm.PartitionBounds(pk1)
		in := bytes.Compare(k2, lo) >= 0 && bytes.Compare(k2, hi) < 0
		if in != bytes.Equal(pk1, pk2) {
			t.Fatalf("PartitionBounds(%x) holds item of pk %x: %v", pk1, pk2, in)
		}
		// Arbitrary bytes: never a panic; a decodable key re-encodes.
		raw := append(append([]byte{}, pk2...), sk2...)
		if p, s, ok := lsm.SplitItemKey(raw); ok {
			if !bytes.Equal(lsm.ItemKey(p, s), raw) {
				t.Fatalf("SplitItemKey(%x) = (%x, %x) does not re-encode", raw, p, s)
			}
			if n := keys.PartitionPrefixLen(raw); n < 2 {
				t.Fatalf("PartitionPrefixLen(%x) = %d for an item key", raw, n)
			}
		}
	})
}
