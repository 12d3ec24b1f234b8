package config

import (
	"strings"
	"testing"
	"time"
)

func TestForgetAfter(t *testing.T) {
	const target = "targets:\n  - {name: e, kind: lambda-reserved-concurrency, function: f, min: 1, max: 2}\n"
	f, err := Parse("p.yaml", []byte("version: 1\ndefaults: {forget_after: 72h}\n"+target))
	if err != nil || f.Defaults.ForgetAfter != 72*time.Hour {
		t.Fatalf("forget_after 72h: %v, %v", f, err)
	}
	for _, v := range []string{"10m", "400d", "-1h"} {
		_, err := Parse("p.yaml", []byte("version: 1\ndefaults: {forget_after: "+v+"}\n"+target))
		if err == nil || !strings.Contains(err.Error(), "p.yaml:2:26: defaults.forget_after: must be between 1h and 365d") {
			t.Errorf("forget_after %s: err = %v", v, err)
		}
	}
}
