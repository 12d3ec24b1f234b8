package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/autotuner/autotuner/config"
	"github.com/autotuner/autotuner/internal/awsclient"
)

func init() {
	register(command{name: "iam-policy", summary: "print the least-privilege IAM policy (JSON, or a CloudFormation template) for the configured targets", run: runIAMPolicy})
}

// iamStatement is one statement of an IAM policy document.
type iamStatement struct {
	Sid      string   `json:"Sid"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

type iamPolicy struct {
	Version   string          `json:"Version"`
	Statement []*iamStatement `json:"Statement"`
}

func runIAMPolicy(ctx context.Context, e *env, args []string) int {
	fs := newFlags(e, "iam-policy", "[-c policies.yaml] [--account 123456789012] [--format json|cloudformation]")
	cfgPath := configFlag(fs)
	account := fs.String("account", "", "AWS account id of the targets without a role (default: asked of STS GetCallerIdentity)")
	format := fs.String("format", "json", "json: the policy document; cloudformation: a template whose ARNs name the stack's own partition, region and account (${AWS::Partition}, ...) for targets without a region or a role")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *format != "json" && *format != "cloudformation" {
		fmt.Fprintf(e.stderr, "autotuner iam-policy: --format %q: want json or cloudformation\n", *format)
		return exitUsage
	}
	f, err := loadPolicies(ctx, e, *cfgPath, false)
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return exitUsage
	}
	region := f.Defaults.Region
	var out any
	switch {
	case *format == "cloudformation":
		if region == "" {
			region = cfnRegion
		}
		if *account == "" {
			*account = cfnAccount
		}
		out = cloudFormationPolicy(buildIAMPolicy(f, region, *account))
	case *account == "":
		fac, err := awsclient.New(ctx, awsclient.Options{Region: region})
		if err == nil {
			var c *awsclient.Clients
			if c, err = fac.For("", ""); err == nil {
				var id *sts.GetCallerIdentityOutput
				if id, err = c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
					*account = aws.ToString(id.Account)
				}
				if region == "" {
					region = fac.Region()
				}
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "autotuner iam-policy: finding the account id (pass --account to skip): %v\n", err)
			return exitFailure
		}
		fallthrough
	default:
		out = buildIAMPolicy(f, region, *account)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		fmt.Fprintf(e.stderr, "autotuner iam-policy: %v\n", err)
		return exitFailure
	}
	fmt.Fprintln(e.stdout, string(b))
	return exitOK
}

// buildIAMPolicy grants exactly what the targets need: reads for every
// target, writes only for those that may apply (not dry_run), each on the
// resource's ARN where the service supports resource-level permissions.
// CloudWatch GetMetricData, Lambda GetAccountSettings and Application Auto
// Scaling's Describe calls support none, so they get "*". Targets that
// assume a role are granted in that role's account; the identity that
// runs autotuner then also needs sts:AssumeRole on those roles.
func buildIAMPolicy(f *config.File, region, account string) *iamPolicy {
	type key struct{ sid, actions string }
	stmts := map[key]map[string]bool{}
	var order []key
	add := func(sid string, actions []string, resources ...string) {
		k := key{sid, strings.Join(actions, ",")}
		if stmts[k] == nil {
			stmts[k] = map[string]bool{}
			order = append(order, k)
		}
		for _, r := range resources {
			stmts[k][r] = true
		}
	}
	add("ReadMetrics", []string{"cloudwatch:GetMetricData"}, "*")
	for _, t := range f.Targets {
		reg := t.Region
		if reg == "" {
			reg = region
		}
		if reg == "" {
			reg = "*"
		}
		acct := account
		if t.RoleARN != "" {
			if parts := strings.Split(t.RoleARN, ":"); len(parts) > 4 {
				acct = parts[4]
			}
			add("AssumeTargetRoles", []string{"sts:AssumeRole"}, t.RoleARN)
		}
		if acct == "" {
			acct = "*"
		}
		part := partition(reg)
		writes := !(t.DryRun || f.Defaults.DryRun)
		// rw grants the reads, and the writes unless the target is dry-run.
		rw := func(sid string, read, write []string, resource string) {
			if writes {
				add(sid, append(append([]string(nil), read...), write...), resource)
			} else {
				add(sid+"ReadOnly", read, resource)
			}
		}
		for _, s := range t.SignalList {
			if s.Source == config.SourceSQS {
				add("ReadQueueDepth", []string{"sqs:GetQueueAttributes"}, queueARN(s.QueueURL, part, reg, acct))
			}
		}
		switch t.Kind {
		case config.LambdaReservedConcurrency:
			rw("LambdaReservedConcurrency", []string{"lambda:GetFunction"}, []string{"lambda:PutFunctionConcurrency"},
				fmt.Sprintf("arn:%s:lambda:%s:%s:function:%s", part, reg, acct, t.Function))
			add("LambdaAccountFloor", []string{"lambda:GetAccountSettings"}, "*")
		case config.LambdaSQSMaxConcurrency:
			rw("LambdaEventSourceMappings", []string{"lambda:GetEventSourceMapping"}, []string{"lambda:UpdateEventSourceMapping"},
				fmt.Sprintf("arn:%s:lambda:%s:%s:event-source-mapping:%s", part, reg, acct, t.EventSourceMapping))
		case config.APIGatewayUsagePlan:
			rw("APIGatewayThrottles", []string{"apigateway:GET"}, []string{"apigateway:PATCH"},
				fmt.Sprintf("arn:%s:apigateway:%s::/usageplans/%s", part, reg, t.UsagePlan))
		case config.APIGatewayStage:
			rw("APIGatewayThrottles", []string{"apigateway:GET"}, []string{"apigateway:PATCH"},
				fmt.Sprintf("arn:%s:apigateway:%s::/restapis/%s/stages/%s", part, reg, t.RestAPI, t.Stage))
		case config.APIGatewayV2Stage:
			rw("APIGatewayThrottles", []string{"apigateway:GET"}, []string{"apigateway:PATCH"}, httpStageARN(part, reg, t.APIID, t.Stage))
		case config.DynamoDBProvisioned, config.DynamoDBOnDemandMax:
			rw("DynamoDBCapacity", []string{"dynamodb:DescribeTable"}, []string{"dynamodb:UpdateTable"},
				fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", part, reg, acct, t.Table))
			if t.Kind == config.DynamoDBProvisioned && !t.CoexistWithAutoscaling {
				add("DetectAutoScaling", []string{"application-autoscaling:DescribeScalableTargets"}, "*")
			}
		case config.StepFunctionsMap, config.Parameter:
			stepFunctionsStatements(t, part, reg, acct, add, rw)
		case config.RateLimitBucket:
			// Configure reads every shard, then writes each conditionally.
			rw("RateLimitBuckets", []string{"dynamodb:GetItem"}, []string{"dynamodb:UpdateItem"},
				fmt.Sprintf("arn:%s:dynamodb:%s:%s:table/%s", part, reg, acct, t.Table))
		}
	}
	for _, s := range f.Selections {
		selectionGrants(s, region, add)
	}
	doc := &iamPolicy{Version: "2012-10-17"}
	for _, k := range order {
		res := make([]string, 0, len(stmts[k]))
		for r := range stmts[k] {
			res = append(res, r)
		}
		sort.Strings(res)
		doc.Statement = append(doc.Statement, &iamStatement{Sid: k.sid, Effect: "Allow", Action: strings.Split(k.actions, ","), Resource: res})
	}
	return doc
}

func partition(region string) string {
	switch {
	case region == cfnRegion:
		return cfnPartition
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// queueARN turns https://sqs.REGION.amazonaws.com/ACCOUNT/NAME into the
// queue's ARN.
func queueARN(queueURL, part, region, account string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return fmt.Sprintf("arn:%s:sqs:%s:%s:*", part, region, account)
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) == 2 {
		account = segs[0]
		if h := strings.Split(u.Host, "."); len(h) > 2 && h[0] == "sqs" {
			region = h[1]
		}
		return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", part, region, account, segs[1])
	}
	return fmt.Sprintf("arn:%s:sqs:%s:%s:*", part, region, account)
}

// selectionGrants are the listing calls a selector entry makes on every
// load and every defaults.discover_every (package discover). Listings
// have no resource-level permissions, or only on the collection.
func selectionGrants(s config.Selection, region string, add func(sid string, actions []string, resources ...string)) {
	reg := s.Region
	if reg == "" {
		reg = region
	}
	if reg == "" {
		reg = "*"
	}
	part := partition(reg)
	if len(s.Tags) > 0 {
		add("SelectByTags", []string{"tag:GetResources"}, "*")
	}
	switch s.Kind {
	case config.LambdaReservedConcurrency:
		add("SelectFunctions", []string{"lambda:ListFunctions", "lambda:GetFunctionConcurrency"}, "*")
	case config.LambdaSQSMaxConcurrency:
		add("SelectEventSourceMappings", []string{"lambda:ListEventSourceMappings"}, "*")
	case config.APIGatewayUsagePlan, config.APIGatewayStage:
		add("SelectAPIs", []string{"apigateway:GET"},
			fmt.Sprintf("arn:%s:apigateway:%s::/restapis", part, reg),
			fmt.Sprintf("arn:%s:apigateway:%s::/restapis/*/stages", part, reg),
			fmt.Sprintf("arn:%s:apigateway:%s::/usageplans", part, reg))
	case config.APIGatewayV2Stage:
		add("SelectHTTPAPIs", []string{"apigateway:GET"}, httpAPIListARNs(part, reg)...)
	case config.DynamoDBProvisioned, config.DynamoDBOnDemandMax:
		add("SelectTables", []string{"dynamodb:ListTables", "dynamodb:DescribeTable"}, "*")
		add("DetectAutoScaling", []string{"application-autoscaling:DescribeScalableTargets"}, "*")
	}
}
