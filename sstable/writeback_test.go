package sstable

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/keys"
)

// writeBackFile is a memFile that records its WriteBack calls: the end
// asked for and the bytes the file held at the time.
type writeBackFile struct {
	memFile
	ends    []int64
	written []int
	syncsAt []int // len(ends) at each Sync
	failWB  error
}

func (f *writeBackFile) WriteBack(end int64) error {
	f.ends = append(f.ends, end)
	f.written = append(f.written, len(f.buf))
	return f.failWB
}

func (f *writeBackFile) Sync() error {
	f.syncsAt = append(f.syncsAt, len(f.ends))
	return f.memFile.Sync()
}

// writeBackTable writes n entries of 100-byte values (incompressible
// enough) through f with opts and finishes the table.
func writeBackTable(t *testing.T, f *writeBackFile, n int, opts WriterOptions) (Properties, error) {
	t.Helper()
	w := NewWriter(f, opts)
	val := make([]byte, 100)
	for i := range n {
		for j := range val {
			val[j] = byte(i*31 + j*7)
		}
		if err := w.Add(keys.MakeKey(nil, fmt.Appendf(nil, "key%09d", i), keys.SeqNum(i+1), keys.KindSet), val); err != nil {
			w.Abort()
			return Properties{}, err
		}
	}
	return w.Finish()
}

// A large table is written back every BytesPerSync bytes as it is written,
// never past what the file holds, and the Sync of Finish still makes it
// durable after the last write-back.
func TestWriterWritesBackIncrementally(t *testing.T) {
	for _, tc := range []struct {
		name         string
		bytesPerSync int
		want         int64 // the interval expected
	}{
		{"default", 0, defaultBytesPerSync},
		{"1MiB", 1 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &writeBackFile{}
			props, err := writeBackTable(t, f, 40000, WriterOptions{BytesPerSync: tc.bytesPerSync})
			require.NoError(t, err)
			require.Greater(t, props.FileSize, uint64(3*tc.want), "the table must span several intervals")
			// Each gap is at least the interval and less than one more
			// buffer; the last bytes go at the final Sync.
			require.GreaterOrEqual(t, len(f.ends), int(int64(props.FileSize)/(tc.want+writeBufferSize)), "too few write-backs for %d bytes", props.FileSize)
			prev := int64(0)
			for i, end := range f.ends {
				require.LessOrEqual(t, end, int64(f.written[i]), "write-back %d asks for bytes not yet written", i)
				require.GreaterOrEqual(t, end-prev, tc.want, "write-back %d comes early", i)
				require.Less(t, end-prev, tc.want+writeBufferSize+1, "write-back %d comes late", i)
				prev = end
			}
			require.Equal(t, []int{len(f.ends)}, f.syncsAt, "one Sync, after every write-back")
			require.Equal(t, uint64(len(f.buf)), props.FileSize)
		})
	}
}

// A negative BytesPerSync turns write-back off; the table is still synced.
func TestWriterWriteBackOff(t *testing.T) {
	f := &writeBackFile{}
	_, err := writeBackTable(t, f, 40000, WriterOptions{BytesPerSync: -1})
	require.NoError(t, err)
	require.Empty(t, f.ends)
	require.Equal(t, []int{0}, f.syncsAt)
}

// A write-back error fails the table, as a write error does.
func TestWriterWriteBackErrorIsSticky(t *testing.T) {
	boom := errors.New("injected write-back error")
	f := &writeBackFile{failWB: boom}
	_, err := writeBackTable(t, f, 40000, WriterOptions{})
	require.ErrorIs(t, err, boom)
	require.Len(t, f.ends, 1, "no write-back after the first error")
	require.Empty(t, f.syncsAt, "a failed table is not synced")
}
