package manifest

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/vfs"
	"github.com/stratadb/strata/wal"
)

// TestRecoverScripts runs the scripts in testdata/recover: each builds a DB
// directory by hand (a MANIFEST record by record, tables, WAL segments,
// CURRENT), damages it, and says what Recover answers.
//
//	reset
//	----
//	(an empty directory /db)
//
//	manifest [num=N]                 MANIFEST-N (default 1), one record a line:
//	header                           the MANIFEST header record
//	header-raw <string>              a header record holding these bytes
//	edit [log=N] [next=N] [seq=N] [add=L<level>:<num>:<lo>-<hi>[:<size>]]... [del=L<level>:<num>]...
//	                                 a version edit; an added table holds
//	                                 user keys lo..hi, sequence number num,
//	                                 and is size bytes (default 100)
//	raw <string>                     a checksummed record holding these bytes
//	----
//	the offset and end of each record; CURRENT names the MANIFEST
//
//	current
//	<name> | <string>                CURRENT holds the name and a newline, or
//	----                             exactly the Go-quoted string
//
//	file <name> [size=N]             a file of N zero bytes (default 100)
//	remove <name>
//	truncate <name> record=N         cut the file in the middle of record N
//	truncate <name> size=N           cut the file to N bytes
//	flip <name> record=N             flip a bit of the last payload byte of record N
//	----                             (each of these prints nothing)
//
//	recover [read-only]
//	----
//	the recovered counters and version and the files left in the directory,
//	or the error: its class (corruption, not-exist) and message
//
// Strings are bare words or Go-quoted; records are numbered from 0 (the
// header) in the order the last manifest command wrote them.
func TestRecoverScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/recover", func(t *testing.T, path string) {
		const dir = "/db"
		var fs *vfs.MemFS
		var recs [][2]int64 // offset and end of each record of the last MANIFEST written
		reset := func() {
			fs = vfs.NewMem()
			if err := fs.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			recs = nil
		}
		reset()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			name := func() string {
				if len(d.CmdArgs) == 0 {
					d.Fatalf(t, "%s needs a file name", d.Cmd)
				}
				return dir + "/" + d.CmdArgs[0].Key
			}
			arg := func(key string) (int64, bool) {
				for _, a := range d.CmdArgs {
					if a.Key == key {
						n, err := strconv.ParseInt(a.Vals[0], 10, 64)
						if err != nil {
							d.Fatalf(t, "%s: %v", key, err)
						}
						return n, true
					}
				}
				return 0, false
			}
			record := func() [2]int64 {
				n, ok := arg("record")
				if !ok || n < 0 || int(n) >= len(recs) {
					d.Fatalf(t, "%s needs record=N, one of the %d records written", d.Cmd, len(recs))
				}
				return recs[n]
			}
			switch d.Cmd {
			case "reset":
				reset()
				return ""
			case "manifest":
				num := uint64(1)
				if n, ok := arg("num"); ok {
					num = uint64(n)
				}
				var err error
				recs, err = writeScriptManifest(fs, MakeFilename(dir, FileTypeManifest, num), d.Input)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				if err := setCurrent(fs, dir, num); err != nil {
					d.Fatalf(t, "%v", err)
				}
				var b strings.Builder
				for i, r := range recs {
					fmt.Fprintf(&b, "record %d: %d-%d\n", i, r[0], r[1])
				}
				return b.String()
			case "current":
				content := strings.TrimSpace(d.Input) + "\n"
				if strings.HasPrefix(content, `"`) {
					s, err := strconv.Unquote(strings.TrimSpace(d.Input))
					if err != nil {
						d.Fatalf(t, "%v", err)
					}
					content = s
				}
				writeScriptFile(t, fs, dir+"/CURRENT", []byte(content))
				return ""
			case "file":
				size, ok := arg("size")
				if !ok {
					size = 100
				}
				writeScriptFile(t, fs, name(), make([]byte, size))
				return ""
			case "remove":
				if err := fs.Remove(name()); err != nil {
					d.Fatalf(t, "%v", err)
				}
				return ""
			case "truncate", "flip":
				n := name()
				b := readAll(t, fs, n)
				switch size, ok := arg("size"); {
				case ok && d.Cmd == "truncate":
					b = b[:size]
				case d.Cmd == "truncate":
					r := record()
					b = b[:r[0]+(r[1]-r[0])/2]
				default:
					r := record()
					b[r[1]-1] ^= 0x10
				}
				writeScriptFile(t, fs, n, b)
				return ""
			case "recover":
				readOnly := false
				for _, a := range d.CmdArgs {
					readOnly = readOnly || a.Key == "read-only"
				}
				vs, err := Recover(Options{FS: fs, Dir: dir, ReadOnly: readOnly})
				if err != nil {
					var b strings.Builder
					if errors.Is(err, keys.ErrCorruption) {
						b.WriteString("corruption")
					} else {
						b.WriteString("error")
					}
					if errors.Is(err, os.ErrNotExist) {
						b.WriteString(", not-exist")
					}
					fmt.Fprintf(&b, ": %v\n", err)
					return b.String()
				}
				defer vs.Close()
				v := vs.Current()
				defer v.Unref()
				if err := v.CheckInvariants(); err != nil {
					d.Fatalf(t, "recovered version: %v", err)
				}
				names, err := fs.List(dir)
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				slices.Sort(names)
				return fmt.Sprintf("log=%d seq=%d manifest=%d next-file=%d\n%sfiles: %s\n",
					vs.LogNum(), vs.LastSeq(), vs.ManifestFileNum(), vs.NewFileNum(), v, strings.Join(names, " "))
			}
			d.Fatalf(t, "unknown command %q", d.Cmd)
			return ""
		})
	})
}

// writeScriptFile writes name durably, as the engine would have.
func writeScriptFile(t *testing.T, fs vfs.FS, name string, b []byte) {
	t.Helper()
	f, err := fs.Create(name)
	if err == nil {
		_, err = f.Write(b)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = fs.SyncDir("/db")
	}
	if err != nil {
		t.Fatal(err)
	}
}

// writeScriptManifest writes the records a manifest command lists and
// returns the offset and end of each.
func writeScriptManifest(fs vfs.FS, name, input string) ([][2]int64, error) {
	f, err := fs.Create(name)
	if err != nil {
		return nil, err
	}
	w := wal.NewWriter(f)
	var recs [][2]int64
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var rec []byte
		switch fields[0] {
		case "header":
			rec = appendHeader(nil)
		case "header-raw", "raw":
			_, arg, _ := strings.Cut(line, " ")
			s, err := strconv.Unquote(strings.TrimSpace(arg))
			if err != nil {
				s = strings.TrimSpace(arg)
			}
			rec = []byte(s)
		case "edit":
			e, err := parseScriptEdit(fields[1:])
			if err != nil {
				return nil, fmt.Errorf("%q: %w", line, err)
			}
			rec = e.Encode(nil)
		default:
			return nil, fmt.Errorf("unknown record %q", line)
		}
		off := w.Size()
		if err := w.AddRecord(rec); err != nil {
			return nil, err
		}
		recs = append(recs, [2]int64{off, w.Size()})
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	if err := w.Sync(); err != nil {
		return nil, err
	}
	return recs, w.Close()
}

// parseScriptEdit parses the fields of an edit line.
func parseScriptEdit(fields []string) (*VersionEdit, error) {
	e := &VersionEdit{}
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not key=value", f)
		}
		switch key {
		case "log", "next", "seq":
			n, err := strconv.ParseUint(val, 10, 64)
			if err != nil {
				return nil, err
			}
			switch key {
			case "log":
				e.LogNum = n
			case "next":
				e.NextFileNum = n
			default:
				e.LastSeq = keys.SeqNum(n)
			}
		case "add", "del":
			parts := strings.Split(val, ":")
			if len(parts) < 2 || !strings.HasPrefix(parts[0], "L") {
				return nil, fmt.Errorf("%q is not L<level>:<num>...", val)
			}
			level, err1 := strconv.Atoi(parts[0][1:])
			num, err2 := strconv.ParseUint(parts[1], 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("%q: %w", val, err)
			}
			if key == "del" {
				e.Deleted = append(e.Deleted, DeletedFile{Level: level, FileNum: num})
				continue
			}
			if len(parts) < 3 {
				return nil, fmt.Errorf("%q: an added table needs its keys lo-hi", val)
			}
			lo, hi, ok := strings.Cut(parts[2], "-")
			if !ok {
				return nil, fmt.Errorf("%q: keys are lo-hi", val)
			}
			size := uint64(100)
			if len(parts) > 3 {
				if size, err1 = strconv.ParseUint(parts[3], 10, 64); err1 != nil {
					return nil, fmt.Errorf("%q: %w", val, err1)
				}
			}
			seq := keys.SeqNum(num)
			e.Added = append(e.Added, NewFile{Level: level, Meta: &FileMeta{
				FileNum: num, Size: size, SmallestSeq: seq, LargestSeq: seq, NumEntries: 2,
				Smallest: keys.MakeKey(nil, []byte(lo), seq, keys.KindSet),
				Largest:  keys.MakeKey(nil, []byte(hi), seq, keys.KindSet),
			}})
		default:
			return nil, fmt.Errorf("unknown edit field %q", key)
		}
	}
	return e, nil
}
