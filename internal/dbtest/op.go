package dbtest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what an operation does.
type Kind uint8

// The operation kinds, one per script verb.
const (
	OpPut Kind = iota + 1
	OpDelete
	OpDeleteRange
	OpIncr
	OpExpire
	OpPutItem
	OpDeleteItem
	OpBatch
	OpGet
	OpGetItem
	OpTTL
	OpQuery
	OpIter
	OpSnapshot
	OpCloseSnapshot
	OpFlush
	OpCompact
	OpReopen
	OpAdvance
)

var kindNames = [...]string{
	OpPut: "put", OpDelete: "delete", OpDeleteRange: "delete-range", OpIncr: "incr",
	OpExpire: "expire", OpPutItem: "put-item", OpDeleteItem: "delete-item", OpBatch: "batch",
	OpGet: "get", OpGetItem: "get-item", OpTTL: "ttl", OpQuery: "query", OpIter: "iter",
	OpSnapshot: "snapshot", OpCloseSnapshot: "close-snapshot", OpFlush: "flush",
	OpCompact: "compact", OpReopen: "reopen", OpAdvance: "advance",
}

// String returns the script verb of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsWrite reports whether k changes the data (a batch included).
func (k Kind) IsWrite() bool {
	switch k {
	case OpPut, OpDelete, OpDeleteRange, OpIncr, OpExpire, OpPutItem, OpDeleteItem, OpBatch:
		return true
	}
	return false
}

// IsRead reports whether k answers with data rather than "ok" (a read, or
// incr, which answers the new count).
func (k Kind) IsRead() bool {
	switch k {
	case OpGet, OpGetItem, OpTTL, OpQuery, OpIter, OpIncr:
		return true
	}
	return false
}

// CondKind is the condition on a write.
type CondKind uint8

// The conditions: none, IfAbsent, IfPresent and IfValue.
const (
	CondNone CondKind = iota
	CondAbsent
	CondPresent
	CondValue
)

// Cond is a write's condition; Value is IfValue's operand.
type Cond struct {
	Kind  CondKind
	Value []byte
}

// StepKind is one positioning call of an iteration.
type StepKind uint8

// The iterator steps.
const (
	StepFirst StepKind = iota + 1
	StepLast
	StepNext
	StepPrev
	StepSeekGE
	StepSeekLT
)

var stepNames = [...]string{StepFirst: "first", StepLast: "last", StepNext: "next", StepPrev: "prev", StepSeekGE: "seek-ge", StepSeekLT: "seek-lt"}

// Step is one positioning call; Key is the seek key.
type Step struct {
	Kind StepKind
	Key  []byte
}

// QuerySpec is a Query's selection; nil fields are absent.
type QuerySpec struct {
	BeginsWith, From, To, After []byte
	Reverse                     bool
	Limit                       int
}

// Op is one operation of a script. Which fields mean something depends on
// Kind; the others are zero.
type Op struct {
	Kind Kind
	// Key is the key; for items, the partition key; for delete-range and
	// compact, the start of the range.
	Key []byte
	// SK is an item's sort key.
	SK []byte
	// Value is the value written.
	Value []byte
	// End is the end of a delete-range or compact range.
	End []byte
	// TTL is a write's time to live (0: none), expire's TTL, or the time
	// advance moves the clock by.
	TTL time.Duration
	// Cond is a write's condition.
	Cond Cond
	// Delta is incr's operand.
	Delta int64
	// Snap names the snapshot a snapshot op creates or closes, or a read
	// reads at ("" for the DB itself).
	Snap string
	// Batch holds the operations of a batch.
	Batch []Op
	// Lower and Upper bound an iteration (nil: unbounded); Steps are its
	// positioning calls.
	Lower, Upper []byte
	Steps        []Step
	// Query is a query's selection.
	Query QuerySpec
}

// Clone returns a deep copy of op.
func (op Op) Clone() Op {
	c := op
	c.Key, c.SK, c.Value, c.End = clone(op.Key), clone(op.SK), clone(op.Value), clone(op.End)
	c.Cond.Value = clone(op.Cond.Value)
	c.Lower, c.Upper = clone(op.Lower), clone(op.Upper)
	c.Query.BeginsWith, c.Query.From = clone(op.Query.BeginsWith), clone(op.Query.From)
	c.Query.To, c.Query.After = clone(op.Query.To), clone(op.Query.After)
	if op.Batch != nil {
		c.Batch = make([]Op, len(op.Batch))
		for i, b := range op.Batch {
			c.Batch[i] = b.Clone()
		}
	}
	if op.Steps != nil {
		c.Steps = make([]Step, len(op.Steps))
		for i, s := range op.Steps {
			c.Steps[i] = Step{s.Kind, clone(s.Key)}
		}
	}
	return c
}

// clone copies b, keeping nil nil and empty non-nil.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// String prints op as its script line.
func (op Op) String() string {
	var b strings.Builder
	op.print(&b)
	return b.String()
}

func (op Op) print(b *strings.Builder) {
	b.WriteString(op.Kind.String())
	arg := func(s string) { b.WriteByte(' '); b.WriteString(s) }
	named := func(name string, v []byte) {
		if v != nil {
			arg(name + "=" + FormatKey(v))
		}
	}
	opts := func() {
		if op.TTL != 0 {
			arg("ttl=" + op.TTL.String())
		}
		switch op.Cond.Kind {
		case CondAbsent:
			arg("if-absent")
		case CondPresent:
			arg("if-present")
		case CondValue:
			arg("if-value=" + FormatValue(op.Cond.Value))
		}
	}
	at := func() {
		if op.Snap != "" {
			arg("at=" + op.Snap)
		}
	}
	switch op.Kind {
	case OpPut:
		arg(FormatKey(op.Key))
		arg(FormatValue(op.Value))
		opts()
	case OpDelete:
		arg(FormatKey(op.Key))
		opts()
	case OpDeleteRange:
		arg(FormatKey(op.Key))
		arg(FormatKey(op.End))
	case OpIncr:
		arg(FormatKey(op.Key))
		arg(strconv.FormatInt(op.Delta, 10))
		opts()
	case OpExpire:
		arg(FormatKey(op.Key))
		arg(op.TTL.String())
	case OpPutItem:
		arg(FormatKey(op.Key))
		arg(FormatKey(op.SK))
		arg(FormatValue(op.Value))
		opts()
	case OpDeleteItem:
		arg(FormatKey(op.Key))
		arg(FormatKey(op.SK))
		opts()
	case OpBatch:
		b.WriteByte(':')
		for i, sub := range op.Batch {
			if i > 0 {
				b.WriteString(" ;")
			}
			b.WriteByte(' ')
			sub.print(b)
		}
	case OpGet, OpTTL:
		arg(FormatKey(op.Key))
		at()
	case OpGetItem:
		arg(FormatKey(op.Key))
		arg(FormatKey(op.SK))
		at()
	case OpQuery:
		arg(FormatKey(op.Key))
		q := op.Query
		named("begins", q.BeginsWith)
		named("from", q.From)
		named("to", q.To)
		named("after", q.After)
		if q.Reverse {
			arg("reverse")
		}
		if q.Limit != 0 {
			arg("limit=" + strconv.Itoa(q.Limit))
		}
	case OpIter:
		named("lower", op.Lower)
		named("upper", op.Upper)
		at()
		b.WriteByte(':')
		for _, s := range op.Steps {
			arg(stepNames[s.Kind])
			if s.Kind == StepSeekGE || s.Kind == StepSeekLT {
				arg(FormatKey(s.Key))
			}
		}
	case OpSnapshot, OpCloseSnapshot:
		arg(op.Snap)
	case OpCompact:
		if op.Key != nil || op.End != nil {
			arg(FormatKey(op.Key))
			arg(FormatKey(op.End))
		}
	case OpAdvance:
		arg(op.TTL.String())
	}
}

// FormatScript prints ops one a line.
func FormatScript(ops []Op) string {
	var b strings.Builder
	for _, op := range ops {
		op.print(&b)
		b.WriteByte('\n')
	}
	return b.String()
}

// bare reports whether b prints without quotes.
func bare(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '.', c == '#', c == '/', c == '+':
		default:
			return false
		}
	}
	return true
}

// FormatKey prints a key (or any byte string) as a script token.
func FormatKey(b []byte) string {
	if bare(b) {
		return string(b)
	}
	return strconv.Quote(string(b))
}

// minPad is the shortest run of trailing dots FormatValue abbreviates.
const minPad = 8

// FormatValue prints a value as a script token: as FormatKey, except that
// a bare prefix followed by at least 8 dots prints as prefix*length.
func FormatValue(b []byte) string {
	p := bytes.TrimRight(b, ".")
	if len(p) > 0 && len(b)-len(p) >= minPad && bare(p) {
		return string(p) + "*" + strconv.Itoa(len(b))
	}
	return FormatKey(b)
}

// PadValue returns prefix followed by dots up to n bytes (prefix itself if
// it is that long already): the value FormatValue prints as prefix*n.
func PadValue(prefix string, n int) []byte {
	v := []byte(prefix)
	for len(v) < n {
		v = append(v, '.')
	}
	return v
}

// ParseScript parses a script: one operation a line; blank lines and lines
// starting with # are skipped.
func ParseScript(s string) ([]Op, error) {
	var ops []Op
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		op, err := Parse(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// token is one word of a line: its text (unquoted), whether it held a
// quoted string, and whether it ended with a ':' outside quotes.
type token struct {
	text   string
	quoted bool
	colon  bool
}

// tokenize splits a line into words. A word is a run of non-space bytes in
// which a double-quoted string (after "name=" or on its own) may hold
// spaces; a trailing ':' outside quotes ends the word and is noted.
func tokenize(line string) ([]token, error) {
	var out []token
	for i := 0; i < len(line); {
		if line[i] == ' ' || line[i] == '\t' {
			i++
			continue
		}
		var raw strings.Builder
		t := token{}
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			if line[i] == '"' {
				q, err := strconv.QuotedPrefix(line[i:])
				if err != nil {
					return nil, fmt.Errorf("bad quoted string at %q", line[i:])
				}
				s, _ := strconv.Unquote(q)
				raw.WriteString(s)
				t.quoted = true
				i += len(q)
				continue
			}
			if line[i] == ':' && raw.Len()+boolInt(t.quoted) > 0 && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t') {
				t.colon = true
				i++
				break
			}
			raw.WriteByte(line[i])
			i++
		}
		t.text = raw.String()
		out = append(out, t)
	}
	return out, nil
}

// parser consumes the tokens of one operation.
type parser struct {
	toks []token
	pos  int
}

func (p *parser) more() bool { return p.pos < len(p.toks) }

func (p *parser) next(what string) (token, error) {
	if !p.more() {
		return token{}, fmt.Errorf("missing %s", what)
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

// key reads a key token.
func (p *parser) key(what string) ([]byte, error) {
	t, err := p.next(what)
	if err != nil {
		return nil, err
	}
	return []byte(t.text), nil
}

// value reads a value token, expanding prefix*n.
func (p *parser) value(what string) ([]byte, error) {
	t, err := p.next(what)
	if err != nil {
		return nil, err
	}
	return parseValue(t)
}

func parseValue(t token) ([]byte, error) {
	if !t.quoted {
		if i := strings.LastIndexByte(t.text, '*'); i > 0 {
			n, err := strconv.Atoi(t.text[i+1:])
			if err != nil || n < i || n > 1<<28 {
				return nil, fmt.Errorf("bad padded value %q", t.text)
			}
			return PadValue(t.text[:i], n), nil
		}
	}
	return []byte(t.text), nil
}

// Parse parses one script line.
func Parse(line string) (Op, error) {
	toks, err := tokenize(line)
	if err != nil {
		return Op{}, err
	}
	if len(toks) == 0 {
		return Op{}, fmt.Errorf("empty line")
	}
	p := &parser{toks: toks}
	op, err := p.op()
	if err != nil {
		return Op{}, fmt.Errorf("%q: %w", line, err)
	}
	if p.more() {
		return Op{}, fmt.Errorf("%q: unexpected %q", line, p.toks[p.pos].text)
	}
	return op, nil
}

var kindByName = func() map[string]Kind {
	m := map[string]Kind{}
	for k, n := range kindNames {
		if n != "" {
			m[n] = Kind(k)
		}
	}
	return m
}()

// op parses one operation; inside a batch it stops at ";".
func (p *parser) op() (Op, error) {
	verb, err := p.next("operation")
	if err != nil {
		return Op{}, err
	}
	kind, ok := kindByName[verb.text]
	if !ok || verb.quoted {
		return Op{}, fmt.Errorf("unknown operation %q", verb.text)
	}
	switch {
	case kind == OpBatch && !verb.colon:
		return Op{}, fmt.Errorf("batch needs a ':'")
	case kind != OpBatch && kind != OpIter && verb.colon:
		return Op{}, fmt.Errorf("unexpected ':' after %s", kind)
	}
	op := Op{Kind: kind}
	switch kind {
	case OpPut, OpPutItem:
		if op.Key, err = p.key("key"); err != nil {
			return op, err
		}
		if kind == OpPutItem {
			if op.SK, err = p.key("sort key"); err != nil {
				return op, err
			}
		}
		if op.Value, err = p.value("value"); err != nil {
			return op, err
		}
		return op, p.writeOpts(&op, true)
	case OpDelete, OpDeleteItem:
		if op.Key, err = p.key("key"); err != nil {
			return op, err
		}
		if kind == OpDeleteItem {
			if op.SK, err = p.key("sort key"); err != nil {
				return op, err
			}
		}
		return op, p.writeOpts(&op, false)
	case OpDeleteRange:
		if op.Key, err = p.key("start"); err != nil {
			return op, err
		}
		op.End, err = p.key("end")
		return op, err
	case OpIncr:
		if op.Key, err = p.key("key"); err != nil {
			return op, err
		}
		t, err := p.next("delta")
		if err != nil {
			return op, err
		}
		if op.Delta, err = strconv.ParseInt(t.text, 10, 64); err != nil {
			return op, fmt.Errorf("bad delta %q", t.text)
		}
		return op, p.writeOpts(&op, true)
	case OpExpire:
		if op.Key, err = p.key("key"); err != nil {
			return op, err
		}
		op.TTL, err = p.duration()
		return op, err
	case OpAdvance:
		op.TTL, err = p.duration()
		return op, err
	case OpBatch:
		op.Batch = []Op{}
		for p.more() {
			sub, err := p.op()
			if err != nil {
				return op, err
			}
			switch sub.Kind {
			case OpPut, OpDelete, OpDeleteRange, OpPutItem, OpDeleteItem:
			default:
				return op, fmt.Errorf("%s in a batch", sub.Kind)
			}
			op.Batch = append(op.Batch, sub)
			if p.more() {
				if t := p.toks[p.pos]; t.text != ";" || t.quoted {
					return op, fmt.Errorf("want ';' between batch operations, got %q", t.text)
				}
				p.pos++
			}
		}
		return op, nil
	case OpGet, OpTTL, OpGetItem:
		if op.Key, err = p.key("key"); err != nil {
			return op, err
		}
		if kind == OpGetItem {
			if op.SK, err = p.key("sort key"); err != nil {
				return op, err
			}
		}
		if kind != OpTTL && p.more() {
			t := p.toks[p.pos]
			if name, ok := strings.CutPrefix(t.text, "at="); ok && !t.quoted {
				op.Snap = name
				p.pos++
			}
		}
		return op, nil
	case OpQuery:
		if op.Key, err = p.key("partition key"); err != nil {
			return op, err
		}
		for p.more() {
			t := p.toks[p.pos]
			name, val, _ := strings.Cut(t.text, "=")
			switch name {
			case "begins":
				op.Query.BeginsWith = []byte(val)
			case "from":
				op.Query.From = []byte(val)
			case "to":
				op.Query.To = []byte(val)
			case "after":
				op.Query.After = []byte(val)
			case "reverse":
				op.Query.Reverse = true
			case "limit":
				if op.Query.Limit, err = strconv.Atoi(val); err != nil {
					return op, fmt.Errorf("bad limit %q", val)
				}
			default:
				return op, fmt.Errorf("unknown query argument %q", t.text)
			}
			p.pos++
		}
		return op, nil
	case OpIter:
		for !verb.colon {
			t, err := p.next("':' ending the iterator's arguments")
			if err != nil {
				return op, err
			}
			name, val, _ := strings.Cut(t.text, "=")
			switch name {
			case "lower":
				op.Lower = []byte(val)
			case "upper":
				op.Upper = []byte(val)
			case "at":
				op.Snap = val
			default:
				return op, fmt.Errorf("unknown iterator argument %q", t.text)
			}
			verb.colon = t.colon
		}
		for p.more() {
			t, _ := p.next("")
			var s Step
			for k, n := range stepNames {
				if n == t.text && n != "" {
					s.Kind = StepKind(k)
				}
			}
			switch s.Kind {
			case 0:
				return op, fmt.Errorf("unknown iterator step %q", t.text)
			case StepSeekGE, StepSeekLT:
				if s.Key, err = p.key("seek key"); err != nil {
					return op, err
				}
			}
			op.Steps = append(op.Steps, s)
		}
		return op, nil
	case OpSnapshot, OpCloseSnapshot:
		t, err := p.next("snapshot name")
		if err != nil {
			return op, err
		}
		op.Snap = t.text
		return op, nil
	case OpCompact:
		if p.more() {
			if op.Key, err = p.key("lower key"); err != nil {
				return op, err
			}
			if op.End, err = p.key("upper key"); err != nil {
				return op, err
			}
		}
		return op, nil
	}
	return op, nil // flush, reopen
}

// writeOpts parses a write's ttl= and condition, up to a batch's ';'.
func (p *parser) writeOpts(op *Op, ttl bool) error {
	for p.more() {
		t := p.toks[p.pos]
		if t.text == ";" && !t.quoted {
			return nil
		}
		name, val, hasVal := strings.Cut(t.text, "=")
		setCond := func(c Cond) error {
			if op.Cond.Kind != CondNone {
				return fmt.Errorf("two conditions")
			}
			op.Cond = c
			return nil
		}
		var err error
		switch {
		case name == "ttl" && hasVal && ttl:
			op.TTL, err = time.ParseDuration(val)
		case t.text == "if-absent":
			err = setCond(Cond{Kind: CondAbsent})
		case t.text == "if-present":
			err = setCond(Cond{Kind: CondPresent})
		case name == "if-value" && hasVal:
			v, perr := parseValue(token{text: val, quoted: t.quoted})
			if perr != nil {
				return perr
			}
			err = setCond(Cond{Kind: CondValue, Value: v})
		default:
			return fmt.Errorf("unknown write option %q", t.text)
		}
		if err != nil {
			return err
		}
		p.pos++
	}
	return nil
}

func (p *parser) duration() (time.Duration, error) {
	t, err := p.next("duration")
	if err != nil {
		return 0, err
	}
	d, err := time.ParseDuration(t.text)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", t.text)
	}
	return d, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
