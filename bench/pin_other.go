//go:build !linux

package bench

import "errors"

// PinProcess is Linux only.
func PinProcess(string) error { return errors.New("--pin-client needs Linux") }
