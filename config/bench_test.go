package config

import (
	"fmt"
	"os"
	"testing"
)

func BenchmarkParseExample(b *testing.B) {
	data, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("p.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// One selector entry that finds 1,000 functions: each is a preset target.
func BenchmarkParseSelector1000(b *testing.B) {
	var found []Selected
	for i := range 1000 {
		n := fmt.Sprintf("fn-%04d", i)
		found = append(found, Selected{Name: n, Keys: [][2]string{{"function", n}}})
	}
	sel := &fakeSelector{found: map[Kind][]Selected{LambdaReservedConcurrency: found}}
	data := []byte("version: 1\ntargets:\n  - {name: fns, kind: lambda-reserved-concurrency, select: {name: \"*\"}, min: 1, max: 100}\n")
	for b.Loop() {
		f, err := ParseWith("p.yaml", data, Options{Selector: sel})
		if err != nil || len(f.Targets) != 1000 {
			b.Fatal(err)
		}
	}
}
