// Package config owns tiffin's typed configuration: the server's settings
// (from flags) and each model's config.yaml in the model repository, or a
// Triton repository's config.pbtxt, mapped onto the same Model (triton.go).
// Defaults sit next to the fields; validation errors name the file and the
// field.
//
// It only reads and checks configuration. Acting on it (loading models,
// placing instances) belongs to the runtime package.
package config
