package controller

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/autotuner/autotuner/policy"
)

// The audit line is written once per target per tick, so its encoding
// scales with the fleet. encoding/json spends most of that on reflection,
// on a heap copy of every time and of the decision, and on compacting the
// decision's own MarshalJSON output again. AppendJSON writes the same
// bytes directly. It must stay byte-identical to encoding/json: the audit
// file is read by tools that may compare lines, and a property test
// (audit_encode_test.go) checks every field of every type written here
// against encoding/json, so a field added to one of them and not here
// fails the tests rather than vanishing from the audit.

// errSlowPath asks for encoding/json: a value the fast path does not
// write exactly as it would (a non-finite number, a time outside years
// 0–9999 or with an odd zone), so that the error or output is its own.
type errSlowPath struct{}

func (errSlowPath) Error() string { return "audit: value needs encoding/json" }

// AppendJSON appends r as encoding/json would marshal it, without the
// newline.
func (r *Record) AppendJSON(dst []byte) ([]byte, error) {
	out, err := appendRecord(dst, r)
	if err == nil {
		return out, nil
	}
	// Rare: let encoding/json write it, or say why it cannot.
	b, err := json.Marshal(r)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func appendRecord(b []byte, r *Record) ([]byte, error) {
	e := enc{b: b}
	e.b = append(e.b, `{"v":`...)
	e.b = strconv.AppendInt(e.b, int64(r.V), 10)
	e.key("time")
	e.time(r.Time)
	e.key("target")
	e.str(r.Target)
	e.key("kind")
	e.str(r.Kind)
	e.key("resource")
	e.str(r.Resource)
	e.key("mode")
	e.str(string(r.Mode))
	if r.Alarm {
		e.b = append(e.b, `,"alarm":true`...)
	}
	if !r.Probation.IsZero() {
		e.key("probation_until")
		e.time(r.Probation)
	}
	e.key("signals")
	e.signals(r.Signals)
	e.key("current")
	e.float(r.Current)
	e.key("read_actual")
	e.bool(r.ReadActual)
	if r.Drift != nil {
		e.key("drift")
		e.b = append(e.b, `{"expected":`...)
		e.float(r.Drift.Expected)
		e.key("actual")
		e.float(r.Drift.Actual)
		e.b = append(e.b, '}')
	}
	e.key("constraints")
	e.constraints(&r.Constraints)
	if r.Decision != nil {
		e.key("decision")
		e.decision(r.Decision)
	}
	e.key("final")
	e.float(r.Final)
	e.key("applied")
	e.bool(r.Applied)
	e.optStr("error", r.Error)
	e.optStr("error_class", string(r.ErrorClass))
	e.optStr("stage", r.Stage)
	e.optTrue("sense_failed", r.SenseFailed)
	e.optStr("change", r.Change)
	e.optTrue("intent", r.Intent)
	e.optTrue("recovered", r.Recovered)
	e.b = append(e.b, '}')
	if e.slow {
		return b, errSlowPath{}
	}
	return e.b, nil
}

// enc appends JSON to b; slow records that a value needs encoding/json.
type enc struct {
	b    []byte
	slow bool
}

// key starts a member that is not the object's first.
func (e *enc) key(k string) {
	e.b = append(e.b, ',', '"')
	e.b = append(e.b, k...)
	e.b = append(e.b, '"', ':')
}

func (e *enc) optStr(k, v string) {
	if v != "" {
		e.key(k)
		e.str(v)
	}
}

func (e *enc) optTrue(k string, v bool) {
	if v {
		e.key(k)
		e.b = append(e.b, "true"...)
	}
}

// optFloat writes an omitempty number.
func (e *enc) optFloat(k string, v float64) {
	if v != 0 {
		e.key(k)
		e.float(v)
	}
}

// optTime writes an omitzero time.
func (e *enc) optTime(k string, t time.Time) {
	if !t.IsZero() {
		e.key(k)
		e.time(t)
	}
}

func (e *enc) bool(v bool) {
	if v {
		e.b = append(e.b, "true"...)
	} else {
		e.b = append(e.b, "false"...)
	}
}

// float writes v as encoding/json's float64 encoder does.
func (e *enc) float(f float64) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		e.slow = true
		e.b = append(e.b, '0')
		return
	}
	fmt := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmt = 'e'
	}
	e.b = strconv.AppendFloat(e.b, f, fmt, -1, 64)
	if fmt == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		n := len(e.b)
		if n >= 4 && e.b[n-4] == 'e' && e.b[n-3] == '-' && e.b[n-2] == '0' {
			e.b[n-2] = e.b[n-1]
			e.b = e.b[:n-1]
		}
	}
}

// time writes t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds); the years and zones it refuses go the slow way.
func (e *enc) time(t time.Time) {
	if y := t.Year(); y < 0 || y > 9999 {
		e.slow = true
	}
	if _, off := t.Zone(); off <= -24*3600 || off >= 24*3600 {
		e.slow = true
	}
	e.b = append(e.b, '"')
	e.b = t.AppendFormat(e.b, time.RFC3339Nano)
	e.b = append(e.b, '"')
}

const hexDigits = "0123456789abcdef"

// str writes s quoted as encoding/json does with HTML escaping on: <, >
// and & escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func (e *enc) str(s string) {
	b := append(e.b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	e.b = append(b, '"')
}

// signals writes the map with its keys sorted, as encoding/json does.
func (e *enc) signals(m policy.Signals) {
	if m == nil {
		e.b = append(e.b, "null"...)
		return
	}
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	e.b = append(e.b, '{')
	for i, k := range keys {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.str(k)
		e.b = append(e.b, ':')
		e.signal(m[k])
	}
	e.b = append(e.b, '}')
}

func (e *enc) signal(s policy.Signal) {
	e.b = append(e.b, `{"value":`...)
	e.float(s.Value)
	e.optTime("at", s.At)
	e.key("valid")
	e.bool(s.Valid)
	e.optTrue("filled", s.Filled)
	e.optStr("why", s.Why)
	e.optStr("failed", s.Failed)
	e.b = append(e.b, '}')
}

func (e *enc) constraints(c *policy.Constraints) {
	e.b = append(e.b, '{')
	n := len(e.b)
	e.optFloat("ceiling", c.Ceiling)
	e.optStr("ceiling_rule", c.CeilingRule)
	e.optFloat("floor", c.Floor)
	e.optTime("not_before", c.NotBefore)
	e.optStr("blocked", c.Blocked)
	if q := c.Decreases; q != (policy.DecreaseQuota{}) {
		e.key("decreases")
		e.b = append(e.b, `{"enforced":`...)
		e.bool(q.Enforced)
		e.key("today")
		e.b = strconv.AppendInt(e.b, int64(q.Today), 10)
		e.optTime("last", q.Last)
		e.b = append(e.b, '}')
	}
	if len(e.b) > n {
		// The first member's comma follows the brace: drop it.
		e.b = append(e.b[:n], e.b[n+1:]...)
	}
	e.b = append(e.b, '}')
}

// decision writes d as its MarshalJSON does.
func (e *enc) decision(d *policy.Decision) {
	e.b = append(e.b, `{"policy":`...)
	e.str(d.Policy)
	e.key("current")
	e.float(d.Current)
	e.key("proposed")
	e.float(d.Proposed)
	e.key("final")
	e.float(d.Final)
	e.key("action")
	e.str(string(d.Action))
	e.key("reason")
	e.reason(&d.Reason)
	e.key("terms")
	e.terms(&d.Terms)
	e.key("guards")
	e.b = append(e.b, '[')
	for i, s := range d.Steps() {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.guard(&s)
	}
	e.b = append(e.b, ']')
	e.key("explain")
	// The sentence is built in a scratch buffer, then quoted.
	sp := lineBufs.Get().(*[]byte)
	*sp = d.AppendExplain((*sp)[:0])
	e.str(unsafe.String(unsafe.SliceData(*sp), len(*sp)))
	lineBufs.Put(sp)
	e.b = append(e.b, '}')
}

func (e *enc) reason(r *policy.Reason) {
	e.b = append(e.b, `{"code":`...)
	e.str(r.Code)
	e.optStr("signal", r.Signal)
	e.optFloat("value", r.Value)
	e.optFloat("param", r.Param)
	e.optTime("until", r.Until)
	e.b = append(e.b, '}')
}

func (e *enc) terms(t *policy.Terms) {
	e.b = append(e.b, `{"demand":`...)
	e.float(t.Demand)
	e.key("error")
	e.float(t.Error)
	e.key("p")
	e.float(t.P)
	e.key("i")
	e.float(t.I)
	e.key("d")
	e.float(t.D)
	e.key("in_band")
	e.bool(t.InBand)
	e.key("above")
	e.b = strconv.AppendInt(e.b, int64(t.Above), 10)
	e.key("below")
	e.b = strconv.AppendInt(e.b, int64(t.Below), 10)
	e.optStr("driver", t.Driver)
	e.optStr("missing", t.Missing)
	e.optFloat("throttle", t.Throttle)
	e.optTrue("frozen", t.Frozen)
	e.optFloat("band", t.Band)
	e.optStr("noise", t.Noise)
	e.optFloat("count", t.Count)
	e.optFloat("forecast", t.Forecast)
	e.optFloat("evidence", t.Evidence)
	e.b = append(e.b, '}')
}

func (e *enc) guard(g *policy.GuardStep) {
	e.b = append(e.b, `{"guard":`...)
	e.str(g.Guard)
	e.key("from")
	e.float(g.From)
	e.key("to")
	e.float(g.To)
	e.key("rule")
	e.str(g.Rule)
	e.optFloat("param", g.Param)
	e.optTime("until", g.Until)
	e.optStr("signal", g.Signal)
	e.b = append(e.b, '}')
}
