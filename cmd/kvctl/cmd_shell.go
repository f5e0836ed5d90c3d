package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
)

func (a *app) shellCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "An interactive prompt taking the same commands",
		Long: `Read commands line by line, as kvctl takes them without the "kvctl" word,
against one open database. On a terminal the prompt has line editing and a
history (kept in ~/.kvctl_history, readable only by you); from a pipe it reads
lines silently. "exit" or end of input leaves.

Quote arguments with spaces: put greeting "hello world". Inside double quotes
the escapes of a Go string apply (\n, \t, \x01, \u00e9, \", \\), the ones scan
and query print, so any key they show can be pasted back as it is; inside
single quotes every character is literal; elsewhere a backslash makes the next
character literal. The global flags (--db, --sync, --memory-limit,
--read-only, --wait) apply to the whole shell and are refused on a line;
--json may be given on a line. Standard input is the shell's own, so a VALUE
of "-" and "import -" are refused on a line; repair runs outside the shell.`,
		Example: `  kvctl shell
  printf 'put a 1\nget a\n' | kvctl shell`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := a.open(openCreate); err != nil {
				return err
			}
			a.inShell = true
			if f, ok := a.stdin.(*os.File); ok && isTerminal(f) && isTerminal(a.stdout) {
				return a.shellInteractive()
			}
			return a.shellPiped()
		},
	}
}

// shellPiped runs the lines of standard input, printing errors and going on.
func (a *app) shellPiped() error {
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	failed := 0
scan:
	for sc.Scan() {
		switch a.shellLine(sc.Text()) {
		case shellExit:
			break scan
		case shellFailed:
			failed++
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%d command(s) failed", failed)}
	}
	return nil
}

func (a *app) shellInteractive() error {
	var hist *os.File
	var past []string
	home, herr := os.UserHomeDir()
	if herr == nil {
		hist, past, herr = openHistory(filepath.Join(home, ".kvctl_history"))
	}
	if herr != nil {
		// Without a home (HOME unset) the history would land in the
		// current directory: there is none.
		fmt.Fprintf(a.stderr, "kvctl: no history: %v\n", herr)
	}
	if hist != nil {
		defer hist.Close()
	}
	// The history file is kept here, not by readline, which would create it
	// readable by everyone (it holds the values typed).
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "kvctl> ",
		InterruptPrompt: "^C",
		EOFPrompt:       "exit",
	})
	if err != nil {
		return err
	}
	defer rl.Close()
	for _, l := range past {
		rl.SaveHistory(l)
	}
	for {
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if hist != nil && strings.TrimSpace(line) != "" {
			fmt.Fprintln(hist, line)
		}
		if a.shellLine(line) == shellExit {
			return nil
		}
	}
}

// historyKeep is how many lines of history a shell loads and keeps.
const historyKeep = 500

// openHistory opens the history file for appending, creating it with mode
// 0600 (and setting that mode on an existing one: it holds values typed),
// and returns its last historyKeep lines. A file grown past twice that is
// rewritten with only those lines.
func openHistory(name string) (*os.File, []string, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, nil, err
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<26)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			lines = append(lines, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		f.Close()
		return nil, nil, err
	}
	if len(lines) <= 2*historyKeep {
		return f, lines[max(0, len(lines)-historyKeep):], nil
	}
	lines = lines[len(lines)-historyKeep:]
	f.Close()
	tmp := name + ".tmp"
	data := strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		return nil, lines, err
	}
	if err := os.Rename(tmp, name); err != nil {
		return nil, lines, err
	}
	f, err = os.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0o600)
	return f, lines, err
}

type shellResult int

const (
	shellOK shellResult = iota
	shellFailed
	shellExit
)

// shellLine runs one command line against the open DB.
func (a *app) shellLine(line string) shellResult {
	args, err := splitArgs(line)
	if err != nil {
		fmt.Fprintf(a.stderr, "kvctl: %v\n", err)
		return shellFailed
	}
	if len(args) == 0 {
		return shellOK
	}
	switch args[0] {
	case "exit", "quit":
		return shellExit
	case "shell", "demo":
		fmt.Fprintf(a.stderr, "kvctl: %s is not available inside the shell\n", args[0])
		return shellFailed
	case "repair":
		// Repair needs the database closed, and the shell holds it open.
		fmt.Fprintf(a.stderr, "kvctl: repair is not available inside the shell, which holds the database open: leave it and run kvctl repair\n")
		return shellFailed
	}
	// A fresh command tree per line, sharing this app (and its open DB).
	sub := &app{stdin: a.stdin, stdout: a.stdout, stderr: a.stderr, db: a.db, inShell: true}
	root := sub.rootCommand()
	// What the shell was started with holds on every line (set after the
	// flags are defined, which resets them to their defaults).
	sub.json, sub.readOnly = a.json, a.readOnly
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		for _, name := range shellRefusedFlags {
			if c.Flags().Changed(name) {
				return usageError("--%s on a shell line: it applies to the whole shell, so give it before \"shell\" (kvctl --%s ... shell)", name, name)
			}
		}
		return nil
	}
	err = checkGlobalFlags(root, args)
	if err == nil {
		args, err = rewriteBetween(root, args)
	}
	if err == nil {
		root.SetArgs(args)
		err = root.Execute()
	}
	if sub.report(err) != 0 {
		return shellFailed
	}
	return shellOK
}

// shellRefusedFlags are the global flags that concern opening the database,
// which the shell has done: on a shell line they are an error.
var shellRefusedFlags = []string{"db", "sync", "memory-limit", "read-only", "wait"}

// splitArgs splits a shell line into words, separated by spaces and tabs.
// Inside single quotes every byte is literal. Inside double quotes the
// escapes of a Go string literal apply (strconv.UnquoteChar), so whatever
// strconv.Quote wrote reads back as the same bytes. Outside quotes a
// backslash makes the next character literal.
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 2
			inWord = true
		case c == '"':
			start := i
			i++
			for {
				if i >= len(line) {
					return nil, fmt.Errorf("unterminated double quote in %q", line)
				}
				if line[i] == '"' {
					i++
					break
				}
				if line[i] >= utf8.RuneSelf {
					// Copied as it is, valid UTF-8 or not.
					_, n := utf8.DecodeRuneInString(line[i:])
					cur.WriteString(line[i : i+n])
					i += n
					continue
				}
				r, multibyte, tail, err := strconv.UnquoteChar(line[i:], '"')
				if err != nil {
					return nil, fmt.Errorf("bad escape in %s (want \\n, \\t, \\xFF, \\u00e9, \\\", \\\\ ...)", line[start:])
				}
				if r < utf8.RuneSelf || !multibyte {
					cur.WriteByte(byte(r)) // \xFF and octal escapes are bytes
				} else {
					cur.WriteRune(r)
				}
				i = len(line) - len(tail)
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, fmt.Errorf("backslash at the end of %q", line)
			}
			_, n := utf8.DecodeRuneInString(line[i+1:])
			cur.WriteString(line[i+1 : i+1+n])
			i += 1 + n
			inWord = true
		default:
			cur.WriteByte(c)
			i++
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
