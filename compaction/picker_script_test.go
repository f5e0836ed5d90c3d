package compaction

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
)

// TestPickerScripts runs the scripts in testdata/picker: each builds a
// version and asks the pickers what they would compact.
//
//	define [l0-trigger=N] [multiplier=N] [base-size=N] [target-file-size=N]
//	L<level>
//	<num>: <smallest>-<largest> [size=N] [seqs=A-B] [expiry=E] [entries=N] [deletions=N] [rangedel-bytes=N] [compacting]
//	----
//	the version, as the picker sees it
//
//	targets | scores
//	pick [running=N,M...] | pick-read | pick-ttl now=N | pick-manual level=N [lo=K] [hi=K]
//	mark <num>... | unmark <num>...   (set or clear Compacting)
//
// A picked compaction prints as
//
//	<reason> <kind> L<level> -> L<output>: <inputs> [+ <output-level inputs>] [grandparents <nums>]
func TestPickerScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/picker", func(t *testing.T, path string) {
		var v *manifest.Version
		var o Options
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "define":
				o = Options{L0Trigger: 4, LevelMultiplier: 10, BaseLevelSize: 1000, TargetFileSize: 100}
				for _, a := range d.CmdArgs {
					n, err := strconv.ParseInt(a.Vals[0], 10, 64)
					if err != nil {
						d.Fatalf(t, "%s: %v", a.Key, err)
					}
					switch a.Key {
					case "l0-trigger":
						o.L0Trigger = int(n)
					case "multiplier":
						o.LevelMultiplier = int(n)
					case "base-size":
						o.BaseLevelSize = n
					case "target-file-size":
						o.TargetFileSize = n
					default:
						d.Fatalf(t, "unknown argument %s", a.Key)
					}
				}
				var err error
				if v, err = parseVersion(d.Input); err != nil {
					d.Fatalf(t, "%v", err)
				}
				return describeVersion(v)
			case "targets":
				base, targets := Targets(v, o)
				var b strings.Builder
				fmt.Fprintf(&b, "base L%d\n", base)
				for l := base; l < NumLevels; l++ {
					fmt.Fprintf(&b, "L%d %d\n", l, targets[l])
				}
				return b.String()
			case "scores":
				var b strings.Builder
				for l, s := range Scores(v, o) {
					if s > 0 {
						fmt.Fprintf(&b, "L%d %.2f\n", l, s)
					}
				}
				if b.Len() == 0 {
					return "all zero\n"
				}
				return b.String()
			case "pick":
				// running=N,M: a compaction of those L0 tables into the base
				// level runs (they are marked busy for this pick only).
				var running []*Compaction
				if d.HasArg("running") {
					var nums string
					d.ScanArgs(t, "running", &nums)
					base, _ := Targets(v, o)
					r := &Compaction{Level: 0, OutputLevel: base}
					for _, s := range strings.Split(nums, ",") {
						n, _ := strconv.ParseUint(s, 10, 64)
						f := findFile(v, n)
						if f == nil {
							d.Fatalf(t, "no table %d", n)
						}
						r.Inputs[0] = append(r.Inputs[0], f)
					}
					manifest.MarkCompacting(r.Inputs[0])
					defer manifest.ClearCompacting(r.Inputs[0])
					running = append(running, r)
				}
				return describeCompaction(PickConcurrent(v, o, running))
			case "pick-read":
				return describeCompaction(PickRead(v, o))
			case "pick-ttl":
				var now int64
				d.ScanArgs(t, "now", &now)
				return describeCompaction(PickTTL(v, o, now))
			case "pick-manual":
				var level int
				var lo, hi []byte
				d.ScanArgs(t, "level", &level)
				if d.HasArg("lo") {
					var s string
					d.ScanArgs(t, "lo", &s)
					lo = []byte(s)
				}
				if d.HasArg("hi") {
					var s string
					d.ScanArgs(t, "hi", &s)
					hi = []byte(s)
				}
				return describeCompaction(PickManual(v, o, level, lo, hi))
			case "mark", "unmark":
				for _, a := range d.CmdArgs {
					n, _ := strconv.ParseUint(a.Key, 10, 64)
					f := findFile(v, n)
					if f == nil {
						d.Fatalf(t, "no table %d", n)
					}
					f.Compacting = d.Cmd == "mark"
				}
				return describeVersion(v)
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}

func findFile(v *manifest.Version, num uint64) *manifest.FileMeta {
	for _, files := range v.Levels {
		for _, f := range files {
			if f.FileNum == num {
				return f
			}
		}
	}
	return nil
}

// parseVersion reads the body of a define command.
func parseVersion(input string) (*manifest.Version, error) {
	v := &manifest.Version{}
	level := -1
	for _, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line[0] == 'L' {
			n, err := strconv.Atoi(line[1:])
			if err != nil || n < 0 || n >= NumLevels {
				return nil, fmt.Errorf("bad level line %q", line)
			}
			level = n
			continue
		}
		if level < 0 {
			return nil, fmt.Errorf("table before a level line: %q", line)
		}
		f, err := parseFile(line)
		if err != nil {
			return nil, err
		}
		v.Levels[level] = append(v.Levels[level], f)
	}
	for l := 1; l < NumLevels; l++ {
		sort.Slice(v.Levels[l], func(i, j int) bool {
			return keys.Compare(v.Levels[l][i].Smallest, v.Levels[l][j].Smallest) < 0
		})
	}
	return v, nil
}

func parseFile(line string) (*manifest.FileMeta, error) {
	numStr, rest, ok := strings.Cut(line, ":")
	if !ok {
		return nil, fmt.Errorf("no table number in %q", line)
	}
	num, err := strconv.ParseUint(strings.TrimSpace(numStr), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("table number in %q: %v", line, err)
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return nil, fmt.Errorf("no key range in %q", line)
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return nil, fmt.Errorf("key range %q is not lo-hi", fields[0])
	}
	f := &manifest.FileMeta{FileNum: num, Size: 10, SmallestSeq: 1, LargestSeq: 1}
	for _, fld := range fields[1:] {
		if fld == "compacting" {
			f.Compacting = true
			continue
		}
		k, val, ok := strings.Cut(fld, "=")
		if !ok {
			return nil, fmt.Errorf("field %q is not key=value", fld)
		}
		if k == "seqs" {
			a, b, _ := strings.Cut(val, "-")
			x, err1 := strconv.ParseUint(a, 10, 64)
			y, err2 := strconv.ParseUint(b, 10, 64)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("seqs %q", val)
			}
			f.SmallestSeq, f.LargestSeq = keys.SeqNum(x), keys.SeqNum(y)
			continue
		}
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %q: %v", fld, err)
		}
		switch k {
		case "size":
			f.Size = uint64(n)
		case "expiry":
			f.EarliestExpiry, f.LatestExpiry = n, n
		case "entries":
			f.NumEntries = uint64(n)
		case "deletions":
			f.NumDeletions = uint64(n)
		case "rangedel-bytes":
			f.NumRangeDels, f.RangeDelBytes = 1, uint64(n)
		default:
			return nil, fmt.Errorf("unknown field %q", k)
		}
	}
	f.Smallest = keys.MakeKey(nil, []byte(lo), f.LargestSeq, keys.KindSet)
	f.Largest = keys.MakeKey(nil, []byte(hi), f.SmallestSeq, keys.KindSet)
	return f, nil
}

func describeVersion(v *manifest.Version) string {
	var b strings.Builder
	for l, files := range v.Levels {
		if len(files) == 0 {
			continue
		}
		fmt.Fprintf(&b, "L%d:", l)
		for _, f := range files {
			fmt.Fprintf(&b, " %d[%s-%s]", f.FileNum, f.SmallestUserKey(), f.LargestUserKey())
			if f.Compacting {
				b.WriteString("*")
			}
		}
		b.WriteString("\n")
	}
	if b.Len() == 0 {
		return "empty\n"
	}
	return b.String()
}

func describeCompaction(c *Compaction) string {
	if c == nil {
		return "none\n"
	}
	nums := func(files []*manifest.FileMeta) string {
		s := make([]string, len(files))
		for i, f := range files {
			s[i] = strconv.FormatUint(f.FileNum, 10)
		}
		return strings.Join(s, ",")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s L%d -> L%d: %s", c.Reason, c.Kind, c.Level, c.OutputLevel, nums(c.Inputs[0]))
	if len(c.Inputs[1]) > 0 {
		fmt.Fprintf(&b, " + %s", nums(c.Inputs[1]))
	}
	if len(c.Grandparents) > 0 {
		fmt.Fprintf(&b, " grandparents %s", nums(c.Grandparents))
	}
	b.WriteString("\n")
	return b.String()
}
