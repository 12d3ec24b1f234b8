package lambdamode

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/autotuner/autotuner/config"
)

// S3API is the SDK call an S3 policies source needs; ParameterReader
// reads an SSM parameter (SSMParameters).
type (
	S3API interface {
		GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	}
	ParameterReader interface {
		GetParameter(ctx context.Context, name string) (string, error)
	}
)

var _ S3API = (*s3.Client)(nil)

// maxPolicies matches the policies loader's own limit.
const maxPolicies = 4 << 20

// Location says where the policies file lives: "s3://bucket/key",
// "ssm:/parameter/name", or a path (relative paths are taken from the
// deployment package's root).
type Location struct {
	Kind   string // file, s3, ssm
	Path   string // file
	Bucket string // s3
	Key    string // s3, or the SSM parameter name
}

// ParseLocation reads a location as AUTOTUNER_POLICIES gives it.
func ParseLocation(s, taskRoot string) (Location, error) {
	switch {
	case strings.HasPrefix(s, "s3://"):
		b, k, ok := strings.Cut(strings.TrimPrefix(s, "s3://"), "/")
		if !ok || b == "" || k == "" {
			return Location{}, fmt.Errorf("policies location %q: want s3://bucket/key", s)
		}
		return Location{Kind: "s3", Bucket: b, Key: k}, nil
	case strings.HasPrefix(s, "ssm:"):
		name := strings.TrimPrefix(s, "ssm:")
		if name == "" {
			return Location{}, fmt.Errorf("policies location %q: want ssm:/parameter/name", s)
		}
		return Location{Kind: "ssm", Key: name}, nil
	case s == "":
		s = "policies.yaml"
	}
	if !strings.HasPrefix(s, "/") && taskRoot != "" {
		s = taskRoot + "/" + s
	}
	return Location{Kind: "file", Path: s}, nil
}

func (l Location) String() string {
	switch l.Kind {
	case "s3":
		return "s3://" + l.Bucket + "/" + l.Key
	case "ssm":
		return "ssm:" + l.Key
	}
	return l.Path
}

// Policies loads and caches the policies file. A file from the deployment
// package is read once; one from S3 or SSM is read again after Refresh, so
// an update takes effect without a deployment. When a refresh fails or the
// new file is invalid, the last good file stays in force and the problem
// is reported once per refresh.
type Policies struct {
	Loc     Location
	S3      S3API
	SSM     ParameterReader
	Refresh time.Duration // 0 means 1 minute; file sources never refresh
	Now     func() time.Time
	// Selector expands selector entries (package discover); a file with
	// any is read again every defaults.discover_every, whatever its source.
	Selector config.Selector

	mu      sync.Mutex
	f       *config.File
	fetched time.Time
}

// Get returns the policies in force; stale reports a refresh problem that
// left the previous file in place.
func (p *Policies) Get(ctx context.Context) (f *config.File, stale error, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.Now != nil {
		now = p.Now()
	}
	refresh := p.Refresh
	if refresh <= 0 {
		refresh = time.Minute
	}
	if p.f != nil && p.f.Selectors > 0 && p.Selector != nil {
		refresh = p.f.Defaults.DiscoverEvery
		if p.Loc.Kind != "file" {
			refresh = min(refresh, max(p.Refresh, time.Second))
		}
	}
	if p.f != nil && (p.Loc.Kind == "file" && (p.f.Selectors == 0 || p.Selector == nil) || now.Sub(p.fetched) < refresh) {
		return p.f, nil, nil
	}
	nf, err := p.load(ctx)
	if err != nil {
		if p.f != nil {
			p.fetched = now // do not hammer a failing source
			return p.f, err, nil
		}
		return nil, nil, err
	}
	p.f, p.fetched = nf, now
	return nf, nil, nil
}

func (p *Policies) load(ctx context.Context) (*config.File, error) {
	var data []byte
	switch p.Loc.Kind {
	case "file":
		return config.LoadWith(p.Loc.Path, config.Options{Selector: p.Selector, Context: ctx})
	case "s3":
		if p.S3 == nil {
			return nil, fmt.Errorf("policies %s: no S3 client", p.Loc)
		}
		out, err := p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Loc.Bucket), Key: aws.String(p.Loc.Key)})
		if err != nil {
			return nil, fmt.Errorf("policies %s: %w", p.Loc, err)
		}
		defer out.Body.Close()
		data, err = io.ReadAll(io.LimitReader(out.Body, maxPolicies+1))
		if err != nil {
			return nil, fmt.Errorf("policies %s: %w", p.Loc, err)
		}
	case "ssm":
		if p.SSM == nil {
			return nil, fmt.Errorf("policies %s: no SSM client", p.Loc)
		}
		v, err := p.SSM.GetParameter(ctx, p.Loc.Key)
		if err != nil {
			return nil, fmt.Errorf("policies %s: %w", p.Loc, err)
		}
		data = []byte(v)
	default:
		return nil, fmt.Errorf("policies: unknown location kind %q", p.Loc.Kind)
	}
	return config.ParseWith(p.Loc.String(), data, config.Options{Selector: p.Selector, Context: ctx})
}
