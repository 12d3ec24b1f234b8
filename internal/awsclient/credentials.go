package awsclient

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	smithy "github.com/aws/smithy-go"

	"github.com/autotuner/autotuner/controller"
)

// CredentialsError is a failure to obtain credentials: none configured,
// an expired SSO session, no instance role, a role that cannot be
// assumed. The SDK reports it as a plain wrapped error ("get identity:
// get credentials: ..."), indistinguishable from a network blip, so the
// provider is wrapped to mark it: nothing works until a human fixes it.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string { return fmt.Sprintf("no usable AWS credentials: %v", e.Err) }
func (e *CredentialsError) Unwrap() error { return e.Err }

// ErrorClass is permission, except when the credential service itself
// throttled or failed (STS AssumeRole under load): that passes.
func (e *CredentialsError) ErrorClass() string {
	var api smithy.APIError
	if errors.As(e.Err, &api) {
		if c := codes[api.ErrorCode()]; c == ClassThrottled || c == ClassTransient {
			return string(c)
		}
		if api.ErrorFault() == smithy.FaultServer {
			return string(ClassTransient)
		}
	}
	return string(controller.ClassPermission)
}

// classifiedCredentials marks every retrieval failure of its provider.
type classifiedCredentials struct{ p aws.CredentialsProvider }

var _ aws.CredentialsProvider = classifiedCredentials{}

func (c classifiedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	v, err := c.p.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return v, &CredentialsError{Err: err}
	}
	return v, err
}

// markCredentials wraps cfg's provider, keeping its cache in front.
func markCredentials(p aws.CredentialsProvider) aws.CredentialsProvider {
	if p == nil {
		return nil
	}
	return aws.NewCredentialsCache(classifiedCredentials{p})
}
