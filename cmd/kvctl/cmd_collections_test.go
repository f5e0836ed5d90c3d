package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stratadb/strata/collections"
	"github.com/stratadb/strata/lsm"
)

// collectionsDB makes a DB holding one key of each type, through the
// collections package, flushed to a table.
func collectionsDB(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := lsm.Open(dir, nil)
	require.NoError(t, err)
	s := collections.New(db)
	_, err = s.HSet([]byte("user:42"), []byte("name"), []byte("Ada"), []byte("bin"), []byte("\x00\x01"))
	require.NoError(t, err)
	_, err = s.RPush([]byte("queue"), []byte("job1"), []byte("job2"), []byte("job3"))
	require.NoError(t, err)
	_, err = s.SAdd([]byte("likes"), []byte("b"), []byte("a"))
	require.NoError(t, err)
	_, err = s.ZAdd([]byte("board"), collections.ZAddArgs{},
		collections.Z{Score: 310, Member: []byte("ada")}, collections.Z{Score: 1.5, Member: []byte("bob")},
		collections.Z{Score: math.Inf(1), Member: []byte("eve")})
	require.NoError(t, err)
	require.NoError(t, s.Set([]byte("greeting"), []byte("hello")))
	require.NoError(t, db.Flush())
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())
	return dir
}

func TestCollectionsCommands(t *testing.T) {
	db := collectionsDB(t)
	cases := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"type", "user:42"}, 0, "hash\n", ""},
		{[]string{"type", "queue"}, 0, "list\n", ""},
		{[]string{"type", "likes"}, 0, "set\n", ""},
		{[]string{"type", "board"}, 0, "zset\n", ""},
		{[]string{"type", "greeting"}, 0, "string\n", ""},
		{[]string{"type", "nope"}, 1, "none\n", "kvctl: key nope not found\n"},
		{[]string{"hgetall", "user:42"}, 0, "bin\t\"\\x00\\x01\"\nname\tAda\n", ""},
		{[]string{"hget", "user:42", "name"}, 0, "Ada\n", ""},
		{[]string{"hget", "user:42", "nope"}, 1, "", "kvctl: field nope of hash user:42 not found\n"},
		{[]string{"hget", "nope", "name"}, 1, "", "kvctl: key nope not found\n"},
		{[]string{"hget", "queue", "name"}, 2, "", "WRONGTYPE"},
		{[]string{"hgetall", "nope"}, 1, "", "kvctl: key nope not found\n"},
		{[]string{"hgetall", "queue"}, 2, "", "WRONGTYPE"},
		{[]string{"lrange", "queue", "0", "-1"}, 0, "job1\njob2\njob3\n", ""},
		{[]string{"lrange", "queue", "-2", "-1"}, 0, "job2\njob3\n", ""},
		{[]string{"lrange", "queue", "x", "1"}, 2, "", "integers"},
		{[]string{"smembers", "likes"}, 0, "a\nb\n", ""},
		{[]string{"zrange", "board", "0", "-1"}, 0, "bob\nada\neve\n", ""},
		{[]string{"zrange", "board", "0", "-1", "--withscores"}, 0, "bob\t1.5\nada\t310\neve\tinf\n", ""},
		{[]string{"zrange", "board", "0", "0", "--rev", "--withscores"}, 0, "eve\tinf\n", ""},
		{[]string{"--json", "zrange", "board", "0", "1"}, 0, "{\"member\":\"bob\",\"score\":1.5}\n{\"member\":\"ada\",\"score\":310}\n", ""},
		{[]string{"--json", "hgetall", "user:42"}, 0, "{\"field\":\"bin\",\"value\":\"\\u0000\\u0001\"}\n{\"field\":\"name\",\"value\":\"Ada\"}\n", ""},
		{[]string{"keys"}, 0, "board\tzset\ngreeting\tstring\nlikes\tset\nqueue\tlist\nuser:42\thash\n", ""},
		{[]string{"keys", "--type", "list"}, 0, "queue\tlist\n", ""},
		{[]string{"get", "greeting"}, 0, "hello\n", ""},
		{[]string{"--json", "type", "user:42"}, 0, "{\"key\":\"user:42\",\"type\":\"hash\"}\n", ""},
		{[]string{"--json", "lrange", "queue", "0", "1"}, 0, "{\"value\":\"job1\"}\n{\"value\":\"job2\"}\n", ""},
		{[]string{"lrange", "queue", "-1", "-1", "--json"}, 0, "{\"value\":\"job3\"}\n", ""},
		{[]string{"lrange", "queue", "5", "9"}, 0, "", ""},
		{[]string{"lrange", "nope", "0", "-1"}, 1, "", "kvctl: key nope not found\n"},
		{[]string{"--json", "smembers", "likes"}, 0, "{\"member\":\"a\"}\n{\"member\":\"b\"}\n", ""},
		{[]string{"smembers", "nope"}, 1, "", "kvctl: key nope not found\n"},
		{[]string{"smembers", "board"}, 2, "", "WRONGTYPE"},
		{[]string{"zrange", "board", "0", "-1", "--withscores", "--json"}, 0,
			"{\"member\":\"bob\",\"score\":1.5}\n{\"member\":\"ada\",\"score\":310}\n{\"member\":\"eve\",\"score\":\"inf\"}\n", ""},
		{[]string{"zrange", "board", "-1", "-1", "--withscores"}, 0, "eve\tinf\n", ""},
		{[]string{"zrange", "likes", "0", "-1"}, 2, "", "WRONGTYPE"},
	}
	for _, c := range cases {
		r := kv(t, db, nil, c.args...)
		require.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		require.Equal(t, c.stdout, r.stdout, "%v", c.args)
		require.Contains(t, r.stderr, c.stderr, "%v", c.args)
	}
}

// TestDumpDecodesCollectionKeys: dump sst follows each collection engine key
// with what it is.
func TestDumpDecodesCollectionKeys(t *testing.T) {
	db := collectionsDB(t)
	ents, err := os.ReadDir(db)
	require.NoError(t, err)
	var out strings.Builder
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".sst") {
			r := kv(t, db, nil, "dump", "sst", filepath.Join(db, e.Name()))
			require.Equal(t, 0, r.code, r.stderr)
			out.WriteString(r.stdout)
		}
	}
	for _, want := range []string{
		`# metadata of "user:42"`,
		`# metadata of "board"`,
		`header`,
		`element "name"`,
		`score index: 310 "ada"`,
		`rank node, level 1, below the top`,
		`greeting #`, // a string is its own key, undecorated
	} {
		require.Contains(t, out.String(), want)
	}
}

// TestDumpDecodesRangeDeletes: dump sst and dump wal follow the range
// tombstones of a deleted collection and of a long LTRIM with what they
// delete.
func TestDumpDecodesRangeDeletes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := lsm.Open(dir, nil)
	require.NoError(t, err)
	// Unrelated data several times the deleted collections' size: the
	// range tombstones then cover too little of the DB for compaction to
	// take their table at once and drop them with what they cover.
	for i := 0; i < 100; i++ {
		require.NoError(t, db.Put([]byte(fmt.Sprintf("filler%03d", i)), bytes.Repeat([]byte("v"), 4096)))
	}
	require.NoError(t, db.Flush())
	s := collections.New(db)
	var fields, elems [][]byte
	for i := 0; i < 600; i++ {
		f := []byte(strings.Repeat("f", 1+i%7) + string(rune('a'+i%26)) + strings.Repeat("x", i/26))
		fields = append(fields, f, f)
		elems = append(elems, f)
	}
	_, err = s.HSet([]byte("big"), fields...)
	require.NoError(t, err)
	_, err = s.RPush([]byte("feed"), elems...)
	require.NoError(t, err)
	_, err = s.Delete([]byte("big"))
	require.NoError(t, err)
	require.NoError(t, s.LTrim([]byte("feed"), 0, 9))

	wals, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	var out strings.Builder
	for _, w := range wals {
		r := kv(t, dir, nil, "dump", "wal", w)
		require.Equal(t, 0, r.code, r.stderr)
		out.WriteString(r.stdout)
	}
	require.Contains(t, out.String(), "RANGEDEL  # all data of collection ID 1")
	require.Contains(t, out.String(), "RANGEDEL  # ID 2 list elements at positions 10..599 (590)")

	require.NoError(t, db.Flush())
	require.NoError(t, s.Close())
	require.NoError(t, db.Close())
	tables, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	require.NoError(t, err)
	out.Reset()
	for _, f := range tables {
		r := kv(t, dir, nil, "dump", "sst", f)
		require.Equal(t, 0, r.code, r.stderr)
		out.WriteString(r.stdout)
	}
	require.Contains(t, out.String(), "RANGEDEL  # all data of collection ID 1")
	require.Contains(t, out.String(), "RANGEDEL  # ID 2 list elements at positions 10..599 (590)")
}
