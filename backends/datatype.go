package backends

// DataType is a tensor element type, named as the KServe V2 protocol names it.
type DataType uint8

// The V2 datatypes. Invalid is the zero value and never valid on the wire.
const (
	Invalid DataType = iota
	Bool
	Uint8
	Uint16
	Uint32
	Uint64
	Int8
	Int16
	Int32
	Int64
	FP16
	BF16
	FP32
	FP64
	Bytes
)

var dataTypeNames = [...]string{
	Invalid: "INVALID",
	Bool:    "BOOL",
	Uint8:   "UINT8",
	Uint16:  "UINT16",
	Uint32:  "UINT32",
	Uint64:  "UINT64",
	Int8:    "INT8",
	Int16:   "INT16",
	Int32:   "INT32",
	Int64:   "INT64",
	FP16:    "FP16",
	BF16:    "BF16",
	FP32:    "FP32",
	FP64:    "FP64",
	Bytes:   "BYTES",
}

var dataTypeSizes = [...]int{
	Bool: 1, Uint8: 1, Uint16: 2, Uint32: 4, Uint64: 8,
	Int8: 1, Int16: 2, Int32: 4, Int64: 8,
	FP16: 2, BF16: 2, FP32: 4, FP64: 8,
	Bytes: 0,
}

// String returns the V2 name, such as "FP32".
func (d DataType) String() string {
	if int(d) < len(dataTypeNames) {
		return dataTypeNames[d]
	}
	return "INVALID"
}

// Size is the width of one element in bytes; 0 for BYTES, whose elements vary.
func (d DataType) Size() int {
	if int(d) < len(dataTypeSizes) {
		return dataTypeSizes[d]
	}
	return 0
}

// Valid reports whether d is one of the V2 datatypes.
func (d DataType) Valid() bool { return d > Invalid && d <= Bytes }

// ParseDataType maps a V2 name ("FP32") to its DataType.
func ParseDataType(name string) (DataType, bool) {
	for i, n := range dataTypeNames {
		if i > 0 && n == name {
			return DataType(i), true
		}
	}
	return Invalid, false
}
