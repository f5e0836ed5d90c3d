package fuzz

import (
	"errors"
	"testing"

	"github.com/stratadb/strata/internal/batchrepr"
	"github.com/stratadb/strata/internal/keys"
)

// FuzzBatchDecode feeds arbitrary bytes to the decoder of WAL batch records:
// it must never panic, must fail only with corruption, and when it succeeds
// the entries must re-encode to the same bytes.
func FuzzBatchDecode(f *testing.F) {
	good := make([]byte, batchrepr.HeaderLen)
	good = batchrepr.AppendEntry(good, keys.KindSet, []byte("key"), []byte("value"), 0)
	good = batchrepr.AppendEntry(good, keys.KindDelete, []byte("gone"), nil, 0)
	good = batchrepr.AppendEntry(good, keys.KindSetExpiry, []byte("ttl"), []byte("v"), 1_700_000_000_000_000_000)
	batchrepr.SetHeader(good, 42, 3)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		re := make([]byte, batchrepr.HeaderLen)
		seq, count, err := batchrepr.Decode(data, "fuzz", 0, func(_ keys.SeqNum, e batchrepr.Entry) error {
			switch e.Kind {
			case keys.KindSetExpiry:
				exp, v, ok := keys.SplitExpiryValue(e.Value)
				if !ok {
					t.Fatalf("decoder passed a short expiring value")
				}
				re = batchrepr.AppendEntry(re, e.Kind, e.Key, v, exp)
			default:
				re = batchrepr.AppendEntry(re, e.Kind, e.Key, e.Value, 0)
			}
			return nil
		})
		if err != nil {
			if !errors.Is(err, keys.ErrCorruption) {
				t.Fatalf("error is not corruption: %v", err)
			}
			return
		}
		batchrepr.SetHeader(re, seq, count)
		if string(re) != string(data) {
			t.Fatalf("decode/encode mismatch:\n in  %x\n out %x", data, re)
		}
	})
}
