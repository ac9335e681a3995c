package gpu

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
)

// fourGPUs is a host with GPUs 0..3; GPU 2 is in MIG mode with two
// instances.
var fourGPUs = []Device{
	{Index: 0, PhysicalIndex: 0, UUID: "GPU-aaaa1111-0000-0000-0000-000000000000", Name: "A"},
	{Index: 1, PhysicalIndex: 1, UUID: "GPU-aaaa2222-0000-0000-0000-000000000000", Name: "B"},
	{Index: 2, PhysicalIndex: 2, UUID: "GPU-bbbb3333-0000-0000-0000-000000000000", Name: "C", MIGEnabled: true,
		MemoryTotal: 40 << 30, ComputeMajor: 8,
		MIGDevices: []MIGDevice{
			{UUID: "MIG-cccc0001-0000-0000-0000-000000000000", Name: "C MIG 3g.20gb", MemoryTotal: 20 << 30},
			{UUID: "MIG-cccc0002-0000-0000-0000-000000000000", Name: "C MIG 1g.5gb", MemoryTotal: 5 << 30},
		}},
	{Index: 3, PhysicalIndex: 3, UUID: "GPU-dddd4444-0000-0000-0000-000000000000", Name: "D"},
}

func TestFilterVisible(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		wantUUID []string // in CUDA order; Index must be 0..n-1
		wantPhys []int
		wantErr  error
	}{
		{"empty hides all", "", nil, nil, nil},
		{"blank hides all", "  ", nil, nil, nil},
		{"minus one hides all", "-1", nil, nil, nil},
		{"NoDevFiles hides all", "NoDevFiles", nil, nil, nil},
		{"one index", "2", []string{fourGPUs[2].UUID}, []int{2}, nil},
		{"indexes reorder", "3,0", []string{fourGPUs[3].UUID, fourGPUs[0].UUID}, []int{3, 0}, nil},
		{"spaces are trimmed", " 1 , 3 ", []string{fourGPUs[1].UUID, fourGPUs[3].UUID}, []int{1, 3}, nil},
		{"full UUID", fourGPUs[3].UUID, []string{fourGPUs[3].UUID}, []int{3}, nil},
		{"UUID prefix", "GPU-bbbb", []string{fourGPUs[2].UUID}, []int{2}, nil},
		{"UUID prefix any case", "gpu-DDDD4", []string{fourGPUs[3].UUID}, []int{3}, nil},
		{"mixed", "GPU-aaaa2,0", []string{fourGPUs[1].UUID, fourGPUs[0].UUID}, []int{1, 0}, nil},
		{"MIG prefix", "MIG-cccc0002", []string{fourGPUs[2].MIGDevices[1].UUID}, []int{2}, nil},
		{"two MIG of one GPU", "MIG-cccc0001,MIG-cccc0002",
			[]string{fourGPUs[2].MIGDevices[0].UUID, fourGPUs[2].MIGDevices[1].UUID}, []int{2, 2}, nil},
		{"minus one ends the list", "1,-1,2", []string{fourGPUs[1].UUID}, []int{1}, nil},
		{"unknown index stops", "1,7,2", []string{fourGPUs[1].UUID}, []int{1}, errNoDevice},
		{"garbage stops", "0,x", []string{fourGPUs[0].UUID}, []int{0}, errSyntax},
		{"negative index", "-2", nil, nil, errSyntax},
		{"empty entry stops", "0,,1", []string{fourGPUs[0].UUID}, []int{0}, errSyntax},
		{"ambiguous prefix", "GPU-aaaa", nil, nil, errAmbiguous},
		{"ambiguous MIG prefix", "MIG-cccc", nil, nil, errAmbiguous},
		{"unknown UUID", "GPU-ffff", nil, nil, errNoDevice},
		{"duplicate index", "1,1", []string{fourGPUs[1].UUID}, []int{1}, errDuplicate},
		{"duplicate by UUID", "3,GPU-dddd", []string{fourGPUs[3].UUID}, []int{3}, errDuplicate},
		{"legacy MIG form", "MIG-GPU-bbbb3333-0000-0000-0000-000000000000/1/0", nil, nil, errLegacyMIG},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FilterVisible(fourGPUs, tt.env)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("FilterVisible(%q) error = %v, want %v", tt.env, err, tt.wantErr)
			}
			var uuids []string
			var phys []int
			for i, d := range got {
				uuids, phys = append(uuids, d.UUID), append(phys, d.PhysicalIndex)
				if d.Index != i {
					t.Errorf("device %d has Index %d, want %d", i, d.Index, i)
				}
			}
			if !reflect.DeepEqual(uuids, tt.wantUUID) || !reflect.DeepEqual(phys, tt.wantPhys) {
				t.Errorf("FilterVisible(%q) = %v %v, want %v %v", tt.env, uuids, phys, tt.wantUUID, tt.wantPhys)
			}
		})
	}
}

func TestFilterVisibleMIGEntry(t *testing.T) {
	got, err := FilterVisible(fourGPUs, "MIG-cccc0001")
	if err != nil {
		t.Fatal(err)
	}
	want := Device{
		Index: 0, PhysicalIndex: 2, UUID: fourGPUs[2].MIGDevices[0].UUID, Name: "C MIG 3g.20gb",
		MemoryTotal: 20 << 30, ComputeMajor: 8, MIGEnabled: true, ParentUUID: fourGPUs[2].UUID,
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("got %+v, want [%+v]", got, want)
	}
}

func TestFilterVisibleEnv(t *testing.T) {
	unset := func(string) (string, bool) { return "", false }
	got, err := FilterVisibleEnv(fourGPUs, unset)
	if err != nil || !reflect.DeepEqual(got, fourGPUs) {
		t.Errorf("unset: got %v, %v; want every device unchanged", got, err)
	}
	got[0].Index = 99
	if fourGPUs[0].Index == 99 {
		t.Error("FilterVisibleEnv returned the caller's slice, not a copy")
	}
	set := func(k string) (string, bool) { return map[string]string{VisibleDevicesEnv: "3"}[k], true }
	got, err = FilterVisibleEnv(fourGPUs, set)
	if err != nil || len(got) != 1 || got[0].PhysicalIndex != 3 || got[0].Index != 0 {
		t.Errorf("set to 3: got %+v, %v", got, err)
	}
	t.Setenv(VisibleDevicesEnv, "1")
	if got, _ := FilterVisibleEnv(fourGPUs, nil); len(got) != 1 || got[0].PhysicalIndex != 1 {
		t.Errorf("from the environment: got %+v, want GPU 1 only", got)
	}
}

func TestFilterVisibleDoesNotModifyInput(t *testing.T) {
	before := fmt.Sprintf("%+v", fourGPUs)
	_, _ = FilterVisible(fourGPUs, "3,MIG-cccc0001,1")
	if after := fmt.Sprintf("%+v", fourGPUs); after != before {
		t.Errorf("input changed:\n%s\n%s", before, after)
	}
}
