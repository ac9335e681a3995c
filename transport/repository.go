package transport

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/tiffin-ml/tiffin/runtime"
)

// RepositoryControl guards the repository extension's load and unload,
// for both front ends. The index is read-only and stays open.
type RepositoryControl struct {
	// Enabled allows load and unload; when false they fail with
	// KindPermissionDenied.
	Enabled bool
	// Token, when set, is the bearer token load and unload need: an HTTP
	// "Authorization: Bearer <token>" header, or gRPC "authorization"
	// metadata of the same form.
	Token string
}

// Authorize checks an authorization value ("Bearer <token>") against the
// control's settings.
func (c RepositoryControl) Authorize(authorization string) error {
	if !c.Enabled {
		return runtime.Errorf(runtime.KindPermissionDenied, "repository control is switched off on this server (--repository-control=false)")
	}
	if c.Token == "" {
		return nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return runtime.Errorf(runtime.KindUnauthenticated, "repository control needs a bearer token: send \"Authorization: Bearer <token>\"")
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), []byte(c.Token)) != 1 {
		return runtime.Errorf(runtime.KindUnauthenticated, "repository control: the bearer token is not valid")
	}
	return nil
}

// LoadModel loads or reloads a model for the repository extension. The
// runtime loads the new versions before it retires the old ones, so
// requests keep succeeding through a reload. Load parameters (Triton's
// config and file overrides) are not supported.
func LoadModel(ctx context.Context, m Models, c RepositoryControl, authorization, name string, params int) error {
	if err := c.Authorize(authorization); err != nil {
		return err
	}
	if err := runtime.CheckModelName(name); err != nil {
		return err
	}
	if params > 0 {
		return runtime.Errorf(runtime.KindInvalidArgument, "load parameters (config or file overrides) are not supported; edit the model repository instead")
	}
	return m.Load(ctx, name)
}

// UnloadModel unloads a model for the repository extension; its queued
// requests still finish.
func UnloadModel(ctx context.Context, m Models, c RepositoryControl, authorization, name string) error {
	if err := c.Authorize(authorization); err != nil {
		return err
	}
	if err := runtime.CheckModelName(name); err != nil {
		return err
	}
	return m.Unload(ctx, name)
}
