package discover

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	tagtypes "github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi/types"

	"github.com/autotuner/autotuner/config"
)

// Resource is one limit found in the account.
type Resource struct {
	Kind config.Kind
	// Name is the resource's short name: a function, "table:read", an
	// API's "name:stage", a plan's name; targets are named after it.
	Name string
	ARN  string // the ARN its tags are read from
	// Keys are the target's identity keys, in the order they are written.
	Keys [][2]string
	// Current is the limit in force; HasLimit is false when there is
	// none (no reservation, no maximum).
	Current  float64
	HasLimit bool
	// Found says what was found, for the comment above the target.
	Found string
	// AutoScaling, when set, says that Application Auto Scaling manages
	// this capacity (its min..max): autotuner must leave it alone.
	AutoScaling string
	// Metric is what its load history is read from.
	Metric Metric
}

// Key is the value of one identity key, "" when absent.
func (r *Resource) Key(k string) string {
	for _, kv := range r.Keys {
		if kv[0] == k {
			return kv[1]
		}
	}
	return ""
}

// Filter narrows a search.
type Filter struct {
	// Kinds to search; empty means every kind discovery knows.
	Kinds []config.Kind
	// Tags every resource must carry (Resource Groups Tagging API).
	Tags map[string]string
	// Name is a shell pattern (path.Match) on Resource.Name.
	Name string
	// Limited keeps only resources with a limit in force.
	Limited bool
	// NoLimits skips reading each function's reservation (a selection
	// needs only names): one Lambda control-plane call a function saved,
	// from a quota that actuation shares.
	NoLimits bool
}

// Kinds are the kinds discovery can find.
var Kinds = []config.Kind{config.LambdaReservedConcurrency, config.LambdaSQSMaxConcurrency, config.APIGatewayUsagePlan, config.APIGatewayStage, config.APIGatewayV2Stage, config.DynamoDBProvisioned, config.DynamoDBOnDemandMax}

// maxItems bounds every listing: a runaway paginator stops here.
const maxItems = 100000

// Find lists the resources that match f, in a stable order.
func (c *Clients) Find(ctx context.Context, f Filter) ([]Resource, error) {
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = Kinds
	}
	want := map[config.Kind]bool{}
	for _, k := range kinds {
		want[k] = true
	}
	var tagged map[string]bool
	if len(f.Tags) > 0 {
		var err error
		if tagged, err = c.taggedARNs(ctx, f.Tags); err != nil {
			return nil, err
		}
	}
	functions := func(ctx context.Context) ([]Resource, error) { return c.functions(ctx, tagged, f.NoLimits) }
	var out []Resource
	for _, step := range []struct {
		kinds []config.Kind
		find  func(context.Context) ([]Resource, error)
	}{
		{[]config.Kind{config.LambdaReservedConcurrency}, functions},
		{[]config.Kind{config.LambdaSQSMaxConcurrency}, c.mappings},
		{[]config.Kind{config.APIGatewayUsagePlan, config.APIGatewayStage}, c.apis},
		{[]config.Kind{config.APIGatewayV2Stage}, c.httpAPIs},
		{[]config.Kind{config.DynamoDBProvisioned, config.DynamoDBOnDemandMax}, c.tables},
	} {
		if !want[step.kinds[0]] && (len(step.kinds) == 1 || !want[step.kinds[1]]) {
			continue
		}
		rs, err := step.find(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if want[r.Kind] {
				out = append(out, r)
			}
		}
	}
	return filter(out, f, tagged)
}

func filter(rs []Resource, f Filter, tagged map[string]bool) ([]Resource, error) {
	var out []Resource
	for _, r := range rs {
		if f.Limited && !r.HasLimit {
			continue
		}
		if tagged != nil && !tagged[r.ARN] {
			continue
		}
		if f.Name != "" {
			if ok, err := path.Match(f.Name, r.Name); err != nil {
				return nil, fmt.Errorf("name pattern %q: %w", f.Name, err)
			} else if !ok {
				continue
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// taggedARNs are the ARNs of the resources carrying every tag.
func (c *Clients) taggedARNs(ctx context.Context, tags map[string]string) (map[string]bool, error) {
	in := &resourcegroupstaggingapi.GetResourcesInput{ResourceTypeFilters: []string{"lambda:function", "dynamodb:table", "apigateway:restapis", "apigateway:usageplans", "apigateway:apis"}}
	for k, v := range tags {
		in.TagFilters = append(in.TagFilters, tagtypes.TagFilter{Key: aws.String(k), Values: []string{v}})
	}
	out := map[string]bool{}
	p := resourcegroupstaggingapi.NewGetResourcesPaginator(c.Tagging, in)
	for p.HasMorePages() && len(out) < maxItems {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("GetResources: %w", err)
		}
		for _, m := range page.ResourceTagMappingList {
			out[aws.ToString(m.ResourceARN)] = true
		}
	}
	return out, nil
}

// functions lists the functions; with tagged, only those carrying the tags
// have their reservation read, and with noLimits none do.
func (c *Clients) functions(ctx context.Context, tagged map[string]bool, noLimits bool) ([]Resource, error) {
	var out []Resource
	p := lambda.NewListFunctionsPaginator(c.Lambda, &lambda.ListFunctionsInput{})
	for p.HasMorePages() && len(out) < maxItems {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListFunctions: %w", err)
		}
		for _, fn := range page.Functions {
			name := aws.ToString(fn.FunctionName)
			if tagged != nil && !tagged[aws.ToString(fn.FunctionArn)] {
				continue
			}
			r := Resource{Kind: config.LambdaReservedConcurrency, Name: name, ARN: aws.ToString(fn.FunctionArn),
				Keys: [][2]string{{"function", name}}, Found: "function " + name + ", no reserved concurrency",
				Metric: Metric{Namespace: "AWS/Lambda", Name: "ConcurrentExecutions", Stat: "Maximum", Dims: [][2]string{{"FunctionName", name}}, Unit: "concurrent executions"}}
			if !noLimits {
				cc, err := c.Lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: fn.FunctionName})
				if err != nil {
					return nil, fmt.Errorf("GetFunctionConcurrency %s: %w", name, err)
				}
				if cc.ReservedConcurrentExecutions != nil {
					r.Current, r.HasLimit = float64(*cc.ReservedConcurrentExecutions), true
					r.Found = fmt.Sprintf("function %s, reserved concurrency %d", name, *cc.ReservedConcurrentExecutions)
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// lastPart is what follows the last ':' of an ARN: a function's or a
// queue's name.
func lastPart(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

func (c *Clients) mappings(ctx context.Context) ([]Resource, error) {
	var out []Resource
	p := lambda.NewListEventSourceMappingsPaginator(c.Lambda, &lambda.ListEventSourceMappingsInput{})
	for p.HasMorePages() && len(out) < maxItems {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListEventSourceMappings: %w", err)
		}
		for _, m := range page.EventSourceMappings {
			src := aws.ToString(m.EventSourceArn)
			if !strings.Contains(src, ":sqs:") {
				continue // only SQS mappings have a maximum concurrency
			}
			fn, q, id := lastPart(aws.ToString(m.FunctionArn)), lastPart(src), aws.ToString(m.UUID)
			r := Resource{Kind: config.LambdaSQSMaxConcurrency, Name: fn + ":" + q, ARN: aws.ToString(m.FunctionArn),
				Keys:   [][2]string{{"event_source_mapping", id}, {"function", fn}, {"queue", q}},
				Found:  fmt.Sprintf("event source mapping %s (queue %s → function %s), no maximum concurrency", id, q, fn),
				Metric: Metric{Namespace: "AWS/Lambda", Name: "ConcurrentExecutions", Stat: "Maximum", Dims: [][2]string{{"FunctionName", fn}}, Unit: "concurrent executions"}}
			if m.ScalingConfig != nil && m.ScalingConfig.MaximumConcurrency != nil {
				r.Current, r.HasLimit = float64(*m.ScalingConfig.MaximumConcurrency), true
				r.Found = fmt.Sprintf("event source mapping %s (queue %s → function %s), maximum concurrency %d", id, q, fn, *m.ScalingConfig.MaximumConcurrency)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (c *Clients) apis(ctx context.Context) ([]Resource, error) {
	names := map[string]string{} // REST API id → name
	var ids []string
	pa := apigateway.NewGetRestApisPaginator(c.APIGateway, &apigateway.GetRestApisInput{})
	for pa.HasMorePages() && len(ids) < maxItems {
		page, err := pa.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("GetRestApis: %w", err)
		}
		for _, a := range page.Items {
			names[aws.ToString(a.Id)] = aws.ToString(a.Name)
			ids = append(ids, aws.ToString(a.Id))
		}
	}
	var out []Resource
	for _, id := range ids {
		st, err := c.APIGateway.GetStages(ctx, &apigateway.GetStagesInput{RestApiId: aws.String(id)})
		if err != nil {
			return nil, fmt.Errorf("GetStages %s: %w", id, err)
		}
		for _, s := range st.Item {
			out = append(out, c.stage(id, names[id], aws.ToString(s.StageName), s.MethodSettings))
		}
	}
	pp := apigateway.NewGetUsagePlansPaginator(c.APIGateway, &apigateway.GetUsagePlansInput{})
	for pp.HasMorePages() && len(out) < maxItems {
		page, err := pp.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("GetUsagePlans: %w", err)
		}
		for _, p := range page.Items {
			out = append(out, c.plan(p.Id, p.Name, p.Throttle, p.ApiStages, names))
		}
	}
	return out, nil
}

func (c *Clients) stage(api, apiName, stage string, ms map[string]apigatewayMethodSetting) Resource {
	r := Resource{Kind: config.APIGatewayStage, Name: apiName + ":" + stage,
		ARN:    fmt.Sprintf("arn:aws:apigateway:%s::/restapis/%s", c.Region, api),
		Keys:   [][2]string{{"rest_api", api}, {"stage", stage}, {"api_name", apiName}},
		Found:  fmt.Sprintf("REST API %s (%s) stage %s, no stage-wide throttle", apiName, api, stage),
		Metric: Metric{Namespace: "AWS/ApiGateway", Name: "Count", Stat: "Sum", PerSecond: true, Dims: [][2]string{{"ApiName", apiName}, {"Stage", stage}}, Unit: "requests/s"}}
	if s, ok := ms["*/*"]; ok && s.ThrottlingRateLimit > 0 {
		r.Current, r.HasLimit = s.ThrottlingRateLimit, true
		r.Found = fmt.Sprintf("REST API %s (%s) stage %s, throttle %g requests/s, burst %d", apiName, api, stage, s.ThrottlingRateLimit, s.ThrottlingBurstLimit)
	}
	return r
}

func (c *Clients) plan(id, name *string, th *apigatewayThrottle, stages []apigatewayAPIStage, names map[string]string) Resource {
	pid := aws.ToString(id)
	n := aws.ToString(name)
	if n == "" {
		n = pid
	}
	r := Resource{Kind: config.APIGatewayUsagePlan, Name: n,
		ARN:   fmt.Sprintf("arn:aws:apigateway:%s::/usageplans/%s", c.Region, pid),
		Keys:  [][2]string{{"usage_plan", pid}},
		Found: fmt.Sprintf("usage plan %s (%s), no throttle", n, pid)}
	if len(stages) > 0 {
		api, st := aws.ToString(stages[0].ApiId), aws.ToString(stages[0].Stage)
		if an := names[api]; an != "" {
			r.Keys = append(r.Keys, [2]string{"api_name", an}, [2]string{"stage", st})
			r.Metric = Metric{Namespace: "AWS/ApiGateway", Name: "Count", Stat: "Sum", PerSecond: true, Dims: [][2]string{{"ApiName", an}, {"Stage", st}}, Unit: "requests/s"}
		}
	}
	if th != nil && th.RateLimit > 0 {
		r.Current, r.HasLimit = th.RateLimit, true
		r.Found = fmt.Sprintf("usage plan %s (%s), throttle %g requests/s, burst %d", n, pid, th.RateLimit, th.BurstLimit)
	}
	return r
}

func (c *Clients) tables(ctx context.Context) ([]Resource, error) {
	scaled, err := c.autoScaled(ctx)
	if err != nil {
		return nil, err
	}
	var out []Resource
	p := dynamodb.NewListTablesPaginator(c.DynamoDB, &dynamodb.ListTablesInput{})
	for p.HasMorePages() && len(out) < maxItems {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListTables: %w", err)
		}
		for _, name := range page.TableNames {
			d, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				return nil, fmt.Errorf("DescribeTable %s: %w", name, err)
			}
			out = append(out, table(d.Table, scaled)...)
		}
	}
	return out, nil
}

// autoScaled maps "table/NAME" + dimension to the scalable target's range.
func (c *Clients) autoScaled(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if c.AutoScaling == nil {
		return out, nil
	}
	p := applicationautoscaling.NewDescribeScalableTargetsPaginator(c.AutoScaling, &applicationautoscaling.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceDynamodb})
	for p.HasMorePages() && len(out) < maxItems {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeScalableTargets: %w", err)
		}
		for _, t := range page.ScalableTargets {
			out[aws.ToString(t.ResourceId)+"|"+string(t.ScalableDimension)] = fmt.Sprintf("%d..%d", aws.ToInt32(t.MinCapacity), aws.ToInt32(t.MaxCapacity))
		}
	}
	return out, nil
}
