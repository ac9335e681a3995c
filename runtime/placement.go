package runtime

import (
	"fmt"
	"slices"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// Inventory is what placement knows of the host.
type Inventory struct {
	// Cores are the usable physical cores, each the list of its allowed SMT
	// siblings, ordered by NUMA node and then by CPU id.
	Cores [][]int
	// Nodes[i] is the NUMA node of Cores[i].
	Nodes []int
	// GPUs are the CUDA device indexes visible to the process.
	GPUs []int
	// GPUMemory is each visible GPU's memory in bytes, by CUDA index; a
	// GPU missing from it has unknown memory.
	GPUMemory map[int]uint64
}

// GroupRequest is one instance group of one model version, with its kind
// already resolved to cpu or gpu.
type GroupRequest struct {
	Model string
	Group int // index into the model's instance_groups
	config.InstanceGroup
}

// InstancePlan is where one instance runs.
type InstancePlan struct {
	Model  string
	Group  int
	Device backends.Device
}

// Place is placement as a pure function: it places every group, in order,
// on a fresh host. It is what `tiffin devices` prints and what the tests
// check over fake topologies.
func Place(inv Inventory, reqs []GroupRequest) ([]InstancePlan, []string, error) {
	return NewPlacer(inv).Place(reqs, countCPUInstances(reqs))
}

// Placer hands cores and GPUs to instances, keeping count of how many
// instances use each core and GPU, so that what is placed later lands on
// what is least used. The Manager owns one, under its load lock.
type Placer struct {
	inv       Inventory
	coreUsers []int // per entry of inv.Cores
	gpuUsers  map[int]int
	placed    int // instances placed and not released, every model's
}

// MaxProcessInstances is the most instances the process runs at once,
// every model's and version's together. An instance may hold an OS thread
// of its own (and ONNX Runtime's pool beside it); Go ends a process that
// passes 10,000 threads, so a load past this is refused instead.
const MaxProcessInstances = 1024

// NewPlacer returns a placer with nothing placed.
func NewPlacer(inv Inventory) *Placer {
	return &Placer{inv: inv, coreUsers: make([]int, len(inv.Cores)), gpuUsers: map[int]int{}}
}

// Place places groups. expected is how many CPU instances the host is to
// run in all (at start: every model's); cores are split between that many
// instances without overlap, physical cores whole (SMT siblings together)
// and each instance's cores from one NUMA node where they fit. With more
// instances than cores, instances share the least used cores, and a note
// says so.
func (p *Placer) Place(reqs []GroupRequest, expected int) ([]InstancePlan, []string, error) {
	if len(p.inv.Cores) == 0 {
		return nil, nil, fmt.Errorf("no usable CPUs")
	}
	share := max(1, len(p.inv.Cores)/max(expected, 1))
	var plans []InstancePlan
	var notes []string
	for _, r := range reqs {
		var got []InstancePlan
		var err error
		switch {
		case r.Kind == config.KindGPU:
			got, err = p.placeGPU(r)
		case len(r.Cores) > 0:
			got, err = p.placeExplicit(r)
		default:
			got = p.placeCPU(r, share)
		}
		if err != nil {
			p.unplace(plans) // the groups placed before this one
			return nil, nil, err
		}
		plans = append(plans, got...)
	}
	if p.placed+len(plans) > MaxProcessInstances {
		p.unplace(plans)
		return nil, nil, fmt.Errorf("this load would run %d instances in all, with the %d already running; the most is %d: lower instance_groups[].count, or the versions loaded (version_policy)",
			p.placed+len(plans), p.placed, MaxProcessInstances)
	}
	p.placed += len(plans)
	if n := countCPUInstances(reqs); n > len(p.inv.Cores) {
		notes = append(notes, fmt.Sprintf("%d CPU instances share %d cores", n, len(p.inv.Cores)))
	}
	return plans, notes, nil
}

// Release gives back what plans held, when their model version unloads.
func (p *Placer) Release(plans []InstancePlan) {
	p.placed -= len(plans)
	p.unplace(plans)
}

// unplace gives back the cores and GPUs plans hold.
func (p *Placer) unplace(plans []InstancePlan) {
	for _, pl := range plans {
		if pl.Device.Kind == backends.GPU {
			p.gpuUsers[pl.Device.GPU]--
		}
		for i, core := range p.inv.Cores {
			if slices.Contains(pl.Device.Cores, core[0]) {
				p.coreUsers[i]--
			}
		}
	}
}

func (p *Placer) placeCPU(r GroupRequest, share int) []InstancePlan {
	plans := make([]InstancePlan, 0, max(r.Count, 1))
	for range max(r.Count, 1) {
		at := p.leastUsedWindow(share)
		var cpus []int
		for i := at; i < at+share; i++ {
			cpus = append(cpus, p.inv.Cores[i]...)
			p.coreUsers[i]++
		}
		plans = append(plans, InstancePlan{Model: r.Model, Group: r.Group, Device: backends.Device{Kind: backends.CPU, Cores: cpus}})
	}
	return plans
}

// leastUsedWindow finds the run of n consecutive cores with the fewest
// users, preferring runs inside one NUMA node; ties go to the lowest ids.
func (p *Placer) leastUsedWindow(n int) int {
	best, bestCost := 0, -1
	for at := 0; at+n <= len(p.inv.Cores); at++ {
		cost := 0
		for i := at; i < at+n; i++ {
			cost += p.coreUsers[i] * 4
			if i > at && len(p.inv.Nodes) > i && p.inv.Nodes[i] != p.inv.Nodes[at] {
				cost++ // straddles NUMA nodes
			}
		}
		if bestCost < 0 || cost < bestCost {
			best, bestCost = at, cost
		}
	}
	return best
}

func (p *Placer) placeExplicit(r GroupRequest) ([]InstancePlan, error) {
	for _, c := range r.Cores {
		if p.coreIndex(c) < 0 {
			return nil, &config.FieldError{Field: fmt.Sprintf("instance_groups[%d].cores", r.Group),
				Msg: fmt.Sprintf("cpu %d is outside the CPUs this process may use", c)}
		}
	}
	sets, _ := splitCores(r.Cores, max(r.Count, 1))
	plans := make([]InstancePlan, len(sets))
	for i, s := range sets {
		for _, c := range s {
			p.coreUsers[p.coreIndex(c)]++
		}
		plans[i] = InstancePlan{Model: r.Model, Group: r.Group, Device: backends.Device{Kind: backends.CPU, Cores: s}}
	}
	return plans, nil
}

// placeGPU puts count instances on each listed GPU (all GPUs when none are
// listed), each with one least-used core to feed it.
func (p *Placer) placeGPU(r GroupRequest) ([]InstancePlan, error) {
	field := fmt.Sprintf("instance_groups[%d]", r.Group)
	if len(p.inv.GPUs) == 0 {
		return nil, &config.FieldError{Field: field + ".kind", Msg: "gpu, but this host has no GPU that NVML can see (use cpu or auto)"}
	}
	gpus := r.GPUs
	if len(gpus) == 0 {
		gpus = p.inv.GPUs
	}
	var plans []InstancePlan
	for _, g := range gpus {
		if !slices.Contains(p.inv.GPUs, g) {
			return nil, &config.FieldError{Field: field + ".gpus", Msg: fmt.Sprintf("GPU %d is not visible (visible: %v)", g, p.inv.GPUs)}
		}
		for range max(r.Count, 1) {
			at := p.leastUsedWindow(1)
			p.coreUsers[at]++
			p.gpuUsers[g]++
			plans = append(plans, InstancePlan{Model: r.Model, Group: r.Group,
				Device: backends.Device{Kind: backends.GPU, GPU: g, Cores: slices.Clone(p.inv.Cores[at])}})
		}
	}
	return plans, nil
}

func (p *Placer) coreIndex(cpu int) int {
	for i, core := range p.inv.Cores {
		if slices.Contains(core, cpu) {
			return i
		}
	}
	return -1
}

func countCPUInstances(reqs []GroupRequest) int {
	n := 0
	for _, r := range reqs {
		if r.Kind != config.KindGPU && len(r.Cores) == 0 {
			n += max(r.Count, 1)
		}
	}
	return n
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
