package transport

import (
	"google.golang.org/grpc/codes"

	"github.com/tiffin-ml/tiffin/runtime"
)

// This file is the one place error kinds become status codes.

// HTTPStatus maps an error from the runtime to its HTTP status code.
func HTTPStatus(err error) int {
	switch runtime.KindOf(err) {
	case runtime.KindInvalidArgument:
		return 400
	case runtime.KindNotFound:
		return 404
	case runtime.KindResourceExhausted:
		return 429
	case runtime.KindDeadlineExceeded:
		return 504
	case runtime.KindUnavailable:
		return 503
	case runtime.KindCancelled:
		return 499 // client closed request, as nginx names it
	case runtime.KindPermissionDenied:
		return 403
	case runtime.KindUnauthenticated:
		return 401
	case runtime.KindConflict:
		return 409
	case runtime.KindTooLarge:
		return 413
	case runtime.KindRequestTimeout:
		return 408
	case runtime.KindHeaderTooLarge:
		return 431
	case runtime.KindUnimplemented:
		return 501
	case runtime.KindMethodNotAllowed:
		return 405
	case runtime.KindInsufficientStorage:
		return 507
	}
	return 500
}

// GRPCCode maps an error from the runtime to its gRPC status code.
func GRPCCode(err error) codes.Code {
	switch runtime.KindOf(err) {
	case runtime.KindInvalidArgument:
		return codes.InvalidArgument
	case runtime.KindNotFound:
		return codes.NotFound
	case runtime.KindResourceExhausted:
		return codes.ResourceExhausted
	case runtime.KindDeadlineExceeded:
		return codes.DeadlineExceeded
	case runtime.KindUnavailable:
		return codes.Unavailable
	case runtime.KindCancelled:
		return codes.Canceled
	case runtime.KindPermissionDenied:
		return codes.PermissionDenied
	case runtime.KindUnauthenticated:
		return codes.Unauthenticated
	case runtime.KindConflict:
		return codes.FailedPrecondition // the state must change first; retrying as is will not help
	case runtime.KindTooLarge:
		return codes.ResourceExhausted // what gRPC itself answers for an oversized message
	case runtime.KindRequestTimeout:
		return codes.DeadlineExceeded
	case runtime.KindHeaderTooLarge, runtime.KindInsufficientStorage:
		return codes.ResourceExhausted
	case runtime.KindUnimplemented, runtime.KindMethodNotAllowed:
		return codes.Unimplemented
	}
	return codes.Internal
}
