package runtime

import (
	"fmt"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// InstancePlan is where one instance of a model version runs.
type InstancePlan struct {
	Group  int // index into the config's instance_groups
	Device backends.Device
}

// PlaceCPU splits CPUs between one model version's CPU instances. It is a
// pure function of the CPUs the process may use (sorted ids) and the
// instance groups. Instances get disjoint core sets while there are enough
// cores; past that, instances share single cores round-robin and a note says
// so. A group's explicit cores must lie inside the usable set.
func PlaceCPU(usable []int, groups []config.InstanceGroup) ([]InstancePlan, []string, error) {
	if len(usable) == 0 {
		return nil, nil, fmt.Errorf("no usable CPUs")
	}
	var plans []InstancePlan
	var notes []string
	shared := 0 // instances drawing from the whole usable set
	for gi, g := range groups {
		if len(g.Cores) == 0 {
			shared += max(g.Count, 1)
			continue
		}
		for _, c := range g.Cores {
			if !slices.Contains(usable, c) {
				return nil, nil, &config.FieldError{Field: fmt.Sprintf("instance_groups[%d].cores", gi),
					Msg: fmt.Sprintf("cpu %d is outside the CPUs this process may use %v", c, usable)}
			}
		}
		sets, note := splitCores(g.Cores, max(g.Count, 1))
		for _, s := range sets {
			plans = append(plans, InstancePlan{Group: gi, Device: backends.Device{Kind: backends.CPU, Cores: s}})
		}
		notes = appendNote(notes, note)
	}
	sets, note := splitCores(usable, shared)
	notes = appendNote(notes, note)
	next := 0
	for gi, g := range groups {
		if len(g.Cores) > 0 {
			continue
		}
		for range max(g.Count, 1) {
			plans = append(plans, InstancePlan{Group: gi, Device: backends.Device{Kind: backends.CPU, Cores: sets[next]}})
			next++
		}
	}
	return plans, notes, nil
}

// splitCores deals cores into n disjoint, contiguous sets, the first ones
// taking the remainder. With fewer cores than sets, sets get one core each,
// round-robin, and the note says they share.
func splitCores(cores []int, n int) ([][]int, string) {
	if n == 0 {
		return nil, ""
	}
	sets := make([][]int, n)
	if n > len(cores) {
		for i := range sets {
			sets[i] = []int{cores[i%len(cores)]}
		}
		return sets, fmt.Sprintf("%d instances share %d cores", n, len(cores))
	}
	per, extra := len(cores)/n, len(cores)%n
	at := 0
	for i := range sets {
		k := per
		if i < extra {
			k++
		}
		sets[i] = slices.Clone(cores[at : at+k])
		at += k
	}
	return sets, ""
}

func appendNote(notes []string, note string) []string {
	if note == "" {
		return notes
	}
	return append(notes, note)
}
