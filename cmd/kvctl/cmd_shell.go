package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/chzyer/readline"
	"github.com/spf13/cobra"
)

func (a *app) shellCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "shell",
		Short: "An interactive prompt taking the same commands",
		Long: `Read commands line by line, as kvctl takes them without the "kvctl" word,
against one open database. On a terminal the prompt has line editing and a
history (kept in ~/.kvctl_history); from a pipe it reads lines silently.
Quote arguments with spaces: put greeting "hello world". "exit" or end of
input leaves.`,
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
	home, _ := os.UserHomeDir()
	rl, err := readline.NewEx(&readline.Config{
		Prompt:          "kvctl> ",
		HistoryFile:     filepath.Join(home, ".kvctl_history"),
		InterruptPrompt: "^C",
		EOFPrompt:       "exit",
	})
	if err != nil {
		return err
	}
	defer rl.Close()
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
		if a.shellLine(line) == shellExit {
			return nil
		}
	}
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
	}
	// A fresh command tree per line, sharing this app (and its open DB).
	sub := &app{stdin: a.stdin, stdout: a.stdout, stderr: a.stderr, db: a.db, inShell: true}
	root := sub.rootCommand()
	root.SetArgs(args)
	err = root.Execute()
	if sub.report(err) != 0 {
		return shellFailed
	}
	return shellOK
}

// splitArgs splits a line into words, honouring single and double quotes and
// backslash escapes (inside double quotes and bare words).
func splitArgs(line string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for _, r := range line {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in %q", line)
	}
	if inWord {
		args = append(args, cur.String())
	}
	return args, nil
}
