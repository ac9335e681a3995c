// Package transport owns the wire. Its sub-packages speak the KServe V2
// (Open Inference) protocol: http on fasthttp, and grpc. This package holds
// what they share: the one place where runtime errors become HTTP status
// codes and gRPC codes.
//
// Transports decode requests into runtime.InferRequest and encode
// runtime.InferResponse. They never validate a request against a model:
// runtime does that once, for every transport.
package transport
