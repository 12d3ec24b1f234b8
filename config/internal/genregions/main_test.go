package main

import (
	"os"
	"os/exec"
	"testing"
)

// The committed region list must be the one the SDK in go.mod knows; after
// an SDK upgrade, `go generate ./config` refreshes it.
func TestRegionsMatchTheSDK(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to locate the SDK module")
	}
	want, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../regions_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("config/regions_gen.go is stale for the SDK in go.mod; run: go generate ./config")
	}
}
