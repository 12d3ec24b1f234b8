package lambdamode

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// SSMAPI is the SDK call an SSM policies source needs.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, opts ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var _ SSMAPI = (*ssm.Client)(nil)

// SSMParameters reads a policies file kept in an SSM parameter with the
// SDK's SSM client, so endpoints (AWS_ENDPOINT_URL_SSM, FIPS, dual-stack,
// every partition), retries and error decoding are the SDK's own. The
// binary links the SDK's SSM package anyway (the parameter actuator uses
// it), so its package initialization costs the cold start nothing extra;
// docs/operations.md has the measured numbers.
type SSMParameters struct{ Client SSMAPI }

var _ ParameterReader = SSMParameters{}

// GetParameter returns the parameter's value, decrypted.
func (p SSMParameters) GetParameter(ctx context.Context, name string) (string, error) {
	out, err := p.Client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("SSM GetParameter %s: %w", name, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("SSM GetParameter %s: the parameter has no value", name)
	}
	return *out.Parameter.Value, nil
}
