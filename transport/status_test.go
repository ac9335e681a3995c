package transport

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/tiffin-ml/tiffin/runtime"
)

// TestStatusEveryKind maps every error kind the runtime has, so a kind
// added without its HTTP status and gRPC code fails here.
func TestStatusEveryKind(t *testing.T) {
	want := map[runtime.Kind]struct {
		http int
		grpc codes.Code
	}{
		runtime.KindInternal:            {500, codes.Internal},
		runtime.KindInvalidArgument:     {400, codes.InvalidArgument},
		runtime.KindNotFound:            {404, codes.NotFound},
		runtime.KindResourceExhausted:   {429, codes.ResourceExhausted},
		runtime.KindDeadlineExceeded:    {504, codes.DeadlineExceeded},
		runtime.KindUnavailable:         {503, codes.Unavailable},
		runtime.KindCancelled:           {499, codes.Canceled},
		runtime.KindPermissionDenied:    {403, codes.PermissionDenied},
		runtime.KindUnauthenticated:     {401, codes.Unauthenticated},
		runtime.KindConflict:            {409, codes.FailedPrecondition},
		runtime.KindTooLarge:            {413, codes.ResourceExhausted},
		runtime.KindRequestTimeout:      {408, codes.DeadlineExceeded},
		runtime.KindHeaderTooLarge:      {431, codes.ResourceExhausted},
		runtime.KindUnimplemented:       {501, codes.Unimplemented},
		runtime.KindMethodNotAllowed:    {405, codes.Unimplemented},
		runtime.KindInsufficientStorage: {507, codes.ResourceExhausted},
	}
	for _, k := range runtime.Kinds() {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %v has no row in this table: give it an HTTP status and a gRPC code in status.go", k)
			continue
		}
		err := fmt.Errorf("wrapped: %w", runtime.Errorf(k, "a %s error", k))
		if got := HTTPStatus(err); got != w.http {
			t.Errorf("HTTPStatus(%v) = %d, want %d", k, got, w.http)
		}
		if got := GRPCCode(err); got != w.grpc {
			t.Errorf("GRPCCode(%v) = %v, want %v", k, got, w.grpc)
		}
		if k != runtime.KindInternal && (HTTPStatus(err) == 500 || GRPCCode(err) == codes.Internal) {
			t.Errorf("kind %v falls through to internal", k)
		}
	}
	for _, c := range []struct {
		err  error
		http int
		grpc codes.Code
	}{
		{context.DeadlineExceeded, 504, codes.DeadlineExceeded},
		{context.Canceled, 499, codes.Canceled},
		{fmt.Errorf("no kind"), 500, codes.Internal},
	} {
		if HTTPStatus(c.err) != c.http || GRPCCode(c.err) != c.grpc {
			t.Errorf("%v: %d, %v; want %d, %v", c.err, HTTPStatus(c.err), GRPCCode(c.err), c.http, c.grpc)
		}
	}
}
