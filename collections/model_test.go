package collections

import (
	"math"
	"slices"
	"sort"
	"time"
)

// model is a plain in-memory implementation of the Redis semantics the
// Store promises, written for clarity, not speed: maps and slices, expiry
// judged lazily against the same fake clock.
type model struct {
	keys map[string]*mval
	now  func() time.Time
}

type mval struct {
	typ  Type
	str  string
	hash map[string]string
	set  map[string]bool
	list []string
	zset map[string]float64
	exp  int64 // Unix ns; 0 = none
}

func newModel(now func() time.Time) *model { return &model{keys: map[string]*mval{}, now: now} }

func (m *model) clone() *model {
	c := newModel(m.now)
	for k, v := range m.keys {
		nv := *v
		nv.hash, nv.set, nv.zset = nil, nil, nil
		if v.hash != nil {
			nv.hash = map[string]string{}
			for a, b := range v.hash {
				nv.hash[a] = b
			}
		}
		if v.set != nil {
			nv.set = map[string]bool{}
			for a := range v.set {
				nv.set[a] = true
			}
		}
		if v.zset != nil {
			nv.zset = map[string]float64{}
			for a, b := range v.zset {
				nv.zset[a] = b
			}
		}
		nv.list = slices.Clone(v.list)
		c.keys[k] = &nv
	}
	return c
}

// get returns the live value of k, dropping it if it expired.
func (m *model) get(k string) *mval {
	v := m.keys[k]
	if v != nil && v.exp != 0 && v.exp <= m.now().UnixNano() {
		delete(m.keys, k)
		return nil
	}
	return v
}

// of returns k's value if it has type t; wrong is true for another type.
func (m *model) of(k string, t Type) (v *mval, wrong bool) {
	v = m.get(k)
	if v == nil {
		return nil, false
	}
	if v.typ != t {
		return nil, true
	}
	return v, false
}

// mk returns k's value of type t, creating it.
func (m *model) mk(k string, t Type) (*mval, bool) {
	v, wrong := m.of(k, t)
	if wrong {
		return nil, true
	}
	if v == nil {
		v = &mval{typ: t}
		switch t {
		case TypeHash:
			v.hash = map[string]string{}
		case TypeSet:
			v.set = map[string]bool{}
		case TypeZSet:
			v.zset = map[string]float64{}
		}
		m.keys[k] = v
	}
	return v, false
}

// gc deletes k if its collection is empty.
func (m *model) gc(k string) {
	v := m.keys[k]
	if v == nil {
		return
	}
	if (v.typ == TypeHash && len(v.hash) == 0) || (v.typ == TypeSet && len(v.set) == 0) ||
		(v.typ == TypeList && len(v.list) == 0) || (v.typ == TypeZSet && len(v.zset) == 0) {
		delete(m.keys, k)
	}
}

func (m *model) typeOf(k string) Type {
	if v := m.get(k); v != nil {
		return v.typ
	}
	return TypeNone
}

// liveKeys returns the live names in order.
func (m *model) liveKeys() []string {
	var ks []string
	for k := range m.keys {
		if m.get(k) != nil {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func sortedKeys[V any](mp map[string]V) []string {
	ks := make([]string, 0, len(mp))
	for k := range mp {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// ---- sorted sets ----

type mz struct {
	member string
	score  float64
}

// zsorted returns the members in Redis's order.
func (v *mval) zsorted() []mz {
	out := make([]mz, 0, len(v.zset))
	for k, s := range v.zset {
		out = append(out, mz{k, s})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score < out[j].score
		}
		return out[i].member < out[j].member
	})
	return out
}

var _ = math.Inf
