package schemagen

import (
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Schema is one JSON Schema node, as it is written out.
type Schema = map[string]any

// Options says how a type's fields are named and what to do with types
// that encode themselves.
type Options struct {
	// Tag is the struct tag that names fields: "json" or "yaml".
	Tag string
	// Required marks fields without omitempty/omitzero as required: true
	// for what a program writes (every such field is always present),
	// false for what a user writes (defaults fill the gaps).
	Required bool
	// Override gives the schema of a type that encodes itself.
	Override map[reflect.Type]Schema
	// As stands a type that encodes itself through another for it.
	As map[reflect.Type]reflect.Type
}

// Of is the schema of v's type.
func Of(v any, o Options) Schema {
	return o.of(reflect.TypeOf(v), 0)
}

var timeType = reflect.TypeOf(time.Time{})

func (o Options) of(t reflect.Type, depth int) Schema {
	if depth > 32 {
		panic(fmt.Sprintf("schemagen: %s nests too deep (a recursive type?)", t))
	}
	if s, ok := o.Override[t]; ok {
		return s
	}
	if as, ok := o.As[t]; ok {
		return o.of(as, depth+1)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return o.of(t.Elem(), depth+1)
	case reflect.Bool:
		return Schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t == reflect.TypeOf(time.Duration(0)) && o.Tag == "json" {
			return Schema{"type": "integer", "description": "nanoseconds"}
		}
		return Schema{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return Schema{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return Schema{"type": "number"}
	case reflect.String:
		return Schema{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Array && t.Elem().Kind() != reflect.Uint8 {
			return Schema{"type": "array", "items": o.of(t.Elem(), depth+1), "minItems": t.Len(), "maxItems": t.Len()}
		}
		return Schema{"type": "array", "items": o.of(t.Elem(), depth+1)}
	case reflect.Map:
		return Schema{"type": "object", "additionalProperties": o.of(t.Elem(), depth+1)}
	case reflect.Struct:
		if t == timeType {
			return Schema{"type": "string", "format": "date-time"}
		}
		return o.object(t, depth)
	}
	panic(fmt.Sprintf("schemagen: no schema for %s", t))
}

func (o Options) object(t reflect.Type, depth int) Schema {
	props := Schema{}
	var required []string
	o.fields(t, depth, props, &required)
	s := Schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// fields adds t's fields, embedded structs inlined as encoding/json and
// yaml do.
func (o Options) fields(t reflect.Type, depth int, props Schema, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get(o.Tag)
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			o.fields(f.Type, depth+1, props, required)
			continue
		}
		if name == "" {
			name = f.Name
			if o.Tag == "yaml" {
				name = strings.ToLower(name)
			}
		}
		s := o.of(f.Type, depth+1)
		optional := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if o.Tag == "json" && !optional && nullable(f.Type) {
			// encoding/json writes a nil pointer, slice or map as null.
			s = Schema{"anyOf": []any{s, Schema{"type": "null"}}}
		}
		props[name] = s
		if o.Required && !optional {
			*required = append(*required, name)
		}
	}
}

func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}
