package config

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Explain is target t as the controller runs it, in YAML: its kind's
// preset expanded, and the region and dry-run mode it takes from the
// defaults written out, so nothing about it is implicit.
func (t *Target) Explain() ([]byte, error) {
	if t.source == nil {
		return nil, fmt.Errorf("target %s was not read from a file", t.Name)
	}
	n := *resolve(t.source)
	n.Content = append([]*yaml.Node(nil), n.Content...)
	n.Style = 0
	keys := scalarKeys(&n)
	if _, ok := keys["region"]; !ok && t.Region != "" {
		n.Content = append(n.Content, scalar("region"), withComment(scalar(t.Region), "from defaults"))
	}
	if _, ok := keys["dry_run"]; !ok {
		n.Content = append(n.Content, scalar("dry_run"), withComment(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t.DryRun)}, "from defaults"))
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func withComment(n *yaml.Node, c string) *yaml.Node {
	n.LineComment = c
	return n
}
