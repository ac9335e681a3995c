package runtime

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/config"
)

// fakeInventory builds an inventory of n physical cores with smt threads
// each (CPU ids core, core+n, ... as Linux numbers them), split evenly over
// nodes NUMA nodes, and the given GPUs.
func fakeInventory(n, smt, nodes int, gpus ...int) Inventory {
	var inv Inventory
	for c := range n {
		core := []int{c}
		for t := 1; t < smt; t++ {
			core = append(core, c+t*n)
		}
		inv.Cores = append(inv.Cores, core)
		inv.Nodes = append(inv.Nodes, c*nodes/n)
	}
	inv.GPUs = gpus
	return inv
}

func cpuGroup(model string, count int) GroupRequest {
	return GroupRequest{Model: model, InstanceGroup: config.InstanceGroup{Kind: config.KindCPU, Count: count}}
}

func describe(plans []InstancePlan) string {
	var parts []string
	for _, p := range plans {
		if p.Device.Kind == backends.GPU {
			parts = append(parts, fmt.Sprintf("%s:gpu%d%v", p.Model, p.Device.GPU, p.Device.Cores))
		} else {
			parts = append(parts, fmt.Sprintf("%s:%v", p.Model, p.Device.Cores))
		}
	}
	return strings.Join(parts, " ")
}

func TestPlace(t *testing.T) {
	tests := []struct {
		name  string
		inv   Inventory
		reqs  []GroupRequest
		want  string
		notes int
		err   string
	}{
		{"laptop: one instance takes both cores", fakeInventory(2, 1, 1), []GroupRequest{cpuGroup("a", 1)}, "a:[0 1]", 0, ""},
		{"count 2 on 2 cores: one core each", fakeInventory(2, 1, 1), []GroupRequest{cpuGroup("a", 2)}, "a:[0] a:[1]", 0, ""},
		{"SMT siblings stay together", fakeInventory(4, 2, 1), []GroupRequest{cpuGroup("a", 2)}, "a:[0 4 1 5] a:[2 6 3 7]", 0, ""},
		{"models split the cores without overlap", fakeInventory(8, 1, 1), []GroupRequest{cpuGroup("a", 1), cpuGroup("b", 3)},
			"a:[0 1] b:[2 3] b:[4 5] b:[6 7]", 0, ""},
		{"NUMA-local: two instances, two nodes", fakeInventory(8, 2, 2), []GroupRequest{cpuGroup("a", 2)},
			"a:[0 8 1 9 2 10 3 11] a:[4 12 5 13 6 14 7 15]", 0, ""},
		{"more instances than cores share the least used", fakeInventory(2, 1, 1), []GroupRequest{cpuGroup("a", 1), cpuGroup("b", 1), cpuGroup("c", 1)},
			"a:[0] b:[1] c:[0]", 1, ""},
		{"explicit cores", fakeInventory(4, 1, 1), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindCPU, Count: 2, Cores: []int{2, 3}}}},
			"a:[2] a:[3]", 0, ""},
		{"explicit core outside the mask", fakeInventory(2, 1, 1), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindCPU, Count: 1, Cores: []int{5}}}},
			"", 0, "instance_groups[0].cores: cpu 5 is outside"},
		{"gpu: count per listed GPU", fakeInventory(4, 1, 1, 0, 1), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindGPU, Count: 2}}},
			"a:gpu0[0] a:gpu0[1] a:gpu1[2] a:gpu1[3]", 0, ""},
		{"gpu: explicit list", fakeInventory(2, 1, 1, 0, 1, 2, 3, 4, 5, 6, 7), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindGPU, Count: 1, GPUs: []int{3, 5}}}},
			"a:gpu3[0] a:gpu5[1]", 0, ""},
		{"gpu on a CPU host", fakeInventory(2, 1, 1), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindGPU, Count: 1}}},
			"", 0, "has no GPU"},
		{"gpu not visible", fakeInventory(2, 1, 1, 0), []GroupRequest{{Model: "a", InstanceGroup: config.InstanceGroup{Kind: config.KindGPU, Count: 1, GPUs: []int{2}}}},
			"", 0, "GPU 2 is not visible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans, notes, err := Place(tt.inv, tt.reqs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(plans); got != tt.want || len(notes) != tt.notes {
				t.Fatalf("got %s (notes %v), want %s and %d notes", got, notes, tt.want, tt.notes)
			}
		})
	}
}

func TestPlacerReleaseReusesCores(t *testing.T) {
	p := NewPlacer(fakeInventory(4, 1, 1))
	a, _, _ := p.Place([]GroupRequest{cpuGroup("a", 2)}, 4)
	b, _, _ := p.Place([]GroupRequest{cpuGroup("b", 2)}, 4)
	if got := describe(append(a, b...)); got != "a:[0] a:[1] b:[2] b:[3]" {
		t.Fatalf("got %s", got)
	}
	p.Release(a)
	c, _, _ := p.Place([]GroupRequest{cpuGroup("c", 1)}, 4)
	if got := describe(c); got != "c:[0]" {
		t.Fatalf("after release: %s", got)
	}
}

// The process runs at most MaxProcessInstances instances in all: a load
// past it is refused naming the totals, holds nothing, and room released
// by an unload can be placed again.
func TestPlacerBoundsTheProcessInstances(t *testing.T) {
	p := NewPlacer(fakeInventory(2, 1, 1))
	var held [][]InstancePlan
	for i := range MaxProcessInstances / config.MaxInstancesLimit {
		plans, _, err := p.Place([]GroupRequest{cpuGroup(fmt.Sprint("m", i), config.MaxInstancesLimit)}, 2)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, plans)
	}
	users := fmt.Sprint(p.coreUsers)
	_, _, err := p.Place([]GroupRequest{cpuGroup("one-more", 1)}, 2)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("would run %d instances in all, with the %d already running; the most is %d",
		MaxProcessInstances+1, MaxProcessInstances, MaxProcessInstances)) {
		t.Fatalf("one past the bound: %v", err)
	}
	if got := fmt.Sprint(p.coreUsers); got != users {
		t.Fatalf("a refused load holds cores: %s, before %s", got, users)
	}
	p.Release(held[0])
	if _, _, err := p.Place([]GroupRequest{cpuGroup("one-more", 1)}, 2); err != nil {
		t.Fatalf("after an unload: %v", err)
	}
}
