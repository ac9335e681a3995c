package gorgonia

import (
	"fmt"

	"github.com/tiffin-ml/tiffin/backends/onnxpb"
)

// attrs gives typed access to a node's attributes. A lookup of the wrong type
// is an error rather than a silent default.
type attrs map[string]*onnxpb.AttributeProto

func attrsOf(n *onnxpb.NodeProto) attrs {
	a := make(attrs, len(n.GetAttribute()))
	for _, at := range n.GetAttribute() {
		a[at.GetName()] = at
	}
	return a
}

func (a attrs) has(name string) bool { _, ok := a[name]; return ok }

func (a attrs) check(name string, want onnxpb.AttributeProto_AttributeType) (*onnxpb.AttributeProto, error) {
	at, ok := a[name]
	if !ok {
		return nil, nil
	}
	if at.GetRefAttrName() != "" {
		return nil, fmt.Errorf("attribute %q refers to a function attribute, which is not supported", name)
	}
	if at.GetType() != want {
		return nil, fmt.Errorf("attribute %q has type %s, want %s", name, at.GetType(), want)
	}
	return at, nil
}

// int returns the INT attribute name, or def when it is absent.
func (a attrs) int(name string, def int64) (int64, error) {
	at, err := a.check(name, onnxpb.AttributeProto_INT)
	if at == nil || err != nil {
		return def, err
	}
	return at.GetI(), nil
}

// float returns the FLOAT attribute name, or def when it is absent.
func (a attrs) float(name string, def float32) (float32, error) {
	at, err := a.check(name, onnxpb.AttributeProto_FLOAT)
	if at == nil || err != nil {
		return def, err
	}
	return at.GetF(), nil
}

// ints returns the INTS attribute name as ints, or def when it is absent.
func (a attrs) ints(name string, def []int) ([]int, error) {
	at, err := a.check(name, onnxpb.AttributeProto_INTS)
	if at == nil || err != nil {
		return def, err
	}
	out := make([]int, len(at.GetInts()))
	for i, v := range at.GetInts() {
		out[i] = int(v)
	}
	return out, nil
}

// str returns the STRING attribute name, or def when it is absent.
func (a attrs) str(name, def string) (string, error) {
	at, err := a.check(name, onnxpb.AttributeProto_STRING)
	if at == nil || err != nil {
		return def, err
	}
	return string(at.GetS()), nil
}

// normAxis maps an ONNX axis, which may count from the end, into [0, rank).
func normAxis(axis, rank int) (int, error) {
	if axis < -rank || axis >= rank {
		return 0, fmt.Errorf("axis %d is out of range for rank %d", axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// axisAttr reads the node's axis attribute (def when absent) and
// normalises it for an input of rank rank.
func (c *nodeCtx) axisAttr(def int64, rank int) (int, error) {
	a, err := c.attrs.int("axis", def)
	if err != nil {
		return 0, err
	}
	return normAxis(int(a), rank)
}
