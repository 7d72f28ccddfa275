package contract

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/token"
)

// fastDecode decodes the subset of YAML that contracts are written in, without
// the token stream and syntax tree goccy/go-yaml builds, which were most of the
// cost of loading a registry. It gives the same JSON values and the same
// positions (line and column, in runes, of every mapping key and sequence item,
// by JSON pointer) as decodeYAML does for the same file, or reports false and
// leaves the file to decodeYAML, which then also writes any error message.
// Without all, it records only the positions of property names (the keys of
// mappings under a "properties" key), which order a contract's fields.
//
// The subset: a root mapping, in block or flow style; block mappings and
// sequences (a mapping may start on a sequence item's line); flow mappings and
// sequences on one line, or across lines at the root (JSON files); plain,
// single-quoted and double-quoted scalars on one line; literal and folded block
// scalars with any chomping and no indentation indicator; comments. Anything
// else (anchors, aliases, tags, merge keys, directives, several documents,
// multi-line plain or quoted scalars, complex keys, tabs, duplicate keys,
// unusual escapes) is declined, never guessed at. Plain scalars resolve as goccy
// resolves them, through its own number parser.
func fastDecode(src []byte, positions map[string]Pos, all bool) (map[string]any, bool) {
	if !fastChars(src) {
		return nil, false
	}
	p := &fastYAML{src: src, line: 1, out: positions, all: all}
	if !p.skipToContent() || p.eof {
		return nil, false
	}
	var root any
	var ok bool
	switch p.peek() {
	case '{':
		root, ok = p.flowNode(true)
		if ok && p.skipFlowSpace(true) && p.i < len(p.src) {
			ok = false
		}
	case '[':
		return nil, false // not a contract; decodeYAML words the problem
	default:
		root, ok = p.blockMap(p.ind)
		ok = ok && p.eof
	}
	m, isMap := root.(map[string]any)
	if !ok || !isMap {
		return nil, false
	}
	return m, true
}

// fastChars reports whether src holds only characters the fast decoder treats
// exactly as goccy does: no tabs, carriage returns or other control
// characters, no byte order mark, no Unicode line separators.
func fastChars(src []byte) bool {
	for i := 0; i < len(src); {
		b := src[i]
		if b < utf8.RuneSelf {
			if b < 0x20 && b != '\n' || b == 0x7f {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		switch {
		case r == utf8.RuneError, r >= 0x80 && r <= 0x9f, r == 0xfeff, r == 0xfffe, r == 0xffff, r == 0x2028, r == 0x2029:
			return false
		}
		i += n
	}
	return true
}

// fastMaxDepth bounds nesting on the fast path; deeper documents are left to
// decodeYAML, which reports those beyond maxDepth.
const fastMaxDepth = 64

// fastMaxKey is the longest implicit key YAML allows, in characters; longer
// ones are left to decodeYAML.
const fastMaxKey = 1024

// fastYAML is the decoder's cursor. Every block parser returns positioned at the
// first character of the next line with content (ind is its indentation), or
// with eof set.
type fastYAML struct {
	src  []byte
	i    int // read offset
	line int // 1-based line of i
	bol  int // offset where the line of i begins
	ind  int // indentation of the line with content the cursor is on
	eof  bool
	// A column cache: colN runes lie between bol and colOff.
	colOff, colN int
	out          map[string]Pos
	all          bool   // record every position, not only property names'
	path         []byte // JSON pointer of the node being read
	depth        int
	// The entries of the mappings and the items of the sequences being read,
	// innermost last: each is made at its size once read.
	kvs   []fastKV
	items []any
}

type fastKV struct {
	key string
	val any
}

// propertiesPath ends the pointer of a mapping whose keys are property names.
var propertiesPath = []byte("/properties")

// enterKey adds a mapping key to the path, recording its position at when
// positions of the mapping's keys are recorded. It returns the path's length
// to restore.
func (p *fastYAML) enterKey(key string, at Pos, record bool) int {
	up := len(p.path)
	p.path = append(p.path, '/')
	if strings.ContainsAny(key, "~/") {
		key = escape(key)
	}
	p.path = append(p.path, key...)
	if record || p.all {
		p.out[string(p.path)] = at
	}
	return up
}

// enterItem adds sequence item i to the path, like enterKey.
func (p *fastYAML) enterItem(i int, at Pos) int {
	up := len(p.path)
	p.path = strconv.AppendInt(append(p.path, '/'), int64(i), 10)
	if p.all {
		p.out[string(p.path)] = at
	}
	return up
}

// mapOf makes the mapping whose entries start at base in kvs; false when a key
// repeats (goccy refuses those).
func (p *fastYAML) mapOf(base int) (any, bool) {
	entries := p.kvs[base:]
	m := make(map[string]any, len(entries))
	for _, e := range entries {
		m[e.key] = e.val
	}
	n := len(entries)
	clear(entries)
	p.kvs = p.kvs[:base]
	return m, len(m) == n
}

// listOf makes the sequence whose items start at base in items.
func (p *fastYAML) listOf(base int) (any, bool) {
	list := make([]any, len(p.items)-base)
	copy(list, p.items[base:])
	clear(p.items[base:])
	p.items = p.items[:base]
	return list, true
}

func (p *fastYAML) peek() byte { return p.at(p.i) }

// at returns the byte at offset i, or 0 past the end (fastChars refuses NUL).
func (p *fastYAML) at(i int) byte {
	if i < len(p.src) {
		return p.src[i]
	}
	return 0
}

// pos is the position of offset off, which lies on the cursor's line.
func (p *fastYAML) pos(off int) Pos {
	if p.colOff < p.bol || off < p.colOff {
		p.colOff, p.colN = p.bol, 0
	}
	p.colN += utf8.RuneCount(p.src[p.colOff:off])
	p.colOff = off
	return Pos{Line: p.line, Col: p.colN + 1}
}

// blankAt reports whether offset i ends a token: a space, a line end or the end.
func (p *fastYAML) blankAt(i int) bool {
	c := p.at(i)
	return c == ' ' || c == '\n' || c == 0
}

func (p *fastYAML) skipSpaces() {
	for p.peek() == ' ' {
		p.i++
	}
}

// newline moves past the line end at the cursor.
func (p *fastYAML) newline() {
	p.i++
	p.line++
	p.bol = p.i
}

// endLine accepts the rest of the line when it holds only spaces and a
// comment, and moves to the next line with content.
func (p *fastYAML) endLine() bool {
	p.skipSpaces()
	if p.peek() == '#' {
		if p.i > p.bol && p.src[p.i-1] != ' ' {
			return false // a '#' right after a token is not a comment
		}
		for p.i < len(p.src) && p.src[p.i] != '\n' {
			p.i++
		}
	}
	switch p.peek() {
	case '\n':
		p.newline()
	case 0:
	default:
		return false
	}
	return p.skipToContent()
}

// skipToContent moves from the beginning of a line past blank and comment
// lines to the first character of the next line with content. It refuses
// document markers, which the fast path does not handle.
func (p *fastYAML) skipToContent() bool {
	for {
		if p.i >= len(p.src) {
			p.eof = true
			return true
		}
		p.skipSpaces()
		switch p.peek() {
		case '\n':
			p.newline()
			continue
		case '#':
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.i++
			}
			continue
		case 0:
			continue
		}
		p.ind = p.i - p.bol
		if p.ind == 0 {
			rest := p.src[p.i:]
			if len(rest) >= 3 && (string(rest[:3]) == "---" || string(rest[:3]) == "...") || rest[0] == '%' {
				return false
			}
		}
		return true
	}
}

// enter counts one level of nesting, refusing documents nested deeper than
// the fast path handles.
func (p *fastYAML) enter() bool {
	p.depth++
	return p.depth <= fastMaxDepth
}

// blockMap reads a block mapping whose keys stand at column indent; the cursor
// is on its first key.
func (p *fastYAML) blockMap(indent int) (any, bool) {
	if !p.enter() {
		return nil, false
	}
	defer func() { p.depth-- }()
	props := bytes.HasSuffix(p.path, propertiesPath)
	base := len(p.kvs)
	for {
		key, at, ok := p.key(false)
		if !ok {
			return nil, false
		}
		up := p.enterKey(key, at, props)
		p.i++ // the ':'
		v, ok := p.mapValue(indent)
		p.path = p.path[:up]
		if !ok {
			return nil, false
		}
		p.kvs = append(p.kvs, fastKV{key, v})
		if p.eof || p.ind < indent {
			return p.mapOf(base)
		}
		if p.ind > indent {
			return nil, false
		}
	}
}

// key reads an implicit mapping key, plain or quoted, on one line, leaving the
// cursor on the ':' that follows it. In block context the ':' must be followed
// by a space or the line end; in flow context a quoted key may be followed by
// ':' and the value at once, as in JSON, and a key may have no ':' and no
// value at all, leaving the cursor on the ',' or '}' after it.
func (p *fastYAML) key(flow bool) (string, Pos, bool) {
	start := p.i
	at := p.pos(start)
	var key string
	switch p.peek() {
	case '"', '\'':
		s, ok := p.quoted()
		if !ok {
			return "", at, false
		}
		key = s
		p.skipSpaces()
		switch c := p.peek(); {
		case flow && c == ':' && !p.blankAt(p.i+1):
			// A JSON value right after the ':'; goccy reads others, such
			// as ":/", differently.
			if strings.IndexByte("\"[{-0123456789tfn", p.at(p.i+1)) < 0 {
				return "", at, false
			}
		case flow && (c == ':' || c == ',' || c == '}'):
		case c != ':' || !p.blankAt(p.i+1):
			return "", at, false
		}
	default:
		for {
			c := p.peek()
			if c == ':' && (p.blankAt(p.i+1) || flow && isFlowIndicator(p.at(p.i+1))) {
				break
			}
			if flow && (c == ',' || c == '}') {
				break
			}
			if c == 0 || c == '\n' || strings.IndexByte(":,[]{}#&*!|>'\"%@`", c) >= 0 {
				return "", at, false
			}
			p.i++
		}
		raw := bytes.TrimRight(p.src[start:p.i], " ")
		if len(raw) == 0 || raw[0] == '-' || raw[0] == '?' || bytes.Contains(raw, []byte("<<")) {
			return "", at, false // goccy takes keys such as "0<<" for merge keys
		}
		v, ok := plainValue(raw)
		s, isString := v.(string)
		if !ok || !isString {
			return "", at, false // keys that are not strings are goccy's to judge
		}
		key = s
	}
	if p.i-start > fastMaxKey {
		return "", at, false
	}
	return key, at, true
}

// mapValue reads the value after a block mapping's ':' at the cursor, for a
// mapping whose keys stand at column indent.
func (p *fastYAML) mapValue(indent int) (any, bool) {
	p.skipSpaces()
	switch p.peek() {
	case '\n', 0, '#':
		if !p.endLine() {
			return nil, false
		}
		switch {
		case p.eof || p.ind < indent:
			return nil, true
		case p.ind == indent:
			if p.seqEntry() {
				return p.blockSeq(indent)
			}
			return nil, true
		case p.seqEntry():
			return p.blockSeq(p.ind)
		default:
			return p.blockMap(p.ind)
		}
	}
	return p.inline(indent, false)
}

// seqEntry reports whether the cursor is on a block sequence entry's '-'.
func (p *fastYAML) seqEntry() bool { return p.peek() == '-' && p.blankAt(p.i+1) }

// blockSeq reads a block sequence whose '-' stand at column indent.
func (p *fastYAML) blockSeq(indent int) (any, bool) {
	if !p.enter() {
		return nil, false
	}
	defer func() { p.depth-- }()
	base := len(p.items)
	for {
		p.i++ // the '-'
		p.skipSpaces()
		if c := p.peek(); c == '\n' || c == 0 || c == '#' || p.seqEntry() {
			return nil, false // an item on the lines below, or a nested compact sequence
		}
		var v any
		var ok bool
		if colon, isMap := p.compactKey(); isMap {
			// goccy locates a mapping item at its first ':'.
			up := p.enterItem(len(p.items)-base, p.pos(colon))
			v, ok = p.blockMap(p.i - p.bol)
			p.path = p.path[:up]
		} else {
			up := p.enterItem(len(p.items)-base, p.pos(p.i))
			v, ok = p.inline(indent, true)
			p.path = p.path[:up]
		}
		if !ok {
			return nil, false
		}
		p.items = append(p.items, v)
		if p.eof || p.ind < indent {
			return p.listOf(base)
		}
		if p.ind > indent {
			return nil, false
		}
		if !p.seqEntry() {
			return p.listOf(base) // back to the mapping this sequence is a value of
		}
	}
}

// compactKey reports whether a sequence item starts with a mapping key, and
// the offset of the ':' after it.
func (p *fastYAML) compactKey() (int, bool) {
	save := *p
	_, _, ok := p.key(false)
	colon := p.i
	*p = save
	return colon, ok
}

// inline reads a scalar, a flow collection or a block scalar that starts at
// the cursor, the value of a mapping or sequence (item) whose entries stand at
// column indent, and moves to the next line with content.
func (p *fastYAML) inline(indent int, item bool) (any, bool) {
	var v any
	var ok bool
	switch c := p.peek(); c {
	case '[', '{':
		v, ok = p.flowNode(false)
	case '"', '\'':
		v, ok = p.quotedValue()
	case '|', '>':
		return p.blockScalar(indent)
	default:
		v, ok = p.plain(item)
	}
	if !ok || !p.endLine() {
		return nil, false
	}
	return v, true
}

// plain reads a plain scalar in block context, up to a comment or the line end.
// goccy locates a sequence item with spaces before the line end further right
// by their number; the fast path declines those.
func (p *fastYAML) plain(item bool) (any, bool) {
	if !plainStart(p.src, p.i) {
		return nil, false
	}
	start := p.i
	for {
		c := p.peek()
		if c == 0 || c == '\n' || c == ' ' && p.at(p.i+1) == '#' {
			break
		}
		if c == ':' && p.blankAt(p.i+1) {
			return nil, false // a mapping where a scalar was expected
		}
		p.i++
	}
	if item && p.src[p.i-1] == ' ' && p.peek() != ' ' {
		return nil, false
	}
	return plainValue(p.src[start:p.i])
}

// plainStart reports whether a plain scalar may start at offset i: not with an
// indicator, except '-', '?' and ':' followed by something other than a space.
func plainStart(src []byte, i int) bool {
	if i >= len(src) {
		return false
	}
	c := src[i]
	switch c {
	case '-', '?', ':':
		return i+1 < len(src) && src[i+1] != ' ' && src[i+1] != '\n' && !isFlowIndicator(src[i+1])
	case ' ', '\n', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '#', ',', '[', ']', '{', '}':
		return false
	}
	return true
}

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'
}

// quoted reads a single- or double-quoted scalar that ends on its line.
func (p *fastYAML) quoted() (string, bool) {
	q := p.peek()
	p.i++
	start := p.i
	var b []byte // nil until an escape makes the value differ from the source
	for {
		if p.i >= len(p.src) || p.src[p.i] == '\n' {
			return "", false
		}
		c := p.src[p.i]
		switch {
		case c == q && q == '\'' && p.at(p.i+1) == '\'':
			b = append(append(b, p.src[start:p.i]...), '\'')
			p.i += 2
			start = p.i
			continue
		case c == q:
			var s string
			if b == nil {
				s = interned(p.src[start:p.i])
			} else {
				s = string(append(b, p.src[start:p.i]...))
			}
			p.i++
			return s, true
		case c == '\\' && q == '"':
			b = append(b, p.src[start:p.i]...)
			var ok bool
			if b, ok = p.escape(b); !ok {
				return "", false
			}
			start = p.i
			continue
		}
		p.i++
	}
}

// quotedValue is quoted, boxed once for the values contracts repeat.
func (p *fastYAML) quotedValue() (any, bool) {
	s, ok := p.quoted()
	if v, common := fastInterned[s]; common {
		return v, ok
	}
	return s, ok
}

// escape appends the character of the escape sequence at the cursor to b.
// Only the escapes JSON has are handled, \u without surrogates.
func (p *fastYAML) escape(b []byte) ([]byte, bool) {
	c := p.at(p.i + 1)
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return append(b, c), true
	case 'n':
		return append(b, '\n'), true
	case 't':
		return append(b, '\t'), true
	case 'r':
		return append(b, '\r'), true
	case 'b':
		return append(b, '\b'), true
	case 'f':
		return append(b, '\f'), true
	case 'u':
		if p.i+4 > len(p.src) {
			return b, false
		}
		r, err := strconv.ParseUint(string(p.src[p.i:p.i+4]), 16, 32)
		if err != nil || r >= 0xd800 && r <= 0xdfff {
			return b, false
		}
		p.i += 4
		return utf8.AppendRune(b, rune(r)), true
	}
	return b, false
}

// blockScalar reads a literal (|) or folded (>) block scalar whose header is
// at the cursor, the value of an entry at column indent.
func (p *fastYAML) blockScalar(indent int) (any, bool) {
	folded := p.peek() == '>'
	p.i++
	chomp := byte(0)
	if c := p.peek(); c == '-' || c == '+' {
		chomp = c
		p.i++
	}
	if !p.blankAt(p.i) {
		return nil, false // an indentation indicator, or more
	}
	// The rest of the header line: spaces and a comment.
	p.skipSpaces()
	if p.peek() == '#' {
		for p.i < len(p.src) && p.src[p.i] != '\n' {
			p.i++
		}
	}
	if p.peek() != '\n' {
		return nil, false
	}
	p.newline()
	var lines []string // content lines, "" for empty ones
	content := -1      // the content's indentation
	breaks := 0        // line breaks since the last line with content
	for p.i < len(p.src) {
		end := p.i
		for end < len(p.src) && p.src[end] != '\n' {
			end++
		}
		spaces := 0
		for p.i+spaces < end && p.src[p.i+spaces] == ' ' {
			spaces++
		}
		if p.i+spaces == end { // an empty line
			if content < 0 || spaces > content {
				return nil, false // leading empty lines, or one with spaces as content
			}
			lines = append(lines, "")
		} else {
			if content < 0 {
				if spaces <= indent {
					break
				}
				content = spaces
			}
			if spaces < content {
				break
			}
			line := string(p.src[p.i+content : end])
			if folded && line[0] == ' ' || line[len(line)-1] == ' ' {
				// More-indented lines fold differently, and goccy trims
				// trailing spaces in places.
				return nil, false
			}
			lines = append(lines, line)
			breaks = 0
		}
		p.i = end
		if p.i < len(p.src) {
			p.newline()
			breaks++
		}
	}
	if content < 0 || breaks == 0 {
		// No content, or the file ends inside the last line, where goccy
		// neither folds nor keeps trailing spaces.
		return nil, false
	}
	trailing := 0
	for trailing < len(lines) && lines[len(lines)-1-trailing] == "" {
		trailing++
	}
	body := lines[:len(lines)-trailing]
	var b strings.Builder
	for i, line := range body {
		switch {
		case i == 0:
		case !folded:
			b.WriteByte('\n')
		case line == "":
			// Each empty line between folded lines is a line break; the
			// break before the first of them is folded away.
			b.WriteByte('\n')
		case body[i-1] == "":
		default:
			b.WriteByte(' ')
		}
		b.WriteString(line)
	}
	switch {
	case chomp == '+':
		b.WriteString(strings.Repeat("\n", breaks))
	case chomp == 0 && breaks > 0:
		b.WriteByte('\n')
	}
	if !p.skipToContent() {
		return nil, false
	}
	return b.String(), true
}

// flowNode reads a flow collection or a scalar inside one. Only the root may
// span lines (a JSON file); elsewhere a flow collection ends on its line.
func (p *fastYAML) flowNode(multiline bool) (any, bool) {
	switch p.peek() {
	case '[':
		return p.flowSeq(multiline)
	case '{':
		return p.flowMap(multiline)
	case '"', '\'':
		return p.quotedValue()
	}
	return p.flowPlain()
}

// skipFlowSpace skips spaces, and when multiline line ends and comments too.
func (p *fastYAML) skipFlowSpace(multiline bool) bool {
	for {
		switch p.peek() {
		case ' ':
			p.i++
		case '\n':
			if !multiline {
				return false
			}
			p.newline()
		case '#':
			if !multiline || p.i > p.bol && p.src[p.i-1] != ' ' {
				return false
			}
			for p.i < len(p.src) && p.src[p.i] != '\n' {
				p.i++
			}
		default:
			return true
		}
	}
}

func (p *fastYAML) flowSeq(multiline bool) (any, bool) {
	if !p.enter() {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // '['
	base := len(p.items)
	if !p.skipFlowSpace(multiline) {
		return nil, false
	}
	if p.peek() == ']' {
		p.i++
		return p.listOf(base)
	}
	for {
		up := p.enterItem(len(p.items)-base, p.pos(p.i))
		v, ok := p.flowNode(multiline)
		p.path = p.path[:up]
		if !ok || !p.skipFlowSpace(multiline) {
			return nil, false
		}
		p.items = append(p.items, v)
		if end, ok := p.flowNext(']', multiline); !ok {
			return nil, false
		} else if end {
			return p.listOf(base)
		}
	}
}

// flowNext moves past the ',' after a flow collection's entry, or the
// collection's closing bracket, reporting which; a trailing ',' is declined.
func (p *fastYAML) flowNext(closing byte, multiline bool) (end, ok bool) {
	switch p.peek() {
	case ',':
		p.i++
		return false, p.skipFlowSpace(multiline) && p.peek() != closing
	case closing:
		p.i++
		return true, true
	}
	return false, false
}

func (p *fastYAML) flowMap(multiline bool) (any, bool) {
	if !p.enter() {
		return nil, false
	}
	defer func() { p.depth-- }()
	p.i++ // '{'
	props := bytes.HasSuffix(p.path, propertiesPath)
	base := len(p.kvs)
	if !p.skipFlowSpace(multiline) {
		return nil, false
	}
	if p.peek() == '}' {
		p.i++
		return p.mapOf(base)
	}
	for {
		key, at, ok := p.key(true)
		if !ok {
			return nil, false
		}
		up := p.enterKey(key, at, props)
		var v any // null for a key without a value: {a, b: c}
		if p.peek() == ':' {
			p.i++
			if !p.skipFlowSpace(multiline) {
				return nil, false
			}
			if c := p.peek(); c == ',' || c == '}' {
				return nil, false // a ':' and no value
			}
			if v, ok = p.flowNode(multiline); !ok || !p.skipFlowSpace(multiline) {
				return nil, false
			}
		}
		p.path = p.path[:up]
		p.kvs = append(p.kvs, fastKV{key, v})
		if end, ok := p.flowNext('}', multiline); !ok {
			return nil, false
		} else if end {
			return p.mapOf(base)
		}
	}
}

// flowPlain reads a plain scalar inside a flow collection: it ends before a
// flow indicator, a comment or the line end, and holds no ':'.
func (p *fastYAML) flowPlain() (any, bool) {
	if !plainStart(p.src, p.i) {
		return nil, false
	}
	start := p.i
	for {
		c := p.peek()
		if c == 0 || c == '\n' || isFlowIndicator(c) || c == ' ' && p.at(p.i+1) == '#' {
			break
		}
		if c == ':' {
			// A single-pair mapping, a key without a value, or (for goccy,
			// as in JSON) a key and its value: "a:b" is never a string here.
			return nil, false
		}
		p.i++
	}
	return plainValue(p.src[start:p.i])
}

// plainValue resolves a plain scalar, its trailing spaces trimmed, without a
// copy for the keywords and values contracts repeat.
func plainValue(b []byte) (any, bool) {
	b = bytes.TrimRight(b, " ")
	if v, ok := fastInterned[string(b)]; ok {
		return v, true
	}
	return resolvePlain(string(b))
}

// interned returns b as a string, without a copy when contracts repeat it.
func interned(b []byte) string {
	if v, ok := fastInterned[string(b)]; ok {
		return v.(string)
	}
	return string(b)
}

// fastInterned holds the keywords and values that every contract repeats, each
// stored once and boxed once: a loaded registry shares them instead of holding
// a copy per contract. Each resolves to itself as a plain scalar.
var fastInterned = func() map[string]any {
	words := []string{
		// JSON Schema keywords.
		"$schema", "$id", "$ref", "$defs", "$comment", "$anchor", "definitions", "id",
		"title", "description", "type", "enum", "const", "default", "examples",
		"properties", "required", "additionalProperties", "patternProperties",
		"propertyNames", "minProperties", "maxProperties", "dependentRequired",
		"items", "prefixItems", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains",
		"minLength", "maxLength", "pattern", "format",
		"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
		"allOf", "anyOf", "oneOf", "not", "if", "then", "else",
		"deprecated", "readOnly", "writeOnly", "unevaluatedProperties", "unevaluatedItems",
		// Types and formats.
		"string", "integer", "number", "boolean", "object", "array",
		"date-time", "date", "time", "duration", "email", "uuid", "uri", "uri-reference",
		"hostname", "ipv4", "ipv6", "regex",
		// Dialects.
		"https://json-schema.org/draft/2020-12/schema",
		"http://json-schema.org/draft-07/schema#", "http://json-schema.org/draft-04/schema#",
		IgluMetaSchema,
		// Accord's annotations and their values.
		"self", "vendor", "name", "version", "jsonschema",
		"x-owner", "team", "contact", "x-lifecycle", "status", "retention", "replaced_by",
		"x-privacy", "controller", "subject", "field", "x-event-names",
		"x-pii", "kind", "handling",
		"drop", "hash", "keep", "obfuscate", "tokenize",
		"active", "retired",
		"address", "advertising_id", "date_of_birth", "device_id", "free_text", "geo",
		"government_id", "ip", "other", "payment_card", "phone", "postal_code", "url",
		"user_agent", "user_id",
	}
	m := make(map[string]any, len(words))
	for _, w := range words {
		m[w] = w
	}
	return m
}()

// resolvePlain gives a plain scalar's JSON value under the YAML 1.2 core schema
// as goccy resolves it: null and boolean keywords, numbers through goccy's own
// parser (so 017 is octal and 1e5 a string, as there), strings otherwise. It
// declines infinities and NaN, which JSON cannot hold; decodeYAML reports them.
func resolvePlain(s string) (any, bool) {
	switch s {
	case "":
		return nil, false
	case "null", "Null", "NULL", "~":
		return nil, true
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	case ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
		return nil, false
	}
	if !numberLike(s) {
		return s, true
	}
	num := token.ToNumber(s)
	if num == nil {
		return s, true
	}
	switch v := num.Value.(type) {
	case uint64:
		return json.Number(strconv.FormatUint(v, 10)), true
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), true
	case float64:
		// What decodeYAML makes of a float: its JSON encoding.
		js, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		return json.Number(js), true
	}
	return nil, false
}

// numberLike reports whether s has a digit and only characters that goccy's
// number parser can accept (digits, signs, separators, base prefixes,
// exponents, and the letters of strconv's inf and nan), so that other strings
// skip it. Every number it accepts has a digit: inf and nan only parse
// without a '.', which sends them to its integer parsers.
func numberLike(s string) bool {
	digit := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			digit = true
		} else if strings.IndexByte("+-._xXoObBeEpPaAcCdDfFiInNtTyY", c) < 0 {
			return false
		}
	}
	return digit
}
