package lsm

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
)

// TestConditionFailedMessage: a condition that does not hold is
// ErrConditionFailed under errors.Is and names its key exactly as the
// message formatted at once did (plain keys, item keys, keys that need
// quoting, keys past the error's inline copy); the key is the error's own
// copy, so a caller reusing its buffer does not change the message.
func TestConditionFailedMessage(t *testing.T) {
	db := openMem(t, vfs.NewMem(), nil)
	long := []byte(strings.Repeat("k", condKeyInline+1))
	item := ItemKey([]byte("user:1"), []byte("email\x00x"))
	for _, key := range [][]byte{
		[]byte("counter"), []byte("bin\x01\xff"), long,
		[]byte(strings.Repeat("k", condKeyInline)), item,
	} {
		want := fmt.Errorf("%w: key %s", ErrConditionFailed, keys.Quote(key)).Error()
		if pk, sk, isItem := keys.SplitItemKey(key); isItem {
			want = fmt.Errorf("%w: item (%q, %q)", ErrConditionFailed, pk, sk).Error()
		}
		buf := append([]byte(nil), key...)
		_, err := db.Increment(buf, 1, IfPresent())
		if !errors.Is(err, ErrConditionFailed) {
			t.Fatalf("Increment(%q, IfPresent) on an absent key = %v, want ErrConditionFailed", key, err)
		}
		for i := range buf {
			buf[i] = 'x'
		}
		if got := err.Error(); got != want {
			t.Errorf("message %q, want %q", got, want)
		}
		if err := db.Put(key, []byte("v"), IfPresent()); !errors.Is(err, ErrConditionFailed) || err.Error() != want {
			t.Errorf("Put(%q, IfPresent) = %v, want %q", key, err, want)
		}
	}
}

// TestConditionMissAllocs: a failed condition on a short key costs the
// error and nothing more (it was formatted at once, four allocations more).
func TestConditionMissAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	db := openMem(t, vfs.NewMem(), nil)
	key := []byte("counter:000000000001")
	_, _ = db.Increment(key, 1, IfPresent())
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := db.Increment(key, 1, IfPresent()); !errors.Is(err, ErrConditionFailed) {
			t.Fatal(err)
		}
	}); n > 1 {
		t.Errorf("a failed IfPresent Increment allocates %v, want at most 1", n)
	}
}
