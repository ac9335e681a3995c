// Package tensorjson owns the JSON text of tensor elements: reading JSON
// numbers and booleans exactly into little-endian tensor bytes (with a
// one-pass fast path for plain decimals that gives what strconv gives),
// and writing elements back as JSON. The HTTP front end and the job queue
// both use it, so a value reads and prints the same on either path.
//
// It knows datatypes, not the wire: the arrays, objects and shapes around
// the elements belong to its callers.
package tensorjson
