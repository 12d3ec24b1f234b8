// Package schemagen writes JSON Schemas (draft 2020-12) from Go types, so
// that a schema is derived from the very structs a file is decoded into or
// a record is encoded from, and cannot drift from them. It reads struct
// tags only; it does no I/O.
package schemagen
