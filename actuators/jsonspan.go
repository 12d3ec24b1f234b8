package actuators

import (
	"encoding/json"
	"fmt"
)

// jnode is a JSON value with the byte span it occupies in its document:
// enough to find a field and replace it in place. kind is '{', '[', '"',
// 'n' (number) or 'l' (true, false, null).
type jnode struct {
	kind       byte
	start, end int
	keys       []*jnode // object members' keys, in order
	vals       []*jnode // object members' values
	names      []string // decoded keys
	items      []*jnode // array elements
}

// member is the value of key in an object; a duplicated key yields the
// last one, as Step Functions' JSON reader does.
func (n *jnode) member(key string) *jnode {
	var v *jnode
	for i, k := range n.names {
		if k == key {
			v = n.vals[i]
		}
	}
	return v
}

// maxJSONDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxJSONDepth = 256

// parseJSON parses one JSON document into spans.
func parseJSON(s string) (*jnode, error) {
	p := &jparser{s: s}
	p.ws()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(s) {
		return nil, p.errf("unexpected %q after the document", s[p.i])
	}
	return n, nil
}

type jparser struct {
	s string
	i int
}

func (p *jparser) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jparser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > maxJSONDepth {
		return nil, p.errf("nested deeper than %d", maxJSONDepth)
	}
	if p.i >= len(p.s) {
		return nil, p.errf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.s)-p.i >= len(lit) && p.s[p.i:p.i+len(lit)] == lit {
				n := &jnode{kind: 'l', start: p.i, end: p.i + len(lit)}
				p.i += len(lit)
				return n, nil
			}
		}
		return nil, p.errf("unexpected %q", c)
	}
}

func (p *jparser) object(depth int) (*jnode, error) {
	n := &jnode{kind: '{', start: p.i}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		n.end = p.i
		return n, nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return nil, p.errf("expected a member name")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		var name string
		if err := json.Unmarshal([]byte(p.s[k.start:k.end]), &name); err != nil {
			return nil, p.errf("bad member name: %v", err)
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return nil, p.errf("expected ':'")
		}
		p.i++
		p.ws()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.keys, n.vals, n.names = append(n.keys, k), append(n.vals, v), append(n.names, name)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated object")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			n.end = p.i
			return n, nil
		default:
			return nil, p.errf("expected ',' or '}'")
		}
	}
}

func (p *jparser) array(depth int) (*jnode, error) {
	n := &jnode{kind: '[', start: p.i}
	p.i++
	p.ws()
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		n.end = p.i
		return n, nil
	}
	for {
		p.ws()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
		p.ws()
		if p.i >= len(p.s) {
			return nil, p.errf("unterminated array")
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			n.end = p.i
			return n, nil
		default:
			return nil, p.errf("expected ',' or ']'")
		}
	}
}

func (p *jparser) str() (*jnode, error) {
	n := &jnode{kind: '"', start: p.i}
	p.i++
	for p.i < len(p.s) {
		switch c := p.s[p.i]; {
		case c == '\\':
			p.i += 2
		case c == '"':
			p.i++
			n.end = p.i
			if !json.Valid([]byte(p.s[n.start:n.end])) {
				return nil, fmt.Errorf("offset %d: invalid string", n.start)
			}
			return n, nil
		case c < 0x20:
			return nil, p.errf("control character in a string")
		default:
			p.i++
		}
	}
	return nil, p.errf("unterminated string")
}

func (p *jparser) number() (*jnode, error) {
	n := &jnode{kind: 'n', start: p.i}
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
			p.i++
			continue
		}
		break
	}
	n.end = p.i
	if !json.Valid([]byte(p.s[n.start:n.end])) {
		return nil, fmt.Errorf("offset %d: invalid number %q", n.start, p.s[n.start:n.end])
	}
	return n, nil
}
