// Package keys defines the internal key, the unit every layer below the DB
// sorts by, and the item key codec under composite partition/sort keys.
//
// Who may use it: Strata's engine packages (lsm, memtable, sstable,
// compaction, manifest, rangedel, wal's users) and tools that read Strata's
// files, such as kvctl. It is public so that the exported APIs of those
// packages, which take sequence numbers, kinds and internal iterators, can
// be called from outside the module. A program that only stores keys has
// no need for it: package lsm speaks user keys. The encodings it documents
// are part of the on-disk format and never change; its Go API may.
//
// # Internal keys
//
// An internal key is the user key followed by an 8-byte trailer, stored
// little-endian. The trailer packs a 56-bit sequence number above an 8-bit kind:
//
//	+---------------------+---------------------------------------+
//	| user key (n bytes)  | trailer: seq<<8 | kind  (8 bytes, LE) |
//	+---------------------+---------------------------------------+
//
// Internal keys order by user key ascending (bytes.Compare), then by trailer
// descending, so the newest version of a key comes first. For example the
// versions of "apple" and "apricot" sort:
//
//	apple   #9 SET
//	apple   #4 DEL
//	apricot #7 SETX
//
// # Values
//
// A KindSet value is the user value. A KindSetExpiry value starts with the
// absolute expiry time in Unix nanoseconds (8 bytes, little-endian) followed by
// the user value. A KindDelete value is empty.
//
// # Judging a version
//
// Judge is the one place that decides what a version shows a reader: a
// KindSet value is live; a KindDelete is deleted; a KindSetExpiry value is
// live before its expiry and expired at and after it (judged at a Now, read
// from the DB's clock at most once per read, or fixed for a compaction);
// anything else is corruption. Get, iterators and compaction all call it.
// A table reader checks each entry it decodes (ValidEntry) so that damage
// is reported with the table's name and offset before it reaches Judge.
//
// # Item keys
//
// ItemKey(pk, sk) escapes every 0x00 of pk as 0x00 0xFF, terminates pk with
// 0x00 0x01, and appends sk raw:
//
//	pk = "a\x00b", sk = "x"   ->   61 00 FF 62 00 01 78
//
// A terminator (00 01) sorts below an escaped zero (00 FF) and below any other
// byte, so item keys sort by pk bytes, then by sk bytes, and all items of one
// partition lie in [esc(pk) 00 01, esc(pk) 00 02).
package keys
