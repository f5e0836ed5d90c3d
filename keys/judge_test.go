package keys

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestJudge(t *testing.T) {
	const at = 1_000
	for _, c := range []struct {
		name    string
		kind    Kind
		value   []byte
		verdict Verdict
		value2  string // the user value of a live version
		expiry  int64
		corrupt bool
	}{
		{name: "a plain value", kind: KindSet, value: []byte("v"), verdict: VerdictLive, value2: "v"},
		{name: "an empty plain value", kind: KindSet, value: nil, verdict: VerdictLive},
		{name: "a tombstone", kind: KindDelete, verdict: VerdictDeleted},
		{name: "expiring later", kind: KindSetExpiry, value: AppendExpiryValue(nil, at+1, []byte("v")), verdict: VerdictLive, value2: "v", expiry: at + 1},
		{name: "expiring exactly now", kind: KindSetExpiry, value: AppendExpiryValue(nil, at, []byte("v")), verdict: VerdictExpired, expiry: at},
		{name: "expired before", kind: KindSetExpiry, value: AppendExpiryValue(nil, at-1, []byte("v")), verdict: VerdictExpired, expiry: at - 1},
		{name: "an expiring value without its expiry", kind: KindSetExpiry, value: []byte{1, 2, 3}, verdict: VerdictDeleted, corrupt: true},
		{name: "a range tombstone's kind", kind: KindRangeDelete, value: []byte("end"), verdict: VerdictDeleted, corrupt: true},
		{name: "an unknown kind", kind: 9, value: []byte("v"), verdict: VerdictDeleted, corrupt: true},
	} {
		now := NowAt(at)
		j := Judge(c.kind, c.value, &now)
		require.Equal(t, c.verdict, j.Verdict, c.name)
		if c.corrupt {
			require.ErrorIs(t, j.Err, ErrCorruption, c.name)
			continue
		}
		require.NoError(t, j.Err, c.name)
		require.Equal(t, c.value2, string(j.Value), c.name)
		require.Equal(t, c.expiry, j.Expiry, c.name)
	}
}

func TestNowReadsItsClockOnceAndOnlyWhenNeeded(t *testing.T) {
	reads := 0
	clock := func() time.Time { reads++; return time.Unix(0, int64(reads)*100) }
	now := NowFrom(clock)
	Judge(KindSet, []byte("v"), &now)
	Judge(KindDelete, nil, &now)
	require.Zero(t, reads, "a plain value and a tombstone need no clock")
	exp := AppendExpiryValue(nil, 150, nil)
	require.Equal(t, VerdictLive, Judge(KindSetExpiry, exp, &now).Verdict, "the clock read 100")
	require.Equal(t, VerdictLive, Judge(KindSetExpiry, exp, &now).Verdict, "still 100: read once")
	require.Equal(t, 1, reads)
	now.Reset()
	require.Equal(t, VerdictExpired, Judge(KindSetExpiry, exp, &now).Verdict, "read again after Reset: 200")
	require.Equal(t, 2, reads)

	fixed := NowAt(7)
	fixed.Reset()
	require.Equal(t, int64(7), fixed.Nanos(), "a fixed instant stays fixed")
}

func TestValidEntry(t *testing.T) {
	for _, c := range []struct {
		name  string
		ikey  []byte
		value []byte
		valid bool
		says  string
	}{
		{"a value", MakeKey(nil, []byte("k"), 1, KindSet), []byte("v"), true, ""},
		{"a tombstone", MakeKey(nil, []byte("k"), 1, KindDelete), nil, true, ""},
		{"an expiring value", MakeKey(nil, []byte("k"), 1, KindSetExpiry), AppendExpiryValue(nil, 5, nil), true, ""},
		{"a short key", []byte("short"), nil, false, "internal key of 5 bytes"},
		{"an expiring value without its expiry", MakeKey(nil, []byte("k"), 1, KindSetExpiry), []byte{1}, false, "expiring value of 1 bytes for key k"},
		{"a range tombstone's kind", MakeKey(nil, []byte("k"), 1, KindRangeDelete), nil, false, "key k has kind RANGEDEL"},
		{"an unknown kind", MakeKey(nil, []byte("k"), 1, 200), nil, false, "key k has kind KIND(200)"},
	} {
		require.Equal(t, c.valid, ValidEntry(c.ikey, c.value), c.name)
		if !c.valid {
			err := EntryError("000007.sst", 4096, c.ikey, c.value)
			require.ErrorIs(t, err, ErrCorruption, c.name)
			require.Contains(t, err.Error(), "000007.sst at offset 4096", c.name)
			require.Contains(t, err.Error(), c.says, c.name)
		}
	}
}
