package transport

import (
	"crypto/subtle"
	"strings"

	"github.com/tiffin-ml/tiffin/runtime"
)

// Access says who may do what, for both front ends. Health, metadata,
// configuration, statistics and the repository index are always open.
type Access struct {
	// Mode is the model control mode (config.ControlNone, ControlExplicit,
	// ControlPoll); load and unload are allowed only in explicit mode.
	Mode string
	// Token, when set, is the bearer token that load, unload and every job
	// route need: an HTTP "Authorization: Bearer <token>" header, or gRPC
	// "authorization" metadata of the same form.
	Token string
	// InferenceToken, when set, is the bearer token inference needs; the
	// control token is accepted too.
	InferenceToken string
}

// AuthorizeControl checks a load or unload: the mode must allow it and the
// caller must hold the token.
func (a Access) AuthorizeControl(authorization string) error {
	switch a.Mode {
	case "explicit":
	case "poll":
		return runtime.Errorf(runtime.KindPermissionDenied, "model load and unload are refused in model control mode poll: the server follows the repository itself (start with --model-control-mode explicit to control it over the API)")
	default:
		return runtime.Errorf(runtime.KindPermissionDenied, "model load and unload are switched off on this server (model control mode none): start it with --model-control-mode explicit")
	}
	return checkBearer("model control", authorization, a.Token)
}

// AuthorizeJobs checks a job route: submit, list, status, results, cancel.
func (a Access) AuthorizeJobs(authorization string) error {
	return checkBearer("bulk jobs", authorization, a.Token)
}

// AuthorizeInference checks an inference request.
func (a Access) AuthorizeInference(authorization string) error {
	if a.InferenceToken == "" {
		return nil
	}
	if a.Token != "" && checkBearer("inference", authorization, a.Token) == nil {
		return nil
	}
	return checkBearer("inference", authorization, a.InferenceToken)
}

// checkBearer checks "Bearer <token>" against want; an empty want lets
// everyone in.
func checkBearer(what, authorization, want string) error {
	if want == "" {
		return nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return runtime.Errorf(runtime.KindUnauthenticated, "%s needs a bearer token: send \"Authorization: Bearer <token>\"", what)
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(want)) != 1 {
		return runtime.Errorf(runtime.KindUnauthenticated, "%s: the bearer token is not valid", what)
	}
	return nil
}
