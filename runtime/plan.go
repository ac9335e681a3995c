package runtime

import (
	"fmt"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

// resolveKinds applies the default instance group (one CPU instance) and
// resolves kind auto: gpu when the host has a GPU, else cpu. auto reports
// whether a GPU group came from auto, so its failure may fall back to CPU.
func resolveKinds(groups []config.InstanceGroup, haveGPU bool) (out []config.InstanceGroup, auto bool) {
	if len(groups) == 0 {
		return []config.InstanceGroup{{Kind: config.KindCPU, Count: 1}}, false
	}
	out = make([]config.InstanceGroup, len(groups))
	for i, g := range groups {
		g.Count = max(g.Count, 1)
		switch g.Kind {
		case "":
			g.Kind = config.KindCPU
		case config.KindAuto:
			g.Kind = config.KindCPU
			if haveGPU {
				g.Kind, auto = config.KindGPU, true
			}
		}
		out[i] = g
	}
	return out, auto
}

// PlanRepository is the placement the repository's models would get on a
// host with this inventory, without loading anything: what `tiffin devices`
// prints. override, when set, edits each config as the server's does (a
// device file). Models that cannot be read are left out with a note.
func PlanRepository(root string, inv Inventory, override func(model string, cfg *config.Model) error) ([]InstancePlan, []string, error) {
	names, err := ListModels(root)
	if err != nil {
		return nil, nil, err
	}
	var reqs []GroupRequest
	var notes []string
	for _, name := range names {
		md, err := ScanModel(root, name)
		if err == nil && override != nil {
			err = override(name, &md.Config)
		}
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		groups, _ := resolveKinds(md.Config.InstanceGroups, len(inv.GPUs) > 0)
		for _, vd := range md.Selected() {
			for i, g := range groups {
				reqs = append(reqs, GroupRequest{Model: fmt.Sprintf("%s/%d", name, vd.Version), Group: i, InstanceGroup: g})
			}
		}
	}
	plans, more, err := Place(inv, reqs)
	return plans, append(notes, more...), err
}
