package lsm

import (
	"github.com/stratadb/strata/keys"
	"github.com/stratadb/strata/manifest"
	"github.com/stratadb/strata/rangedel"
	"github.com/stratadb/strata/sstable"
)

// Every table the DB writes goes through tableOutput: a flush and the
// recovery of a WAL (writeTable) and a compaction (as its
// compaction.Output). So they agree on the writer's options, the file's
// name, what a failure removes, the fsyncs that make a table durable, and
// the FileMeta recorded for it.

// tableWriterOptions are the sstable options every table of the DB is
// written with.
func (db *DB) tableWriterOptions() sstable.WriterOptions {
	c := sstable.CompressionSnappy
	switch db.opts.Compression {
	case CompressionNone:
		c = sstable.CompressionNone
	case CompressionZstd:
		c = sstable.CompressionZstd
	}
	return sstable.WriterOptions{
		BlockSize:       db.opts.BlockSize,
		Compression:     c,
		BloomBitsPerKey: db.opts.BloomBitsPerKey,
		Prefix:          keys.PartitionPrefixLen,
		Memory:          &db.writerMem,
	}
}

// tableOutput is one new table being written.
type tableOutput struct {
	db    *DB
	num   uint64
	name  string
	w     *sstable.Writer
	rdels rangedel.List
	level int // the level the table goes to, for RangeDelBytes
	// v is the version RangeDelBytes is measured against: a compaction's
	// input version, or nil for the current version at Finish (a flush).
	v *manifest.Version
	// walRef is the WAL segment the table's values refer to, walRefBytes
	// the bytes they leave there (see walvalues.go); 0 for a table that
	// holds every value.
	walRef, walRefBytes uint64
}

// newTableOutput creates the file of a new table for level.
func (db *DB) newTableOutput(level int, v *manifest.Version) (*tableOutput, error) {
	num := db.vs.NewFileNum()
	name := manifest.MakeFilename(db.dir, manifest.FileTypeTable, num)
	f, err := db.fs.Create(name)
	if err != nil {
		return nil, err
	}
	return &tableOutput{db: db, num: num, name: name, w: sstable.NewWriter(f, db.tableWriterOptions()), level: level, v: v}, nil
}

// Add adds an entry; keys come in internal-key order.
func (o *tableOutput) Add(ikey, value []byte) error { return o.w.Add(ikey, value) }

// SetRangeDels sets the table's range tombstones, once, before Finish.
func (o *tableOutput) SetRangeDels(l rangedel.List) error {
	o.rdels = l
	return o.w.SetRangeDels(l)
}

// EstimatedSize is the table's size so far.
func (o *tableOutput) EstimatedSize() uint64 { return o.w.EstimatedSize() }

// Abort abandons the table and removes its file.
func (o *tableOutput) Abort() {
	o.w.Abort()
	o.db.removeFile(o.name)
}

// Finish completes the table, fsyncs it and its directory, and returns its
// metadata; a table with no entry and no range tombstone is removed, and
// Finish returns nil.
func (o *tableOutput) Finish() (*manifest.FileMeta, error) {
	if o.w.Empty() {
		o.Abort()
		return nil, nil
	}
	props, err := o.w.Finish()
	if err != nil {
		o.db.removeFile(o.name)
		return nil, err
	}
	if err := o.db.fs.SyncDir(o.db.dir); err != nil {
		return nil, err
	}
	meta := metaFromProps(o.num, props, o.rdels)
	meta.WALRef, meta.WALRefBytes = o.walRef, o.walRefBytes
	if len(o.rdels) > 0 {
		v := o.v
		if v == nil {
			v = o.db.vs.Current()
			defer v.Unref()
		}
		meta.RangeDelBytes = o.db.rangeDelCoverage(v, o.level, o.rdels, meta)
	}
	return meta, nil
}

// writeTable writes every entry of it and the range tombstones rdels to one
// new L0 table (see tableOutput.Finish); it closes it. An empty result
// writes no table and returns nil.
func (db *DB) writeTable(it keys.Iterator, rdels rangedel.List) (*manifest.FileMeta, error) {
	defer it.Close()
	o, err := db.newTableOutput(0, nil)
	if err != nil {
		return nil, err
	}
	if err := o.SetRangeDels(rdels); err != nil {
		o.Abort()
		return nil, err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := o.Add(it.Key(), it.Value()); err != nil {
			o.Abort()
			return nil, err
		}
	}
	if err := it.Error(); err != nil {
		o.Abort()
		return nil, err
	}
	return o.Finish()
}

// metaFromProps builds the MANIFEST's record of a table from its properties
// and its range tombstones, whose extents widen the table's bounds.
func metaFromProps(num uint64, p sstable.Properties, rdels rangedel.List) *manifest.FileMeta {
	m := &manifest.FileMeta{
		FileNum:        num,
		Size:           p.FileSize,
		Smallest:       p.SmallestKey,
		Largest:        p.LargestKey,
		SmallestSeq:    p.SmallestSeq,
		LargestSeq:     p.LargestSeq,
		EarliestExpiry: p.EarliestExpiry,
		LatestExpiry:   p.LatestExpiry,
		NumEntries:     p.NumEntries,
		NumDeletions:   p.NumDeletions,
		NumRangeDels:   p.NumRangeDeletions,
	}
	if len(rdels) == 0 {
		return m
	}
	if s := rdels.Smallest(nil); m.Smallest == nil || keys.Compare(s, m.Smallest) < 0 {
		m.Smallest = s
	}
	if l := rdels.Largest(nil); m.Largest == nil || keys.Compare(l, m.Largest) > 0 {
		m.Largest = l
	}
	lo, hi := rdels[0].Seqs[0], rdels[0].Seqs[0]
	for _, f := range rdels {
		hi = max(hi, f.Seqs[0])
		lo = min(lo, f.Seqs[len(f.Seqs)-1])
	}
	if p.NumEntries == 0 {
		m.SmallestSeq, m.LargestSeq = lo, hi
	} else {
		m.SmallestSeq, m.LargestSeq = min(m.SmallestSeq, lo), max(m.LargestSeq, hi)
	}
	return m
}
