// Package schema holds the JSON Schemas of autotuner's files: the
// policies file, the simulator's scenario and the audit record. Each is
// generated from the definitions the program itself uses (the policies
// validator's table in config/, the scenario and record structs), never
// written by hand; `go generate ./schema` rewrites the .json files, and a
// test fails when a committed file differs from what would be generated.
package schema

//go:generate go run ./gen
