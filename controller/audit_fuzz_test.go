package controller_test

import (
	"bytes"
	"io"
	"testing"
	"unicode/utf8"

	"github.com/autotuner/autotuner/controller"
)

// An audit file is outside input (a crash may have torn it, someone may
// have edited it): searching it never panics, and a line just written
// for a change is always found behind whatever came before.
func FuzzHasOutcome(f *testing.F) {
	f.Add([]byte(`{"change":"a@t","applied":true}`+"\n"), "a@t")
	f.Add([]byte(`{"change":"a@t","intent":true}`+"\n"+`{"change":"a@t","rec`), "a@t")
	f.Add([]byte("\x00\xff{{{\n\n"), "")
	f.Fuzz(func(t *testing.T, prefix []byte, change string) {
		if change == "" || !utf8.ValidString(change) {
			return // a change always has a name, from a target name read as UTF-8
		}
		var buf bytes.Buffer
		buf.Write(prefix)
		buf.WriteByte('\n')
		sink := controller.NewJSONLines(&buf)
		sink.ReadBack = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
		if _, err := sink.HasOutcome(change); err != nil && len(prefix) < 16<<20 {
			t.Fatalf("searching: %v", err)
		}
		if err := sink.Write(&controller.Record{Target: "a", Change: change, Applied: true}); err != nil {
			t.Fatal(err)
		}
		if found, err := sink.HasOutcome(change); err != nil || !found {
			t.Fatalf("the line just written for %q is not found: %v %v", change, found, err)
		}
	})
}
