// Package fuzz holds the fuzz targets of Strata: one for every decoder of
// on-disk bytes (the WAL reader, the block decoder, the table reader, the
// range deletion block decoder, the MANIFEST decoder, the batch decoder), the item key codec, and the whole DB
// driven by random operation scripts against a model.
//
// Every target's seed corpus is committed under testdata/fuzz/<Target>, so a
// plain `go test ./fuzz/` runs every seed. To fuzz one target for an hour:
//
//	go test ./fuzz/ -run '^$' -fuzz '^FuzzDB$' -fuzztime 1h
//
// A crasher the fuzzer finds is written to testdata/fuzz/<Target>/; commit it
// with the fix, and it stays a regression test.
package fuzz
