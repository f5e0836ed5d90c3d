package server

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// generate7Seq draws n commands of the Redis 6.2/7.0 multi-key families
// (LMPOP, ZMPOP and their blocking forms, ZDIFF, ZDIFFSTORE, ZINTERCARD,
// SINTERCARD, ZRANGESTORE) with the writes that feed them, over keys of
// every type, valid and not. A blocking form either finds an element, is
// inside MULTI, or waits 10 ms on both servers.
func generate7Seq(seed uint64, n int) diffSeq {
	r := rand.New(rand.NewPCG(seed, 70))
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	key := func() string { return pick("a", "b", "c", "d", "e") }
	mem := func() string { return pick("m1", "m2", "m3", "m4", "x") }
	score := func() string { return pick("1", "2", "1.5", "-1", "0", "inf", "-inf", "3") }
	num := func() string { return pick("1", "2", "3", "0", "-1", "x") }
	count := func() []string {
		if r.IntN(2) == 0 {
			return nil
		}
		return []string{"COUNT", pick("1", "2", "10", "0", "-1", "x")}
	}
	seq := diffSeq{name: fmt.Sprintf("generated-7.0-%d", seed)}
	add := func(mode string, args ...string) {
		seq.steps = append(seq.steps, diffStep{mode: mode, args: args, line: len(seq.steps) + 1})
	}
	keysN := func(numkeys string) []string {
		k, err := fmtAtoi(numkeys)
		if err != nil || k < 1 {
			k = 1
		}
		k += r.IntN(2) - r.IntN(2) // now and then one too few or too many
		out := []string{}
		for i := 0; i < k; i++ {
			out = append(out, key())
		}
		return out
	}
	inMulti := false
	for i := 0; i < n; i++ {
		switch r.IntN(16) {
		case 0, 1:
			add("", pick("LPUSH", "RPUSH"), key(), mem(), mem())
		case 2, 3:
			add("", "ZADD", key(), score(), mem(), score(), mem())
		case 4:
			add("", "SADD", key(), mem(), mem())
		case 5:
			nk := num()
			args := append([]string{"LMPOP", nk}, keysN(nk)...)
			args = append(args, pick("LEFT", "RIGHT", "left", "MIN"))
			add("", append(args, count()...)...)
		case 6:
			nk := num()
			args := append([]string{"ZMPOP", nk}, keysN(nk)...)
			args = append(args, pick("MIN", "MAX", "max", "LEFT"))
			add("", append(args, count()...)...)
		case 7:
			name, end := "BLMPOP", pick("LEFT", "RIGHT")
			if r.IntN(2) == 0 {
				name, end = "BZMPOP", pick("MIN", "MAX")
			}
			timeout := "0.01"
			if inMulti {
				timeout = "0"
			}
			nk := pick("1", "2")
			args := append([]string{name, timeout, nk}, keysN(nk)...)
			add("", append(append(args, end), count()...)...)
		case 8:
			nk := num()
			add("", append(append([]string{"ZDIFF", nk}, keysN(nk)...), pick("", "WITHSCORES"))...)
		case 9:
			nk := num()
			add("", append([]string{"ZDIFFSTORE", key(), nk}, keysN(nk)...)...)
		case 10:
			nk := num()
			args := append([]string{pick("ZINTERCARD", "SINTERCARD"), nk}, keysN(nk)...)
			if r.IntN(2) == 0 {
				args = append(args, "LIMIT", pick("0", "1", "2", "-1"))
			}
			add("", args...)
		case 11:
			add("", "ZRANGESTORE", key(), key(), pick("0", "1", "-1", "(1", "-inf"), pick("-1", "2", "+inf", "x"),
				pick("", "BYSCORE", "REV", "BYSCORE LIMIT 0 2", "BYSCORE REV"))
		case 12:
			add("", "ZRANGE", key(), "0", "-1", "WITHSCORES")
		case 13:
			add("", "LRANGE", key(), "0", "-1")
		case 14:
			add("", pick("TYPE", "DEL", "SET"), key(), "v")
		case 15:
			if inMulti {
				add("", "EXEC")
			} else {
				add("", "MULTI")
			}
			inMulti = !inMulti
		}
		st := &seq.steps[len(seq.steps)-1]
		var args []string
		for _, a := range st.args {
			switch {
			case a == "":
			case strings.Contains(a, " "):
				args = append(args, strings.Fields(a)...)
			default:
				args = append(args, a)
			}
		}
		if (args[0] == "TYPE" || args[0] == "DEL") && len(args) == 3 {
			args = args[:2]
		}
		st.args = args
		if inMulti && st.mode != "" {
			st.mode, st.args = "", []string{"DBSIZE"}
		}
	}
	if inMulti {
		add("", "EXEC")
	}
	return seq
}

func fmtAtoi(s string) (int, error) {
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	return n, err
}
