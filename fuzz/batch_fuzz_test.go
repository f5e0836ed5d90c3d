package fuzz

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/keys"
)

// FuzzBatchDecode feeds arbitrary bytes to the decoder of WAL batch records:
// it must never panic and must fail only with corruption; what it decodes
// must survive a re-encoding unchanged (the bytes may differ: a length may
// have been written in more varint bytes than needed).
func FuzzBatchDecode(f *testing.F) {
	good := make([]byte, batchrepr.HeaderLen)
	good = batchrepr.AppendEntry(good, keys.KindSet, []byte("key"), []byte("value"), 0)
	good = batchrepr.AppendEntry(good, keys.KindDelete, []byte("gone"), nil, 0)
	good = batchrepr.AppendEntry(good, keys.KindSetExpiry, []byte("ttl"), []byte("v"), 1_700_000_000_000_000_000)
	batchrepr.SetHeader(good, 42, 3)
	f.Add(good)
	rd := batchrepr.AppendRangeDelete(make([]byte, batchrepr.HeaderLen), []byte("a"), []byte("m"))
	rd = batchrepr.AppendEntry(rd, keys.KindSet, []byte("b"), []byte("after"), 0)
	batchrepr.SetHeader(rd, 7, 2)
	f.Add(rd)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		type entry struct {
			seq   keys.SeqNum
			kind  keys.Kind
			key   string
			value string
		}
		decode := func(b []byte) ([]entry, keys.SeqNum, int, error) {
			var out []entry
			seq, count, err := batchrepr.Decode(b, "fuzz", 0, func(s keys.SeqNum, e batchrepr.Entry) error {
				out = append(out, entry{s, e.Kind, string(e.Key), string(e.Value)})
				return nil
			})
			return out, seq, count, err
		}
		first, seq, count, err := decode(data)
		if err != nil {
			if !errors.Is(err, keys.ErrCorruption) {
				t.Fatalf("error is not corruption: %v", err)
			}
			return
		}
		re := make([]byte, batchrepr.HeaderLen)
		for _, e := range first {
			if e.kind == keys.KindSetExpiry {
				exp, v, ok := keys.SplitExpiryValue([]byte(e.value))
				if !ok {
					t.Fatalf("decoder passed a short expiring value")
				}
				re = batchrepr.AppendEntry(re, e.kind, []byte(e.key), v, exp)
			} else if e.kind == keys.KindRangeDelete {
				if e.key >= e.value {
					t.Fatalf("decoder passed an empty range [%q, %q)", e.key, e.value)
				}
				re = batchrepr.AppendRangeDelete(re, []byte(e.key), []byte(e.value))
			} else {
				re = batchrepr.AppendEntry(re, e.kind, []byte(e.key), []byte(e.value), 0)
			}
		}
		batchrepr.SetHeader(re, seq, count)
		second, seq2, count2, err := decode(re)
		if err != nil || seq2 != seq || count2 != count || fmt.Sprint(second) != fmt.Sprint(first) {
			t.Fatalf("re-encoding changed the batch: %v\n first  %v\n second %v", err, first, second)
		}
	})
}
