package runtime

import (
	"reflect"
	"testing"

	"github.com/tiffin-ml/tiffin/runtime/config"
)

func TestPlaceCPU(t *testing.T) {
	tests := []struct {
		name   string
		usable []int
		groups []config.InstanceGroup
		want   [][]int
		notes  int
		err    bool
	}{
		{"one instance takes all", []int{0, 1, 2, 3}, []config.InstanceGroup{{Count: 1}}, [][]int{{0, 1, 2, 3}}, 0, false},
		{"two split evenly", []int{0, 1}, []config.InstanceGroup{{Count: 2}}, [][]int{{0}, {1}}, 0, false},
		{"remainder to the first", []int{0, 1, 2, 3, 4}, []config.InstanceGroup{{Count: 2}}, [][]int{{0, 1, 2}, {3, 4}}, 0, false},
		{"more instances than cores share", []int{0, 1}, []config.InstanceGroup{{Count: 3}}, [][]int{{0}, {1}, {0}}, 1, false},
		{"groups share the split", []int{0, 1, 2, 3}, []config.InstanceGroup{{Count: 1}, {Count: 1}}, [][]int{{0, 1}, {2, 3}}, 0, false},
		{"explicit cores", []int{0, 1, 2, 3}, []config.InstanceGroup{{Count: 2, Cores: []int{2, 3}}}, [][]int{{2}, {3}}, 0, false},
		{"explicit core outside the mask", []int{0, 1}, []config.InstanceGroup{{Count: 1, Cores: []int{5}}}, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plans, notes, err := PlaceCPU(tt.usable, tt.groups)
			if tt.err {
				if err == nil {
					t.Fatal("want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]int
			for _, p := range plans {
				got = append(got, p.Device.Cores)
			}
			if !reflect.DeepEqual(got, tt.want) || len(notes) != tt.notes {
				t.Fatalf("got %v notes %v, want %v and %d notes", got, notes, tt.want, tt.notes)
			}
		})
	}
}
