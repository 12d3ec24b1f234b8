package main

import (
	"strings"
)

// In a CloudFormation template the targets without a region or a role
// act in the stack's own partition, region and account: their ARNs are
// written with these pseudo parameters, inside Fn::Sub, so one template
// deploys anywhere (any partition, any region, every account of a
// StackSet).
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/pseudo-parameter-reference.html
const (
	cfnPartition = "${AWS::Partition}"
	cfnRegion    = "${AWS::Region}"
	cfnAccount   = "${AWS::AccountId}"
)

// cfnTemplate is what `iam-policy --format cloudformation` prints: a
// template with the targets' policy as a managed policy, its document also
// fit to paste as a role's inline policy (deploy/sam/template.yaml does).
type cfnTemplate struct {
	AWSTemplateFormatVersion string                  `json:"AWSTemplateFormatVersion"`
	Description              string                  `json:"Description"`
	Resources                map[string]cfnResource  `json:"Resources"`
	Outputs                  map[string]cfnOutputVal `json:"Outputs"`
}

type cfnResource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
}

type cfnOutputVal struct {
	Description string         `json:"Description"`
	Value       map[string]any `json:"Value"`
}

// cfnStatement is an IAM statement whose resources may be Fn::Sub.
type cfnStatement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []any    `json:"Resource"`
}

type cfnPolicyDocument struct {
	Version   string          `json:"Version"`
	Statement []*cfnStatement `json:"Statement"`
}

// cloudFormationPolicy renders the policy built for the stack's own
// region and account (buildIAMPolicy(f, cfnRegion, cfnAccount)) as a
// template.
func cloudFormationPolicy(doc *iamPolicy) *cfnTemplate {
	return &cfnTemplate{
		AWSTemplateFormatVersion: "2010-09-09",
		Description:              "autotuner: least-privilege access to the targets of a policies file (autotuner iam-policy --format cloudformation)",
		Resources: map[string]cfnResource{"AutotunerTargets": {Type: "AWS::IAM::ManagedPolicy", Properties: map[string]any{
			"Description":    "What autotuner needs to read and tune its targets",
			"PolicyDocument": cfnDocument(doc),
		}}},
		Outputs: map[string]cfnOutputVal{"PolicyArn": {Description: "Attach to the role autotuner runs as", Value: map[string]any{"Ref": "AutotunerTargets"}}},
	}
}

func cfnDocument(doc *iamPolicy) *cfnPolicyDocument {
	out := &cfnPolicyDocument{Version: doc.Version}
	for _, s := range doc.Statement {
		cs := &cfnStatement{Sid: s.Sid, Effect: s.Effect, Action: s.Action}
		for _, r := range s.Resource {
			cs.Resource = append(cs.Resource, cfnString(r))
		}
		out.Statement = append(out.Statement, cs)
	}
	return out
}

// cfnString wraps a string that names a pseudo parameter in Fn::Sub. Any
// other "${" in it (a name of the user's) is escaped as "${!", which
// Fn::Sub writes back literally.
func cfnString(s string) any {
	params := []string{cfnPartition, cfnRegion, cfnAccount}
	has := false
	for _, p := range params {
		has = has || strings.Contains(s, p)
	}
	if !has {
		return s
	}
	var b strings.Builder
	for rest := s; rest != ""; {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		rest = rest[i:]
		param := ""
		for _, p := range params {
			if strings.HasPrefix(rest, p) {
				param = p
			}
		}
		if param != "" {
			b.WriteString(param)
			rest = rest[len(param):]
		} else {
			b.WriteString("${!")
			rest = rest[2:]
		}
	}
	return map[string]any{"Fn::Sub": b.String()}
}
