package config

import (
	"context"
	"path"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// A selector entry names many resources at once: by tags, or by a name
// pattern within its kind. Finding them is I/O, which this package never
// does: the caller passes a Selector (package discover implements it over
// AWS). Each resource found becomes an ordinary target named
// ENTRY/RESOURCE, expanded into the file before it is validated, so each
// has its own memory and audit records and the controller sees nothing
// new.

// Selection is what one entry asks for.
type Selection struct {
	Entry    string // the entry's name
	Kind     Kind
	Region   string
	RoleARN  string
	Tags     map[string]string
	Name     string // shell pattern on the resource's name
	Capacity string // dynamodb-*: read or write
}

// Selected is one resource a selection found.
type Selected struct {
	// Name is the resource's short name: a function, a table, an API's
	// "name:stage", a plan's name, a mapping's "function:queue".
	Name string
	// Keys are the identity keys of its target, as the file would spell
	// them (function, table, usage_plan…).
	Keys [][2]string
}

// Selector finds the resources of a selection.
type Selector interface {
	Select(ctx context.Context, s Selection) ([]Selected, error)
}

// Options tune loading. The zero value reads a file alone: a selector
// entry is checked but expands to no target.
type Options struct {
	Selector Selector
	Context  context.Context
}

// LoadWith is Load with options.
func LoadWith(path string, o Options) (*File, error) {
	return load(path, o)
}

// selectKinds are the kinds a selector can find.
var selectKinds = map[Kind]bool{LambdaReservedConcurrency: true, LambdaSQSMaxConcurrency: true, APIGatewayUsagePlan: true, APIGatewayStage: true, APIGatewayV2Stage: true, DynamoDBProvisioned: true, DynamoDBOnDemandMax: true}

// DefaultProbation is how long a resource new to a selection runs in
// dry-run before autotuner acts on it.
const DefaultProbation = time.Hour

// DefaultForgetAfter is how long the memory of a resource that no longer
// matches its selection is kept: a week covers a resource untagged by
// mistake, or deleted and made again, over a weekend.
const DefaultForgetAfter = 7 * 24 * time.Hour

var selectNameRE = regexp.MustCompile(`[^A-Za-z0-9_.:-]+`)

// expandSelect turns a selector entry into one target node per resource
// found, or reports why it cannot. ok is false when n is no selector.
func (d *decoder) expandSelect(n *yaml.Node, at string, def *Defaults) (out []*yaml.Node, ok bool) {
	m := resolve(n)
	if m == nil || m.Kind != yaml.MappingNode || mappingValue(m, "select") == nil {
		return nil, false
	}
	keys := scalarKeys(m)
	sel := Selection{Entry: keys["name"], Kind: Kind(keys["kind"]), Region: def.Region, RoleARN: keys["role_arn"], Capacity: keys["capacity"]}
	if r := keys["region"]; r != "" {
		sel.Region = r
	}
	if !d.readSelection(m, at, &sel) {
		return nil, true
	}
	d.selections = append(d.selections, sel)
	found := []Selected{{Name: "example", Keys: placeholderKeys(sel.Kind)}} // checks the entry's other keys
	if d.selector != nil {
		var err error
		found, err = d.selector.Select(d.ctx, sel)
		if err != nil {
			d.errorf(valueOf(m, "select"), at+".select", "selecting resources: %v", err)
			return nil, true
		}
	}
	for _, s := range found {
		out = append(out, selectedTarget(m, sel.Entry, s))
	}
	if d.selector == nil {
		d.unresolved++
		for _, n := range out {
			d.templates = append(d.templates, template{node: n, path: at})
		}
		return nil, true
	}
	return out, true
}

// readSelection checks the select mapping and the entry around it.
func (d *decoder) readSelection(m *yaml.Node, at string, sel *Selection) bool {
	o := d.obj(mappingValue(m, "select"), at+".select")
	sel.Tags = o.stringMap("tags")
	o.str("name", &sel.Name)
	o.done()
	ok := true
	if len(sel.Tags) == 0 && sel.Name == "" {
		d.errorf(mappingValue(m, "select"), at+".select", "needs tags, name or both: what to select")
		ok = false
	}
	if sel.Name != "" {
		if _, err := path.Match(sel.Name, ""); err != nil {
			d.errorf(valueOf(mappingValue(m, "select"), "name"), at+".select.name", "is not a valid pattern (* ? [a-z]): %q", sel.Name)
			ok = false
		}
	}
	if !selectKinds[sel.Kind] {
		d.errorf(valueOf(m, "kind"), at+".kind", "kind %q cannot select resources (one of lambda-reserved-concurrency, lambda-sqs-max-concurrency, apigateway-usage-plan, apigateway-stage, apigatewayv2-stage, dynamodb-provisioned, dynamodb-on-demand-max)", sel.Kind)
		ok = false
	}
	for _, k := range identityKeys {
		if k == "capacity" || k == "limit" || k == "burst_ratio" || k == "method" || k == "route" {
			continue // these say which knob of each resource, not which resource
		}
		if mappingValue(m, k) != nil {
			d.errorf(valueOf(m, k), at+"."+k, "does not go with select: each resource found supplies its own")
			ok = false
		}
	}
	return ok
}

// placeholderKeys stand for a resource when nothing is selected, so that
// the entry's other keys are still checked.
func placeholderKeys(k Kind) [][2]string {
	switch k {
	case LambdaReservedConcurrency:
		return [][2]string{{"function", "example"}}
	case LambdaSQSMaxConcurrency:
		return [][2]string{{"event_source_mapping", "example"}, {"function", "example"}, {"queue", "example"}}
	case APIGatewayUsagePlan:
		return [][2]string{{"usage_plan", "example"}, {"api_name", "example"}, {"stage", "example"}}
	case APIGatewayStage:
		return [][2]string{{"rest_api", "example"}, {"stage", "example"}, {"api_name", "example"}}
	case APIGatewayV2Stage:
		return [][2]string{{"api_id", "example"}, {"stage", "example"}}
	}
	return [][2]string{{"table", "example"}}
}

// selectedTarget is the entry with select replaced by one resource's
// identity, named ENTRY/RESOURCE. It keeps the entry's positions, so an
// error in it points at the entry.
func selectedTarget(m *yaml.Node, entry string, s Selected) *yaml.Node {
	out := *m
	out.Content = nil
	name := entry + "/" + strings.Trim(selectNameRE.ReplaceAllString(s.Name, "-"), "-")
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch k.Value {
		case "select":
			for _, kv := range s.Keys {
				out.Content = append(out.Content, scalar(kv[0]), scalar(kv[1]))
			}
			continue
		case "name":
			nv := *resolve(v)
			nv.Value, nv.Tag, nv.Style = name, "!!str", 0
			v = &nv
		}
		out.Content = append(out.Content, k, v)
	}
	return &out
}

// SelectedName reports whether a target came from a selector entry, and
// which: its name is ENTRY/RESOURCE.
func SelectedName(target string) (entry string, ok bool) {
	entry, _, ok = strings.Cut(target, "/")
	return entry, ok
}
