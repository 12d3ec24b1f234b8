package discover

import (
	"context"
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/autotuner/autotuner/config"
)

// Selector expands the policies file's selector entries from the account:
// config calls it, and stays free of I/O itself.
type Selector struct {
	// Clients returns discovery's clients for a region and role.
	Clients func(region, role string) (*Clients, error)

	mu    sync.Mutex
	found map[string][]Resource // one listing per region, role and kind per load
}

var _ config.Selector = (*Selector)(nil)

// Select lists the resources of s.Kind that carry s.Tags and whose name
// matches s.Name.
func (sel *Selector) Select(ctx context.Context, s config.Selection) ([]config.Selected, error) {
	rs, err := sel.list(ctx, s)
	if err != nil {
		return nil, err
	}
	var out []config.Selected
	for _, r := range rs {
		name := r.Name
		var keys [][2]string
		for _, kv := range r.Keys {
			if kv[0] == "capacity" {
				continue // the entry says which capacity
			}
			keys = append(keys, kv)
		}
		if r.Kind == config.DynamoDBProvisioned || r.Kind == config.DynamoDBOnDemandMax {
			// A selector picks tables; an index is a target of its own.
			if r.Key("index") != "" || s.Capacity != "" && r.Key("capacity") != s.Capacity {
				continue
			}
			name = r.Key("table")
		}
		if r.Kind == config.APIGatewayV2Stage && r.Key("route") != "" {
			continue // a selector picks stages; the entry's route says which knob of each
		}
		if s.Name != "" {
			if ok, err := path.Match(s.Name, name); err != nil || !ok {
				continue
			}
		}
		out = append(out, config.Selected{Name: name, Keys: keys})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (sel *Selector) list(ctx context.Context, s config.Selection) ([]Resource, error) {
	key := fmt.Sprintf("%s|%s|%s|%v", s.Region, s.RoleARN, s.Kind, s.Tags)
	sel.mu.Lock()
	defer sel.mu.Unlock()
	if rs, ok := sel.found[key]; ok {
		return rs, nil
	}
	c, err := sel.Clients(s.Region, s.RoleARN)
	if err != nil {
		return nil, err
	}
	rs, err := c.Find(ctx, Filter{Kinds: []config.Kind{s.Kind}, Tags: s.Tags, NoLimits: true})
	if err != nil {
		return nil, err
	}
	if sel.found == nil {
		sel.found = map[string][]Resource{}
	}
	sel.found[key] = rs
	return rs, nil
}
