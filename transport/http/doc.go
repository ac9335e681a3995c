// Package http is tiffin's REST front end on fasthttp: the KServe V2 (Open
// Inference Protocol) endpoints, with Triton's binary tensor extension.
//
// It decodes the wire into runtime.InferRequest, calls the runtime, and
// encodes runtime.InferResponse. It does not validate requests against
// models (the runtime does), and maps errors to status codes only through
// the transport package.
package http
