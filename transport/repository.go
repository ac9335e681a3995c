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
// requests still finish. Unloading a model that is not loaded (unloaded
// already, or not in the repository) succeeds and changes nothing, as in
// Triton, so a client's cleanup can unload without asking first.
func UnloadModel(ctx context.Context, m Models, a Access, authorization, name string) error {
	if err := a.AuthorizeControl(authorization); err != nil {
		return err
	}
	if err := runtime.CheckModelName(name); err != nil {
		return err
	}
	if err := m.Unload(ctx, name); runtime.KindOf(err) != runtime.KindNotFound {
		return err
	}
	return nil
}
