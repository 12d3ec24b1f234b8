package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/autotuner/autotuner/controller"
)

// Classes, re-exported so callers need not import controller for them.
const (
	ClassThrottled  = controller.ClassThrottled
	ClassTransient  = controller.ClassTransient
	ClassConflict   = controller.ClassConflict
	ClassQuota      = controller.ClassQuota
	ClassInvalid    = controller.ClassInvalid
	ClassPermission = controller.ClassPermission
	ClassNotFound   = controller.ClassNotFound
	ClassRefused    = controller.ClassRefused
	ClassInternal   = controller.ClassInternal
)

// Error is a failed AWS call (or one autotuner refused to make), with the
// class the audit records.
type Error struct {
	Op       string // the AWS operation, e.g. PutFunctionConcurrency
	Resource string // what it was about, e.g. "function orders"
	Class    controller.Class
	Code     string // the AWS error code, when AWS answered
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Resource != "" {
		b.WriteString(" ")
		b.WriteString(e.Resource)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error      { return e.Err }
func (e *Error) ErrorClass() string { return string(e.Class) }

// Refuse is an error autotuner raises itself, before AWS would refuse.
func Refuse(c controller.Class, op, resource, format string, args ...any) error {
	return &Error{Op: op, Resource: resource, Class: c, Err: fmt.Errorf(format, args...)}
}

// Wrap classifies err from operation op on resource. nil stays nil.
func Wrap(op, resource string, err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	e := &Error{Op: op, Resource: resource, Err: err}
	e.Class, e.Code = classify(err)
	return e
}

// codes maps AWS error codes to classes. Codes differ by service for the
// same trouble, so several map to each class.
var codes = map[string]controller.Class{
	"ThrottlingException":                     ClassThrottled,
	"Throttling":                              ClassThrottled,
	"TooManyRequestsException":                ClassThrottled,
	"RequestLimitExceeded":                    ClassThrottled,
	"ProvisionedThroughputExceededException":  ClassThrottled,
	"RequestThrottled":                        ClassThrottled,
	"ResourceInUseException":                  ClassConflict,
	"ResourceConflictException":               ClassConflict,
	"ConflictException":                       ClassConflict,
	"ConcurrentUpdateException":               ClassConflict,
	"LimitExceededException":                  ClassQuota,
	"ServiceQuotaExceededException":           ClassQuota,
	"InvalidParameterValueException":          ClassInvalid,
	"InvalidParameterException":               ClassInvalid,
	"ValidationException":                     ClassInvalid,
	"BadRequestException":                     ClassInvalid,
	"InvalidParameterCombination":             ClassInvalid,
	"InvalidRequestContentException":          ClassInvalid,
	"AccessDenied":                            ClassPermission,
	"AccessDeniedException":                   ClassPermission,
	"UnauthorizedOperation":                   ClassPermission,
	"UnauthorizedException":                   ClassPermission,
	"UnrecognizedClientException":             ClassPermission,
	"InvalidClientTokenId":                    ClassPermission,
	"ExpiredTokenException":                   ClassPermission,
	"InvalidSignatureException":               ClassPermission,
	"ResourceNotFoundException":               ClassNotFound,
	"NotFoundException":                       ClassNotFound,
	"ObjectNotFoundException":                 ClassNotFound,
	"QueueDoesNotExist":                       ClassNotFound,
	"AWS.SimpleQueueService.NonExistentQueue": ClassNotFound,
	"ServiceUnavailable":                      ClassTransient,
	"ServiceException":                        ClassTransient,
	"InternalServerError":                     ClassTransient,
	"InternalFailure":                         ClassTransient,
	// Step Functions and SSM Parameter Store.
	"InvalidDefinition":                ClassInvalid,
	"InvalidArn":                       ClassInvalid,
	"StateMachineDeleting":             ClassConflict,
	"StateMachineDoesNotExist":         ClassNotFound,
	"TooManyUpdates":                   ClassConflict, // SSM: the parameter is being changed concurrently
	"ParameterNotFound":                ClassNotFound,
	"ParameterMaxVersionLimitExceeded": ClassQuota,
	"ConditionalCheckFailedException":  ClassConflict,
}

func classify(err error) (controller.Class, string) {
	// The SDK joins its client-side retry budget error with the last
	// attempt's error (often a throttle). The budget is this process's,
	// refilled by successes: the call may succeed next tick, so it is
	// transient, not the service throttling us.
	var quota ratelimit.QuotaExceededError
	if errors.As(err, &quota) {
		return ClassTransient, ""
	}
	// No credentials, or none that can be retrieved (no profile, no role,
	// an expired SSO session): nothing works until a human fixes them.
	var creds *CredentialsError
	if errors.As(err, &creds) {
		return controller.Class(creds.ErrorClass()), ""
	}
	var sign *v4.SigningError
	if errors.As(err, &sign) {
		return ClassPermission, ""
	}
	// This machine's own trouble (descriptors, disk, local permissions)
	// surfaces inside network errors too, so it is checked first.
	if c, ok := controller.LocalClass(err); ok {
		return c, ""
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		if c, ok := codes[code]; ok {
			return c, code
		}
		// Namespaced codes such as "com.amazonaws...#ThrottlingException".
		if i := strings.LastIndexAny(code, "#."); i >= 0 {
			if c, ok := codes[code[i+1:]]; ok {
				return c, code
			}
		}
		if api.ErrorFault() == smithy.FaultServer {
			return ClassTransient, code
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == 429:
			return ClassThrottled, ""
		case s == 403:
			return ClassPermission, ""
		case s == 404:
			return ClassNotFound, ""
		case s == 409:
			return ClassConflict, ""
		case s >= 500:
			return ClassTransient, ""
		}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return ClassTransient, ""
	}
	return ClassTransient, ""
}
