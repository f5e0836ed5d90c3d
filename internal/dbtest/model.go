package dbtest

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stratadb/strata/lsm"
)

// The result lines of operations that did not read a value.
const (
	ResOK              = "ok"
	ResConditionFailed = "condition-failed"
	ResNotFound        = "not-found"
	ResNotInteger      = "not-integer"
	ResInvalid         = "invalid-argument"
	ResNoSnapshot      = "no-snapshot"
	// ResNever is ttl's answer for a key that never expires.
	ResNever = "never"
	// ResNone is a query's answer when it selects no item.
	ResNone = "(none)"
	// ResInvalidStep is what an iterator step prints when it leaves the
	// iterator invalid.
	ResInvalidStep = "."
)

// Target is what runs a script: the Model, or a Runner over a real DB.
type Target interface {
	// Do applies op and returns its result line.
	Do(op Op) string
}

// Run applies ops to t in order and returns the history: one result line
// per operation.
func Run(t Target, ops []Op) []string {
	h := make([]string, len(ops))
	for i, op := range ops {
		h[i] = t.Do(op)
	}
	return h
}

// entry is the model's state of a key: its value and expiry (zero: never).
type entry struct {
	value  []byte
	expiry time.Time
}

// Model is the DB as a sorted map with a clock: what every read must
// answer. Writes judge conditions and TTLs at the model's time, which
// advance moves; a snapshot is a copy of the map (expiry is still judged
// at read time, as the DB does). The zero value is not usable; see
// NewModel.
type Model struct {
	now   time.Time
	data  map[string]entry
	snaps map[string]map[string]entry
}

// StartTime is the instant the model and a new Clock start at.
var StartTime = time.Unix(1_700_000_000, 0)

// NewModel returns an empty model at StartTime.
func NewModel() *Model {
	return &Model{now: StartTime, data: map[string]entry{}, snaps: map[string]map[string]entry{}}
}

// Now returns the model's time.
func (m *Model) Now() time.Time { return m.now }

// KV is one live key and its value.
type KV struct {
	Key, Value string
	// Expiry is when the key expires; zero if never.
	Expiry time.Time
}

// Scan returns the live keys in order, as a full iteration sees them.
func (m *Model) Scan() []KV {
	var out []KV
	for _, k := range m.liveKeys(m.data) {
		e := m.data[k]
		out = append(out, KV{k, string(e.value), e.expiry})
	}
	return out
}

func (m *Model) alive(e entry) bool { return e.expiry.IsZero() || m.now.Before(e.expiry) }

// get returns the live entry of k in data.
func (m *Model) get(data map[string]entry, k []byte) (entry, bool) {
	e, ok := data[string(k)]
	if !ok || !m.alive(e) {
		return entry{}, false
	}
	return e, true
}

// liveKeys returns the live keys of data, sorted.
func (m *Model) liveKeys(data map[string]entry) []string {
	ks := make([]string, 0, len(data))
	for k, e := range data {
		if m.alive(e) {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks)
	return ks
}

// expiry returns when an entry written now with ttl expires (zero: never).
func (m *Model) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return m.now.Add(ttl)
}

// keyOf returns the raw key an operation writes or reads, or false if it is
// invalid (an empty key, or an item with an empty partition key).
func keyOf(op Op) ([]byte, bool) {
	switch op.Kind {
	case OpPutItem, OpDeleteItem, OpGetItem:
		if len(op.Key) == 0 {
			return nil, false
		}
		return lsm.ItemKey(op.Key, op.SK), true
	}
	return op.Key, len(op.Key) > 0
}

// validWrite reports whether the DB accepts a write op's arguments (before
// judging its condition).
func validWrite(op Op) bool {
	switch op.Kind {
	case OpDeleteRange:
		return len(op.End) > 0 && string(op.Key) < string(op.End)
	case OpDelete, OpDeleteItem:
		if op.TTL != 0 {
			return false
		}
	}
	if op.TTL < 0 {
		return false
	}
	_, ok := keyOf(op)
	return ok
}

// condHolds judges op's condition against the live state.
func (m *Model) condHolds(op Op) bool {
	k, _ := keyOf(op)
	e, ok := m.get(m.data, k)
	switch op.Cond.Kind {
	case CondAbsent:
		return !ok
	case CondPresent:
		return ok
	case CondValue:
		return ok && bytes.Equal(e.value, op.Cond.Value)
	}
	return true
}

// apply performs a valid write whose condition holds.
func (m *Model) apply(op Op) {
	k, _ := keyOf(op)
	switch op.Kind {
	case OpPut, OpPutItem:
		m.data[string(k)] = entry{value: clone(op.Value), expiry: m.expiry(op.TTL)}
	case OpDelete, OpDeleteItem:
		delete(m.data, string(k))
	case OpDeleteRange:
		for key := range m.data {
			if key >= string(op.Key) && key < string(op.End) {
				delete(m.data, key)
			}
		}
	}
}

// Do applies op to the model and returns its result line.
func (m *Model) Do(op Op) string {
	switch op.Kind {
	case OpPut, OpDelete, OpDeleteRange, OpPutItem, OpDeleteItem:
		if !validWrite(op) {
			return ResInvalid
		}
		if !m.condHolds(op) {
			return ResConditionFailed
		}
		m.apply(op)
		return ResOK
	case OpBatch:
		for _, sub := range op.Batch {
			if !validWrite(sub) {
				return ResInvalid
			}
		}
		for _, sub := range op.Batch {
			if !m.condHolds(sub) {
				return ResConditionFailed
			}
		}
		for _, sub := range op.Batch {
			m.apply(sub)
		}
		return ResOK
	case OpIncr:
		if len(op.Key) == 0 || op.TTL < 0 {
			return ResInvalid
		}
		if !m.condHolds(op) {
			return ResConditionFailed
		}
		var n int64
		cur, found := m.get(m.data, op.Key)
		expiry := cur.expiry
		if found {
			var err error
			if n, err = strconv.ParseInt(string(cur.value), 10, 64); err != nil {
				return ResNotInteger
			}
		} else {
			expiry = m.expiry(op.TTL)
		}
		if (op.Delta > 0 && n > math.MaxInt64-op.Delta) || (op.Delta < 0 && n < math.MinInt64-op.Delta) {
			return ResInvalid
		}
		n += op.Delta
		m.data[string(op.Key)] = entry{value: strconv.AppendInt(nil, n, 10), expiry: expiry}
		return strconv.FormatInt(n, 10)
	case OpExpire:
		if len(op.Key) == 0 || op.TTL < 0 {
			return ResInvalid
		}
		cur, found := m.get(m.data, op.Key)
		if !found {
			return ResNotFound
		}
		m.data[string(op.Key)] = entry{value: cur.value, expiry: m.expiry(op.TTL)}
		return ResOK
	case OpGet, OpGetItem:
		data, ok := m.view(op.Snap)
		if !ok {
			return ResNoSnapshot
		}
		k, ok := keyOf(op)
		if !ok {
			return ResInvalid
		}
		e, found := m.get(data, k)
		if !found {
			return ResNotFound
		}
		return FormatValue(e.value)
	case OpTTL:
		if len(op.Key) == 0 {
			return ResInvalid
		}
		e, found := m.get(m.data, op.Key)
		if !found {
			return ResNotFound
		}
		return FormatTTL(e.expiry, m.now)
	case OpQuery:
		return m.query(op)
	case OpIter:
		data, ok := m.view(op.Snap)
		if !ok {
			return ResNoSnapshot
		}
		return m.iter(data, op)
	case OpSnapshot:
		c := make(map[string]entry, len(m.data))
		for k, e := range m.data {
			c[k] = e
		}
		m.snaps[op.Snap] = c
		return ResOK
	case OpCloseSnapshot:
		if _, ok := m.snaps[op.Snap]; !ok {
			return ResNoSnapshot
		}
		delete(m.snaps, op.Snap)
		return ResOK
	case OpReopen:
		clear(m.snaps)
		return ResOK
	case OpAdvance:
		m.now = m.now.Add(op.TTL)
		return ResOK
	case OpFlush, OpCompact:
		return ResOK
	}
	return "error: unknown operation " + op.Kind.String()
}

// view returns the data a read sees: the DB's, or a snapshot's.
func (m *Model) view(snap string) (map[string]entry, bool) {
	if snap == "" {
		return m.data, true
	}
	d, ok := m.snaps[snap]
	return d, ok
}

// FormatTTL prints the time left before expiry at now, or "never".
func FormatTTL(expiry, now time.Time) string {
	if expiry.IsZero() {
		return ResNever
	}
	return expiry.Sub(now).String()
}

// FormatKV prints one key (or sort key) and its value as k=v.
func FormatKV(k, v []byte) string { return FormatKey(k) + "=" + FormatValue(v) }

func (m *Model) query(op Op) string {
	if len(op.Key) == 0 {
		return ResInvalid
	}
	q := op.Query
	type item struct{ sk, value []byte }
	var items []item
	for _, k := range m.liveKeys(m.data) {
		pk, sk, ok := lsm.SplitItemKey([]byte(k))
		if !ok || !bytes.Equal(pk, op.Key) {
			continue
		}
		switch {
		case q.BeginsWith != nil && !bytes.HasPrefix(sk, q.BeginsWith),
			q.From != nil && bytes.Compare(sk, q.From) < 0,
			q.To != nil && bytes.Compare(sk, q.To) > 0,
			q.After != nil && !q.Reverse && bytes.Compare(sk, q.After) <= 0,
			q.After != nil && q.Reverse && bytes.Compare(sk, q.After) >= 0:
			continue
		}
		items = append(items, item{sk, m.data[k].value})
	}
	if q.Reverse {
		slices.Reverse(items)
	}
	if q.Limit > 0 && len(items) > q.Limit {
		items = items[:q.Limit]
	}
	if len(items) == 0 {
		return ResNone
	}
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = FormatKV(it.sk, it.value)
	}
	return strings.Join(parts, " ")
}

// iter walks the live keys of data within the op's bounds.
func (m *Model) iter(data map[string]entry, op Op) string {
	var ks []string
	for _, k := range m.liveKeys(data) {
		if (op.Lower == nil || k >= string(op.Lower)) && (op.Upper == nil || k < string(op.Upper)) {
			ks = append(ks, k)
		}
	}
	pos := -1 // an index into ks; -1 or len(ks): invalid
	valid := func() bool { return pos >= 0 && pos < len(ks) }
	out := make([]string, 0, len(op.Steps))
	for _, s := range op.Steps {
		switch s.Kind {
		case StepFirst:
			pos = 0
		case StepLast:
			pos = len(ks) - 1
		case StepSeekGE:
			pos, _ = slices.BinarySearch(ks, string(s.Key))
		case StepSeekLT:
			i, _ := slices.BinarySearch(ks, string(s.Key))
			pos = i - 1
		case StepNext:
			if valid() {
				pos++
			}
		case StepPrev:
			if valid() {
				pos--
			}
		}
		if valid() {
			out = append(out, FormatKV([]byte(ks[pos]), data[ks[pos]].value))
		} else {
			pos = -1
			out = append(out, ResInvalidStep)
		}
	}
	return strings.Join(out, " ")
}
