// Package v2client is tiffin's one client of the KServe V2 (Open Inference
// Protocol) wire: HTTP/REST (JSON, or Triton's binary tensor extension) and
// gRPC (raw_input_contents). `tiffin infer` sends one request with it and
// prints the answer; bench's load generator (`tiffin bench`, `tiffin tune`,
// the scenarios) sends the same prepared request many times with it.
//
// A request is encoded once (HTTP.Prepare, GRPCRequest) and may be sent
// any number of times from any number of goroutines. The load path
// (HTTPCall.Send, GRPC.Client(i).ModelInfer) allocates nothing per request
// beyond what the wire libraries do: fasthttp's request and response come
// from its pools and the body is shared, never copied; the gRPC message is
// shared too, since marshalling only reads it. Infer, for one-off requests,
// also decodes the response into a Response.
//
// The package speaks the wire only: it imports backends for tensors,
// transport for the BYTES element framing, runtime/tensorjson for JSON
// numbers, and transport/inferencepb; nothing of the server's runtime.
package v2client
