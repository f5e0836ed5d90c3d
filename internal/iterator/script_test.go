package iterator

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
)

// TestIteratorScripts runs the scripts in testdata/: each defines sources
// and drives a Merging or a Level iterator through positioning calls.
//
//	define-merging
//	<source>: <key>.<KIND>.<seq> ...    (one line per source)
//	----
//
//	define-level [lower=K] [upper=K]
//	<table>: <key>.<KIND>.<seq> ...     (one line per table, sorted, non-overlapping)
//	----
//
//	iter
//	first | last | next | prev | seek-ge <key>[.<seq>] | seek-lt <key>[.<seq>]
//	----
//	one line per call: the entry it lands on, or "." when invalid; for a
//	level, the tables opened so far follow in brackets
//
// A seek key without a sequence number searches for every version of the
// key (seek-ge lands on its newest, seek-lt before its newest).
func TestIteratorScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		var sources [][][]byte
		var level *Level
		var opened []uint64
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "define-merging", "define-level":
				sources = nil
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					_, rest, ok := strings.Cut(line, ":")
					if !ok {
						d.Fatalf(t, "no source name in %q", line)
					}
					var src [][]byte
					for _, f := range strings.Fields(rest) {
						ik, err := parseIKey(f)
						if err != nil {
							d.Fatalf(t, "%v", err)
						}
						src = append(src, ik)
					}
					sortKeys(src)
					sources = append(sources, src)
				}
				level = nil
				if d.Cmd == "define-level" {
					var lower, upper []byte
					for _, a := range d.CmdArgs {
						switch a.Key {
						case "lower":
							lower = []byte(a.Vals[0])
						case "upper":
							upper = []byte(a.Vals[0])
						default:
							d.Fatalf(t, "unknown argument %s", a.Key)
						}
					}
					files := make([]*manifest.FileMeta, len(sources))
					for i, src := range sources {
						files[i] = &manifest.FileMeta{FileNum: uint64(i), Smallest: src[0], Largest: src[len(src)-1]}
					}
					opened = nil
					level = NewLevel(files, func(f *manifest.FileMeta) (keys.Iterator, error) {
						opened = append(opened, f.FileNum)
						return &sliceIter{ks: sources[f.FileNum], pos: -1}, nil
					}, lower, upper)
				}
				return ""
			case "iter":
				var it keys.Iterator
				if level != nil {
					it, opened = level, nil
				} else {
					children := make([]keys.Iterator, len(sources))
					for i, src := range sources {
						children[i] = &sliceIter{ks: src, pos: -1}
					}
					it = NewMerging(children...)
				}
				var b strings.Builder
				for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
					f := strings.Fields(line)
					switch f[0] {
					case "first":
						it.First()
					case "last":
						it.Last()
					case "next":
						it.Next()
					case "prev":
						it.Prev()
					case "seek-ge", "seek-lt":
						if len(f) != 2 {
							d.Fatalf(t, "%s needs a key", f[0])
						}
						ik := seekKey(f[1])
						if f[0] == "seek-ge" {
							it.SeekGE(ik)
						} else {
							it.SeekLT(ik)
						}
					default:
						d.Fatalf(t, "unknown call %q", f[0])
					}
					fmt.Fprintf(&b, "%s: %s", line, describe(it))
					if level != nil {
						fmt.Fprintf(&b, " %v", opened)
					}
					b.WriteString("\n")
				}
				if err := it.Error(); err != nil {
					fmt.Fprintf(&b, "error: %v\n", err)
				}
				return b.String()
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}

// parseIKey parses "key.KIND.seq".
func parseIKey(s string) ([]byte, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%q is not key.KIND.seq", s)
	}
	seq, err := strconv.ParseUint(parts[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%q: %v", s, err)
	}
	var kind keys.Kind
	switch parts[1] {
	case "SET":
		kind = keys.KindSet
	case "DEL":
		kind = keys.KindDelete
	case "SETX":
		kind = keys.KindSetExpiry
	default:
		return nil, fmt.Errorf("%q: unknown kind", s)
	}
	return keys.MakeKey(nil, []byte(parts[0]), keys.SeqNum(seq), kind), nil
}

// seekKey parses "key" (every version) or "key.seq" (versions at or below seq).
func seekKey(s string) []byte {
	k, seq, ok := strings.Cut(s, ".")
	n := uint64(keys.MaxSeq)
	if ok {
		n, _ = strconv.ParseUint(seq, 10, 64)
	}
	return keys.SearchKey(nil, []byte(k), keys.SeqNum(n))
}

func describe(it keys.Iterator) string {
	if !it.Valid() {
		return "."
	}
	p, _ := keys.Parse(it.Key())
	return fmt.Sprintf("%s.%s.%d", p.UserKey, p.Kind, p.Seq)
}
