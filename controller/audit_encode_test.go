package controller

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/autotuner/autotuner/policy"
)

// The fast audit encoder writes what encoding/json writes, byte for byte,
// for any record: every exported field of every type it covers is filled
// at random (so a field added to Record, Signal, Constraints, Reason,
// Terms or GuardStep and not to audit_encode.go fails here), with the
// strings, numbers and times encoding/json treats specially.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var r Record
		fill(t, reflect.ValueOf(&r).Elem(), "record")
		want, wantErr := json.Marshal(&r)
		got, err := r.AppendJSON([]byte("prefix"))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("error %v, encoding/json's %v", err, wantErr)
		}
		if err != nil {
			if string(got) != "prefix" {
				t.Fatalf("a failed encoding appended %q", got)
			}
			return
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("got\n%s\nencoding/json:\n%s", got[len("prefix"):], want)
		}
	})
}

// Guard steps live inside a Decision, which only the policy fills: they
// are checked on their own, and whole decisions come from real runs in
// the simulator's tests.
func TestGuardStepMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var g policy.GuardStep
		fill(t, reflect.ValueOf(&g).Elem(), "guard")
		want, wantErr := json.Marshal(g)
		e := enc{}
		e.guard(&g)
		if (wantErr != nil) != e.slow {
			t.Fatalf("slow %v, encoding/json's error %v", e.slow, wantErr)
		}
		if wantErr == nil && !bytes.Equal(e.b, want) {
			t.Fatalf("got\n%s\nencoding/json:\n%s", e.b, want)
		}
	})
}

// fill sets every settable field of v at random.
func fill(t *rapid.T, v reflect.Value, name string) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(drawTime(t, name)))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(t, f, name+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Pointer:
		if rapid.Bool().Draw(t, name+"?") {
			p := reflect.New(v.Type().Elem())
			fill(t, p.Elem(), name)
			v.Set(p)
		}
	case reflect.Map:
		if rapid.IntRange(0, 5).Draw(t, name+"?") == 0 {
			return // nil
		}
		m := reflect.MakeMap(v.Type())
		for i := range rapid.IntRange(0, 4).Draw(t, name+"#") {
			k := reflect.New(v.Type().Key()).Elem()
			fill(t, k, name+".key")
			e := reflect.New(v.Type().Elem()).Elem()
			fill(t, e, name+"["+string(rune('0'+i))+"]")
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString(drawString(t, name))
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, name))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(rapid.OneOf(rapid.Int64Range(-3, 3), rapid.Int64Range(math.MinInt32, math.MaxInt32)).Draw(t, name))
	case reflect.Float64:
		v.SetFloat(drawFloat(t, name))
	default:
		t.Fatalf("%s: no generator for %s: teach fill and audit_encode.go about it", name, v.Type())
	}
}

func drawString(t *rapid.T, name string) string {
	return rapid.OneOf(
		rapid.Just(""),
		rapid.SampledFrom([]string{"busy", "a<b>&c", "\u2028\u2029", "\xff\xfeok", "\"q\"\\\n\r\t\b\f\x01\x1f\x7f", "é→✓", "fn-0001"}),
		rapid.String(),
		rapid.StringMatching(`[a-z_ ]{0,12}`),
	).Draw(t, name)
}

func drawFloat(t *rapid.T, name string) float64 {
	if rare(t, name) {
		// encoding/json refuses these: so must the fast path.
		return rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}).Draw(t, name)
	}
	return rapid.OneOf(
		rapid.SampledFrom([]float64{0, math.Copysign(0, -1), 1, -1, 0.1, 0.30000000000000004, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, -1e21, 123456789.125, 5e-324, math.MaxFloat64, 1e-9}),
		rapid.Float64().Filter(func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }),
		rapid.Float64Range(-1e6, 1e6),
	).Draw(t, name)
}

func drawTime(t *rapid.T, name string) time.Time {
	if rare(t, name) {
		// Years and zones time.Time's MarshalJSON refuses.
		if rapid.Bool().Draw(t, name+"y") {
			return time.Date(rapid.SampledFrom([]int{-1, 10000}).Draw(t, name+"y"), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return time.Unix(0, 0).In(time.FixedZone("far", rapid.SampledFrom([]int{-25 * 3600, 24 * 3600, 99*3600 + 60}).Draw(t, name+"zone")))
	}
	switch rapid.IntRange(0, 5).Draw(t, name+"~") {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(rapid.Int64Range(0, 4e9).Draw(t, name), 0).UTC()
	case 2:
		return time.Unix(rapid.Int64Range(-6.2e10, 2.5e11).Draw(t, name), rapid.Int64Range(0, 999999999).Draw(t, name+"ns")).UTC()
	case 3:
		off := rapid.IntRange(-24*3600+1, 24*3600-1).Draw(t, name+"zone")
		return time.Unix(rapid.Int64Range(0, 4e9).Draw(t, name), rapid.Int64Range(0, 999999999).Draw(t, name+"ns")).In(time.FixedZone("z", off))
	case 4:
		return time.Date(rapid.IntRange(0, 9999).Draw(t, name+"y"), 1, 1, 0, 0, 0, 0, time.UTC)
	default:
		return time.Unix(1_700_000_000, 0).In(time.Local)
	}
}

// rare is true for about one value in 200: a record has dozens of
// values, and one refused value fails the whole record.
func rare(t *rapid.T, name string) bool {
	return rapid.IntRange(0, 199).Draw(t, name+"!") == 137 // not an end: rapid favours those
}
