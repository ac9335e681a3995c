package gpu

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// VisibleDevicesEnv is the environment variable CUDA reads to restrict and
// renumber the devices a process sees.
const VisibleDevicesEnv = "CUDA_VISIBLE_DEVICES"

var (
	errNoDevice  = errors.New("no such device")
	errAmbiguous = errors.New("prefix matches more than one device")
	errDuplicate = errors.New("device listed twice")
	errSyntax    = errors.New("not an index, GPU-<uuid> or MIG-<uuid>")
	errLegacyMIG = errors.New("the legacy MIG-GPU-<uuid>/<gi>/<ci> form is not supported; use the MIG-<uuid> shown by nvidia-smi -L")
)

// FilterVisibleEnv applies the CUDA_VISIBLE_DEVICES read through lookup
// (os.LookupEnv when nil). When the variable is unset every device is
// visible and devs is returned unchanged (as a copy).
func FilterVisibleEnv(devs []Device, lookup func(string) (string, bool)) ([]Device, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env, ok := lookup(VisibleDevicesEnv)
	if !ok {
		return slices.Clone(devs), nil
	}
	return FilterVisible(devs, env)
}

// FilterVisible returns the devices that CUDA makes visible when
// CUDA_VISIBLE_DEVICES is set to env, in the order env lists them and
// renumbered 0..n-1 as CUDA does (PhysicalIndex keeps the NVML index).
// Call it only when the variable is set: an unset variable means every
// device (see FilterVisibleEnv), while a set but empty one means none.
//
// env is a comma-separated list of NVML indexes, GPU UUIDs or MIG UUIDs;
// a UUID may be abbreviated to any prefix that matches a single device.
// "-1" and "NoDevFiles" hide every device. A MIG UUID selects that MIG
// instance: the result has its UUID and memory, ParentUUID set, and the
// rest of its parent GPU's fields.
//
// Like CUDA, parsing stops at the first entry that is malformed, unknown,
// ambiguous or a duplicate: the devices listed before it are returned
// together with an error that names it.
func FilterVisible(devs []Device, env string) ([]Device, error) {
	env = strings.TrimSpace(env)
	if env == "" || env == "NoDevFiles" {
		return nil, nil
	}
	var out []Device
	seen := make(map[string]bool)
	for tok := range strings.SplitSeq(env, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "-1" {
			break
		}
		d, err := resolveVisible(devs, tok)
		if err == nil && seen[d.UUID] {
			err = errDuplicate
		}
		if err != nil {
			return out, fmt.Errorf("gpu: %s=%q: entry %q: %w (it and the entries after it are ignored, as CUDA does)",
				VisibleDevicesEnv, env, tok, err)
		}
		seen[d.UUID] = true
		d.Index = len(out)
		out = append(out, d)
	}
	return out, nil
}

// resolveVisible finds the device one CUDA_VISIBLE_DEVICES entry names.
func resolveVisible(devs []Device, tok string) (Device, error) {
	upper := strings.ToUpper(tok)
	switch {
	case strings.HasPrefix(upper, "MIG-GPU-"):
		return Device{}, errLegacyMIG
	case strings.HasPrefix(upper, "MIG-"):
		return resolveMIG(devs, tok)
	case strings.HasPrefix(upper, "GPU-"):
		return uniquePrefix(devs, tok, func(d Device) string { return d.UUID })
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 {
		return Device{}, errSyntax
	}
	for _, d := range devs {
		if d.PhysicalIndex == n {
			return d, nil
		}
	}
	return Device{}, errNoDevice
}

// resolveMIG finds the MIG instance whose UUID starts with tok and returns
// it as a Device carrying its parent's index and capabilities.
func resolveMIG(devs []Device, tok string) (Device, error) {
	type inst struct {
		parent Device
		mig    MIGDevice
	}
	var all []inst
	for _, d := range devs {
		for _, m := range d.MIGDevices {
			all = append(all, inst{d, m})
		}
	}
	found, err := uniquePrefix(all, tok, func(i inst) string { return i.mig.UUID })
	if err != nil {
		return Device{}, err
	}
	d := found.parent
	d.ParentUUID = d.UUID
	d.UUID, d.MIGDevices = found.mig.UUID, nil
	d.MemoryTotal, d.MemoryFree = found.mig.MemoryTotal, found.mig.MemoryFree
	if found.mig.Name != "" {
		d.Name = found.mig.Name
	}
	return d, nil
}

// uniquePrefix returns the one element whose key starts with prefix
// (case-insensitively).
func uniquePrefix[T any](items []T, prefix string, key func(T) string) (T, error) {
	var match T
	n := 0
	for _, it := range items {
		k := key(it)
		if len(k) >= len(prefix) && strings.EqualFold(k[:len(prefix)], prefix) {
			match = it
			n++
		}
	}
	switch n {
	case 0:
		var zero T
		return zero, errNoDevice
	case 1:
		return match, nil
	default:
		var zero T
		return zero, errAmbiguous
	}
}
