package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readRepoFile reads a file at the root of the module.
func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	require.NoError(t, err)
	return string(b)
}

// TestREADMEForANewUser: what the README promises a new user holds. The
// install line names this command in this module, the license is the
// Apache License 2.0, the time the tests take is said, the cookbook points
// at the file of runnable examples and names only examples it holds, and
// every command and flag of the kvctl table is one the built kvctl takes.
func TestREADMEForANewUser(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	mod := regexp.MustCompile(`(?m)^module (\S+)$`).FindStringSubmatch(readRepoFile(t, "go.mod"))
	require.NotNil(t, mod)
	require.Contains(t, readme, "go install "+mod[1]+"/cmd/kvctl@latest")

	license := readRepoFile(t, "LICENSE")
	require.Contains(t, license, "Apache License")
	require.Contains(t, license, "Version 2.0, January 2004")
	require.Contains(t, readme, "[LICENSE](LICENSE)")

	require.Regexp(t, `go test \./\.\.\.[\s\S]{0,300}takes about \d+ minutes`, readme)

	// The way out of a damaged WAL is written in Operations, beside the
	// backups.
	ops := readme[strings.Index(readme, "## Operations"):]
	ops = ops[:strings.Index(ops[3:], "\n## ")+3]
	require.Contains(t, ops, "**Backup**: `db.Checkpoint(dir)`")
	require.Contains(t, ops, "**Recovery from a damaged WAL**")
	require.Contains(t, ops, "run `kvctl repair`")

	require.Contains(t, readme, "[`lsm/example_test.go`](lsm/example_test.go)")
	examples := readRepoFile(t, filepath.Join("lsm", "example_test.go"))
	named := regexp.MustCompile("`(Example_\\w+)`").FindAllStringSubmatch(readme, -1)
	require.NotEmpty(t, named)
	for _, m := range named {
		require.Contains(t, examples, "\nfunc "+m[1]+"() {", "the README names %s", m[1])
	}

	// The kvctl table: | `cmd ARGS [--flag X]` / `cmd2 ...` | does |
	start := strings.Index(readme, "| command | does |")
	require.Positive(t, start)
	table := readme[start:]
	table = table[:strings.Index(table, "\n\n")]
	rows := 0
	for _, row := range strings.Split(table, "\n")[2:] {
		first := strings.SplitN(strings.TrimPrefix(row, "| "), " | ", 2)[0]
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(first, -1) {
			words := strings.Fields(m[1])
			help := kv(t, t.TempDir(), nil, words[0], "--help")
			require.Equal(t, 0, help.code, "README command %q: %s", m[1], help.stderr)
			for _, flag := range regexp.MustCompile(`--[a-z-]+`).FindAllString(m[1], -1) {
				require.Contains(t, help.stdout, flag+" ", "README: %q", m[1])
			}
			rows++
		}
	}
	require.Greater(t, rows, 15, "the table was read")
}
