package awsfake

import (
	"net/http"
)

// Fault is what Server.Chaos decides for one call.
type Fault struct {
	// Err answers the call with this error instead of serving it.
	Err *APIError
	// Drop serves the call (its effect stands), then closes the
	// connection unanswered: a timeout or a lost answer, as the client
	// sees it. The client cannot tell whether the call took effect.
	Drop bool
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// ServerError is a 5xx in the protocol of service.
func ServerError(service string) APIError {
	switch service {
	case "lambda":
		return APIError{Status: 500, Code: "ServiceException", Message: "awsfake: injected service error"}
	case "apigateway":
		return APIError{Status: 500, Code: "InternalServerErrorException", Message: "awsfake: injected service error"}
	case "dynamodb":
		return APIError{Status: 500, Code: "InternalServerError", Message: "awsfake: injected service error"}
	}
	return APIError{Status: 503, Code: "ServiceUnavailable", Message: "awsfake: injected service error"}
}

// ThrottleError is the service's own throttling error.
func ThrottleError(service string) APIError { return throttleError(service) }
