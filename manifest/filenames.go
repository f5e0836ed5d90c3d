package manifest

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// FileType is the kind of a file in a DB directory, as its name tells.
type FileType int

// The file types. The names they map to (see MakeFilename) are part of the
// on-disk layout and never change.
const (
	// FileTypeLog is a WAL segment: %06d.log.
	FileTypeLog FileType = iota
	// FileTypeTable is an SSTable: %06d.sst.
	FileTypeTable
	// FileTypeManifest is a MANIFEST log: MANIFEST-%06d.
	FileTypeManifest
	// FileTypeCurrent is the CURRENT file naming the live MANIFEST.
	FileTypeCurrent
	// FileTypeLock is the LOCK file guarding the directory.
	FileTypeLock
	// FileTypeTemp is a file being written before an atomic rename: %06d.tmp.
	FileTypeTemp
)

// String returns the file type's name, as used in logs and dumps.
func (ft FileType) String() string {
	switch ft {
	case FileTypeLog:
		return "log"
	case FileTypeTable:
		return "table"
	case FileTypeManifest:
		return "manifest"
	case FileTypeCurrent:
		return "current"
	case FileTypeLock:
		return "lock"
	case FileTypeTemp:
		return "temp"
	}
	return fmt.Sprintf("FileType(%d)", int(ft))
}

// The fixed names and affixes. Part of the on-disk layout; never change.
const (
	currentName    = "CURRENT"
	lockName       = "LOCK"
	manifestPrefix = "MANIFEST-"
	logSuffix      = ".log"
	tableSuffix    = ".sst"
	tempSuffix     = ".tmp"
)

// MakeFilename returns the path in dir of the file of type ft numbered num
// (num is ignored for CURRENT and LOCK). Numbers are printed with at least
// six digits: 000042.sst, MANIFEST-000007.
func MakeFilename(dir string, ft FileType, num uint64) string {
	return filepath.Join(dir, Filename(ft, num))
}

// Filename returns the name, without a directory, of the file of type ft
// numbered num: MakeFilename's last element.
func Filename(ft FileType, num uint64) string {
	switch ft {
	case FileTypeLog:
		return fmt.Sprintf("%06d%s", num, logSuffix)
	case FileTypeTable:
		return fmt.Sprintf("%06d%s", num, tableSuffix)
	case FileTypeManifest:
		return fmt.Sprintf("%s%06d", manifestPrefix, num)
	case FileTypeCurrent:
		return currentName
	case FileTypeLock:
		return lockName
	case FileTypeTemp:
		return fmt.Sprintf("%06d%s", num, tempSuffix)
	}
	return fmt.Sprintf("unknown-%d-%06d", int(ft), num)
}

// ParseFilename reports the type and number of a file name (without its
// directory). ok is false for any name MakeFilename would not produce,
// including numbers written with extra leading zeros, so a name and a
// (type, number) pair correspond one to one.
func ParseFilename(name string) (ft FileType, num uint64, ok bool) {
	switch name {
	case currentName:
		return FileTypeCurrent, 0, true
	case lockName:
		return FileTypeLock, 0, true
	}
	if digits, found := strings.CutPrefix(name, manifestPrefix); found {
		num, ok = parseNum(digits)
		return FileTypeManifest, num, ok
	}
	for _, s := range []struct {
		suffix string
		ft     FileType
	}{{logSuffix, FileTypeLog}, {tableSuffix, FileTypeTable}, {tempSuffix, FileTypeTemp}} {
		if digits, found := strings.CutSuffix(name, s.suffix); found {
			num, ok = parseNum(digits)
			return s.ft, num, ok
		}
	}
	return 0, 0, false
}

// parseNum parses a file number in the canonical %06d form.
func parseNum(s string) (uint64, bool) {
	if len(s) < 6 || (len(s) > 6 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
