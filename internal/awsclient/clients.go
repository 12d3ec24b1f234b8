package awsclient

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
)

// ProtocolEnv names the environment variable that switches the CloudWatch
// wire protocol: cbor (the SDK's default), json or query, for emulators
// that lack Smithy RPC v2 CBOR.
const ProtocolEnv = "AUTOTUNER_CLOUDWATCH_PROTOCOL"

// Options configure client construction. The zero value uses the SDK's
// default credential chain, region resolution, endpoint overrides and
// retryer, with DefaultRates.
type Options struct {
	// Region is used for targets that name none; empty leaves it to the
	// SDK (AWS_REGION, the shared config file).
	Region string
	// CloudWatchProtocol is cbor (default), json or query.
	CloudWatchProtocol string
	// Rates replaces DefaultRates; a plane missing from it is unpaced.
	// NoRateLimits turns client-side pacing off entirely (tests only).
	Rates        map[Plane]Rate
	NoRateLimits bool
	// BudgetWindow is how many seconds' worth of each plane's rate one
	// tick may spend; 0 means 20 s, a third of a 1-minute interval.
	BudgetWindow time.Duration
	// BudgetCaps overrides the per-tick call budget of some planes.
	BudgetCaps map[Plane]int
	// MaxAttempts and MaxBackoff tune the SDK's standard retryer; zero
	// keeps each service's defaults.
	MaxAttempts int
	MaxBackoff  time.Duration
	// StaticCredentials, when set, replaces the default credential chain
	// (tests use AccessKeyID "test").
	StaticCredentials *aws.Credentials
	HTTPClient        aws.HTTPClient
}

// Key identifies an account-and-region: the scope of AWS's control-plane
// quotas. Role is the assumed role ARN, "" for the default credentials.
type Key struct {
	Region string
	Role   string
}

func (k Key) String() string {
	if k.Role == "" {
		return k.Region
	}
	return k.Region + "/" + k.Role
}

// Clients are the service clients of one Key, paced by that key's
// limiters and budget.
type Clients struct {
	Key         Key
	Config      aws.Config
	CloudWatch  *cloudwatch.Client
	Lambda      *lambda.Client
	APIGateway  *apigateway.Client
	DynamoDB    *dynamodb.Client
	SQS         *sqs.Client
	AutoScaling *applicationautoscaling.Client
	STS         *sts.Client
	SFN         *sfn.Client
	SSM         *ssm.Client
	// Budget caps control-plane calls per tick for this key.
	Budget *Budget

	// APIGatewayV2 manages HTTP APIs; its calls share API Gateway's
	// management quota.
	APIGatewayV2 *apigatewayv2.Client
}

// Factory builds and caches Clients per region and role.
type Factory struct {
	opts  Options
	base  aws.Config
	rates map[Plane]Rate

	mu      sync.Mutex
	clients map[Key]*Clients
}

// New loads the base AWS configuration once: credentials, region and the
// endpoint overrides from the environment and shared config files.
func New(ctx context.Context, o Options) (*Factory, error) {
	var lo []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		lo = append(lo, awsconfig.WithRegion(o.Region))
	}
	if o.StaticCredentials != nil {
		c := *o.StaticCredentials
		lo = append(lo, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)))
	}
	if o.HTTPClient != nil {
		lo = append(lo, awsconfig.WithHTTPClient(o.HTTPClient))
	}
	if o.MaxAttempts > 0 || o.MaxBackoff > 0 {
		lo = append(lo, awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				if o.MaxAttempts > 0 {
					so.MaxAttempts = o.MaxAttempts
				}
				if o.MaxBackoff > 0 {
					so.MaxBackoff = o.MaxBackoff
					so.Backoff = retry.NewExponentialJitterBackoff(o.MaxBackoff)
				}
			})
		}))
	}
	switch p := strings.ToLower(o.CloudWatchProtocol); p {
	case "", "cbor", "json", "query":
		o.CloudWatchProtocol = p
	default:
		return nil, fmt.Errorf("CloudWatch protocol %q: must be cbor, json or query", o.CloudWatchProtocol)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	rates := o.Rates
	if rates == nil {
		rates = DefaultRates
	}
	if o.NoRateLimits {
		rates = map[Plane]Rate{}
	}
	if o.BudgetWindow <= 0 {
		o.BudgetWindow = 20 * time.Second
	}
	return &Factory{opts: o, base: cfg, rates: rates, clients: map[Key]*Clients{}}, nil
}

// Region is the region used for targets that name none.
func (f *Factory) Region() string { return f.base.Region }

// Rates are the client-side paces in force.
func (f *Factory) Rates() map[Plane]Rate { return f.rates }

// For returns the clients of region and role, building them once. An
// empty region means the default one.
func (f *Factory) For(region, role string) (*Clients, error) {
	if region == "" {
		region = f.base.Region
	}
	if region == "" {
		return nil, &Error{Op: "configure", Class: ClassInvalid, Err: fmt.Errorf("no AWS region: set defaults.region, the target's region, or AWS_REGION")}
	}
	k := Key{Region: region, Role: role}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[k]; ok {
		return c, nil
	}
	cfg := f.base.Copy()
	cfg.Region = region
	if role != "" {
		stsc := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(stsc, role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "autotuner"
		}))
	}
	cfg.Credentials = markCredentials(cfg.Credentials)
	lim := newLimiters(f.rates)
	c := &Clients{Key: k, Config: cfg, Budget: NewBudget(f.rates, f.opts.BudgetWindow)}
	for p, n := range f.opts.BudgetCaps {
		c.Budget.caps[p] = n
	}
	c.CloudWatch = cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		switch f.opts.CloudWatchProtocol {
		case "query":
			o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
		case "json":
			o.Protocol = awsjson.New10(cwschemas.GraniteServiceVersion20100801)
		}
		o.APIOptions = append(o.APIOptions, lim.middleware("cloudwatch"))
	})
	c.Lambda = lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("lambda")) })
	c.APIGateway = apigateway.NewFromConfig(cfg, func(o *apigateway.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("apigateway")) })
	c.APIGatewayV2 = apigatewayv2.NewFromConfig(cfg, func(o *apigatewayv2.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("apigatewayv2")) })
	c.DynamoDB = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("dynamodb")) })
	c.SQS = sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("sqs")) })
	c.AutoScaling = applicationautoscaling.NewFromConfig(cfg, func(o *applicationautoscaling.Options) {
		o.APIOptions = append(o.APIOptions, lim.middleware("autoscaling"))
	})
	c.STS = sts.NewFromConfig(cfg, func(o *sts.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("sts")) })
	c.SFN = sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("states")) })
	c.SSM = ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.APIOptions = append(o.APIOptions, lim.middleware("ssm")) })
	f.clients[k] = c
	return c, nil
}
