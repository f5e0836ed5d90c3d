package keys

// Iterator is the internal iterator every source of entries implements:
// memtables, tables, and the merging iterator over them. Keys are internal
// keys in Compare order. Key and Value stay valid until the next positioning
// call. An Iterator belongs to one goroutine.
//
// The positioning methods return whether the iterator is positioned at an
// entry; false means exhausted or an error (see Error).
type Iterator interface {
	// SeekGE moves to the first entry whose internal key is >= ikey.
	SeekGE(ikey []byte) bool
	// SeekLT moves to the last entry whose internal key is < ikey.
	SeekLT(ikey []byte) bool
	First() bool
	Last() bool
	Next() bool
	Prev() bool
	Valid() bool
	Key() []byte
	Value() []byte
	// Error returns the first error the iterator met, if any.
	Error() error
	// Close releases the iterator's resources and returns Error().
	Close() error
}
