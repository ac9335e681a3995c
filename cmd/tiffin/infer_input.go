package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tiffin-ml/tiffin/backends"
	"github.com/tiffin-ml/tiffin/runtime/tensorjson"
)

// jsonTensor reads a JSON array (nested or flat) as a tensor of dt. The
// shape is the nesting unless shape is given.
func jsonTensor(name string, dt backends.DataType, shape []int64, raw []byte) (backends.Tensor, error) {
	t := backends.Tensor{Name: name, DataType: dt}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return t, fmt.Errorf("not JSON: %v", err)
	}
	var leaves []any
	nested, err := flatten(v, 0, nil, &leaves)
	if err != nil {
		return t, err
	}
	t.Shape = nested
	if shape != nil {
		t.Shape = shape
	}
	if n := backends.NumElements(t.Shape); n != int64(len(leaves)) {
		return t, fmt.Errorf("shape %v holds %d elements but the data has %d", t.Shape, n, len(leaves))
	}
	for i, leaf := range leaves {
		if err := appendLeaf(&t, leaf); err != nil {
			return t, fmt.Errorf("element %d: %v", i, err)
		}
	}
	return t, nil
}

// flatten collects the leaves of a rectangular nested array and returns its
// shape; a scalar is a tensor of shape [].
func flatten(v any, depth int, shape []int64, leaves *[]any) ([]int64, error) {
	arr, ok := v.([]any)
	if !ok {
		*leaves = append(*leaves, v)
		return shape, nil
	}
	if depth == len(shape) {
		shape = append(shape, int64(len(arr)))
	} else if shape[depth] != int64(len(arr)) {
		return nil, fmt.Errorf("ragged array: rows of %d and %d elements", shape[depth], len(arr))
	}
	for _, e := range arr {
		var err error
		if shape, err = flatten(e, depth+1, shape, leaves); err != nil {
			return nil, err
		}
	}
	return shape, nil
}

func appendLeaf(t *backends.Tensor, leaf any) error {
	switch x := leaf.(type) {
	case bool:
		if t.DataType != backends.Bool {
			return fmt.Errorf("%v is not %s (use --datatype %s=BOOL)", x, t.DataType, t.Name)
		}
		t.Data = append(t.Data, map[bool]byte{false: 0, true: 1}[x])
		return nil
	case string:
		if t.DataType != backends.Bytes {
			return fmt.Errorf("%q is not %s (use --datatype %s=BYTES)", x, t.DataType, t.Name)
		}
		t.Strings = append(t.Strings, []byte(x))
		return nil
	}
	num, ok := leaf.(json.Number)
	if !ok {
		return fmt.Errorf("want a number, boolean or string, got %v", leaf)
	}
	data, err := tensorjson.AppendElement(t.Data, t.DataType, []byte(num))
	if err != nil {
		return err
	}
	t.Data = data
	return nil
}
