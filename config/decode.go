package config

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a policies file, with its position and the path
// of the offending key.
type Error struct {
	File      string
	Line, Col int
	Path      string
	Msg       string
}

func (e *Error) Error() string {
	pos := e.File
	if pos == "" {
		pos = "<input>"
	}
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", pos, e.Line, e.Col)
	}
	if e.Path == "" {
		return pos + ": " + e.Msg
	}
	return pos + ": " + e.Path + ": " + e.Msg
}

// Errors is every problem found in one file. Loading never stops at the
// first, so a user fixes them all in one round.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// decoder walks YAML nodes, collecting errors with positions.
type decoder struct {
	file string
	errs Errors
	// near is the innermost node being read (the file, then a target),
	// where an error about an absent value is placed: every error has a
	// position.
	near *yaml.Node
	// targetRefs are the signals of source target, checked once every
	// target is known.
	targetRefs []targetRef
	// selector finds the resources of selector entries; nil checks them
	// on a stand-in (templates) and counts them as unresolved.
	selector   Selector
	ctx        context.Context
	templates  []template
	selections []Selection
	unresolved int
	// shares are the global-share policies, completed once every target
	// is known.
	shares []shareRef
}

// template is a selector entry on a stand-in resource, checked whole when
// nothing was selected.
type template struct {
	node *yaml.Node
	path string
}

// targetRef is a signal that reads another target's limit.
type targetRef struct {
	node   *yaml.Node // the value of its target key
	path   string
	target string // the name it names
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n == nil || n.Line == 0 {
		n = d.near
	}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// obj is a mapping being read. Every key must be claimed by a reader, and
// done reports the ones that were not: unknown keys are errors.
type obj struct {
	d      *decoder
	node   *yaml.Node
	path   string
	keys   []string
	vals   map[string]*yaml.Node
	knodes map[string]*yaml.Node
	used   map[string]bool
}

func (d *decoder) obj(n *yaml.Node, path string) *obj {
	o := &obj{d: d, node: n, path: path, vals: map[string]*yaml.Node{}, knodes: map[string]*yaml.Node{}, used: map[string]bool{}}
	if n == nil {
		o.node = d.near // errors about this absent mapping's keys go where it would be
	}
	n = resolve(n)
	if n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return o
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping, got %s", kindName(n))
		return o
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			// At the top of the file there is no key to name, so say where.
			where := path
			if where == "" {
				where = "(top level)"
			}
			d.errorf(k, where, "keys must be plain names, got %s", kindName(k))
			continue
		}
		if _, dup := o.vals[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key")
			continue
		}
		o.keys = append(o.keys, k.Value)
		o.vals[k.Value] = v
		o.knodes[k.Value] = k
	}
	return o
}

func join(path, key string) string {
	if key == "" {
		key = `""` // an empty key still needs a name in messages
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func (o *obj) at(key string) string { return join(o.path, key) }

// claimHook, when set (by tests), sees every key the validator reads, so
// that a test can check the JSON Schema declares each one.
var claimHook func(path, key string)

// get claims a key and returns its value node, or nil when absent.
func (o *obj) get(key string) *yaml.Node {
	if claimHook != nil {
		claimHook(o.path, key)
	}
	o.used[key] = true
	n := o.vals[key]
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return resolve(n)
}

func (o *obj) has(key string) bool { return o.vals[key] != nil }

// done reports every key no reader claimed.
func (o *obj) done(known ...string) {
	for _, k := range o.keys {
		if !o.used[k] {
			allowed := append([]string(nil), known...)
			for kk := range o.used {
				allowed = append(allowed, kk)
			}
			sort.Strings(allowed)
			allowed = dedupe(allowed)
			o.d.errorf(o.knodes[k], o.at(k), "unknown key (known keys here: %s)", strings.Join(allowed, ", "))
		}
	}
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (o *obj) scalar(key string) (*yaml.Node, bool) {
	n := o.get(key)
	if n == nil {
		return nil, false
	}
	if n.Kind != yaml.ScalarNode {
		o.d.errorf(n, o.at(key), "must be a single value, got %s", kindName(n))
		return nil, false
	}
	return n, true
}

func (o *obj) str(key string, dst *string) bool {
	n, ok := o.scalar(key)
	if ok {
		*dst = n.Value
	}
	return ok
}

func (o *obj) required(key string, dst *string) {
	if !o.str(key, dst) || *dst == "" {
		o.d.errorf(o.node, o.at(key), "is required")
	}
}

func (o *obj) boolean(key string, dst *bool) bool {
	n, ok := o.scalar(key)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil || n.Tag == "!!str" && n.Style != 0 {
		o.d.errorf(n, o.at(key), "must be true or false, got %q", n.Value)
		return false
	}
	*dst = b
	return true
}

func (o *obj) boolPtr(key string) *bool {
	var b bool
	if o.boolean(key, &b) {
		return &b
	}
	return nil
}

func (o *obj) number(key string, dst *float64) bool {
	n, ok := o.scalar(key)
	if !ok {
		return false
	}
	v, err := parseNumber(n.Value)
	if err != nil {
		o.d.errorf(n, o.at(key), "must be a number, got %q", n.Value)
		return false
	}
	*dst = v
	return true
}

func (o *obj) integer(key string, dst *int) bool {
	n, ok := o.scalar(key)
	if !ok {
		return false
	}
	v, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", ""))
	if err != nil {
		o.d.errorf(n, o.at(key), "must be a whole number, got %q", n.Value)
		return false
	}
	*dst = v
	return true
}

func (o *obj) duration(key string, dst *time.Duration) bool {
	n, ok := o.scalar(key)
	if !ok {
		return false
	}
	v, err := parseDuration(n.Value)
	if err != nil {
		o.d.errorf(n, o.at(key), "%v", err)
		return false
	}
	*dst = v
	return true
}

// percent reads "50%" as 0.5. A bare number is refused: 50 could mean
// 50% or 5000%, and a limit tool must not guess.
func (o *obj) percent(key string, dst *float64) bool {
	n, ok := o.scalar(key)
	if !ok {
		return false
	}
	v, err := parsePercent(n.Value)
	if err != nil {
		o.d.errorf(n, o.at(key), "%v", err)
		return false
	}
	*dst = v
	return true
}

// quantity reads a percentage, a duration (as seconds) or a plain number.
func (o *obj) quantity(key string, dst *float64) (isPercent, ok bool) {
	n, ok := o.scalar(key)
	if !ok {
		return false, false
	}
	v, pct, err := parseQuantity(n.Value)
	if err != nil {
		o.d.errorf(n, o.at(key), "%v", err)
		return false, false
	}
	*dst = v
	return pct, true
}

// check reports an error at key's value (or the mapping when absent).
func (o *obj) check(cond bool, key, format string, args ...any) {
	if cond {
		return
	}
	n := o.vals[key]
	if n == nil {
		n = o.node
	}
	o.d.errorf(n, o.at(key), format, args...)
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a finite number")
	}
	return v, nil
}

func parsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if !strings.HasSuffix(t, "%") {
		return 0, fmt.Errorf("must be a percentage such as 50%%, got %q", s)
	}
	v, err := parseNumber(strings.TrimSuffix(t, "%"))
	if err != nil {
		return 0, fmt.Errorf("must be a percentage such as 50%%, got %q", s)
	}
	return v / 100, nil
}

// parseDuration accepts Go durations ("90s", "1m30s") and days ("1d").
func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if strings.HasSuffix(t, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(t, "d")); err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("must be a duration such as 90s, 5m or 1h, got %q", s)
	}
	return d, nil
}

func parseQuantity(s string) (v float64, pct bool, err error) {
	t := strings.TrimSpace(s)
	if strings.HasSuffix(t, "%") {
		v, err = parsePercent(t)
		return v, true, err
	}
	if n, e := parseNumber(t); e == nil {
		return n, false, nil
	}
	if d, e := parseDuration(t); e == nil {
		return d.Seconds(), false, nil
	}
	return 0, false, fmt.Errorf("must be a number, a percentage (70%%) or a duration (60s), got %q", s)
}

// list returns the items of a sequence.
func (o *obj) list(key string) []*yaml.Node {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.d.errorf(n, o.at(key), "must be a list, got %s", kindName(n))
		return nil
	}
	return n.Content
}

func (o *obj) strings(key string) []string {
	var out []string
	for i, n := range o.list(key) {
		n = resolve(n)
		if n.Kind != yaml.ScalarNode || n.Value == "" {
			o.d.errorf(n, fmt.Sprintf("%s[%d]", o.at(key), i), "must be a non-empty name")
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

func (o *obj) stringMap(key string) map[string]string {
	n := o.get(key)
	if n == nil {
		return nil
	}
	m := o.d.obj(n, o.at(key))
	out := map[string]string{}
	for _, k := range m.keys {
		var v string
		if m.str(k, &v) {
			out[k] = v
		}
	}
	return out
}
