package manifest

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFilenamesRoundTrip(t *testing.T) {
	cases := []struct {
		ft   FileType
		num  uint64
		name string
	}{
		{FileTypeLog, 7, "000007.log"},
		{FileTypeTable, 123456, "123456.sst"},
		{FileTypeTable, 1234567, "1234567.sst"},
		{FileTypeManifest, 1, "MANIFEST-000001"},
		{FileTypeTemp, 42, "000042.tmp"},
		{FileTypeCurrent, 0, "CURRENT"},
		{FileTypeLock, 0, "LOCK"},
		{FileTypeLog, 1<<64 - 1, "18446744073709551615.log"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, filepath.Join("/db", c.name), MakeFilename("/db", c.ft, c.num))
			ft, num, ok := ParseFilename(c.name)
			require.True(t, ok)
			require.Equal(t, c.ft, ft)
			require.Equal(t, c.num, num)
		})
	}
}

func TestParseFilenameRejectsNonCanonicalNames(t *testing.T) {
	for _, name := range []string{
		"", "current", "CURRENT.bak", "LOCK2", "MANIFEST-", "MANIFEST-1", "MANIFEST-00001x",
		"0000007.log", "12345.sst", "abcdef.sst", "+00001.log", "-00001.log", "000001.SST",
		"000001.ldb", "18446744073709551616.log", "000001", "OPTIONS-000001",
	} {
		_, _, ok := ParseFilename(name)
		require.False(t, ok, "%q", name)
	}
}
