package transport

import (
	"context"

	"github.com/tiffin-ml/tiffin/runtime"
)

// LoadModel loads or reloads a model for the repository extension. The
// runtime loads the new versions before it retires the old ones, so
// requests keep succeeding through a reload. Load parameters (Triton's
// config and file overrides) are not supported.
func LoadModel(ctx context.Context, m Models, a Access, authorization, name string, params int) error {
	if err := a.AuthorizeControl(authorization); err != nil {
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
func UnloadModel(ctx context.Context, m Models, a Access, authorization, name string) error {
	if err := a.AuthorizeControl(authorization); err != nil {
		return err
	}
	if err := runtime.CheckModelName(name); err != nil {
		return err
	}
	return m.Unload(ctx, name)
}
