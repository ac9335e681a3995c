package topology

import (
	"reflect"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "\n", want: nil},
		{in: "0", want: []int{0}},
		{in: "0-3\n", want: []int{0, 1, 2, 3}},
		{in: "0-3,8,10-11", want: []int{0, 1, 2, 3, 8, 10, 11}},
		{in: "10-11,0-1", want: []int{0, 1, 10, 11}},
		{in: "0-2,1-3", want: []int{0, 1, 2, 3}},
		{in: " 4 , 5-5 ", want: []int{4, 5}},
		{in: "5-3", wantErr: true},
		{in: "a", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1-", wantErr: true},
		{in: "0,,1", wantErr: true},
		{in: "+1", wantErr: true},
		{in: "0-7:2", wantErr: true},
		{in: "0-4000000000", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseCPUList(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseCPUList(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseCPUList(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFormatCPUList(t *testing.T) {
	tests := []struct {
		in   []int
		want string
	}{
		{nil, ""},
		{[]int{0}, "0"},
		{[]int{0, 1, 2, 3, 8, 10, 11}, "0-3,8,10-11"},
		{[]int{11, 10, 3, 3, 0, 1, 2}, "0-3,10-11"},
		{[]int{1, 3, 5}, "1,3,5"},
	}
	for _, tt := range tests {
		if got := FormatCPUList(tt.in); got != tt.want {
			t.Errorf("FormatCPUList(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if back, err := ParseCPUList(tt.want); err != nil || len(back) != len(uniq(tt.in)) {
			t.Errorf("ParseCPUList(%q) = %v, %v: does not round-trip", tt.want, back, err)
		}
	}
}

func uniq(ids []int) map[int]bool {
	m := make(map[int]bool)
	for _, id := range ids {
		m[id] = true
	}
	return m
}
