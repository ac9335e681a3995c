// Package grpc is tiffin's gRPC front end, on google.golang.org/grpc: the
// KServe V2 (Open Inference Protocol) service inference.GRPCInferenceService
// with the Triton extensions Triton's own clients call (streaming
// inference, model config, statistics, repository index/load/unload), so
// tritonclient and perf_analyzer work against tiffin unmodified.
//
// Beside it the server registers the standard grpc.health.v1 service, which
// reports SERVING while the server is ready (the same readiness as
// ServerReady, checked every HealthInterval), and server reflection, so
// grpcurl works without the .proto files.
//
// Requests carry their tensors either as typed contents or as
// raw_input_contents (little-endian bytes; BYTES elements each a 4-byte
// little-endian length then the bytes). Responses are always raw
// (raw_output_contents), as Triton's are: Triton's clients read only those,
// even those that send typed contents.
//
// A unary ModelInfer in Triton's form (raw contents, no parameters) is read
// straight from the received message (wire.go): its raw contents are used
// where they arrived, and the call's memory is pooled (call.go). Anything
// else, and every stream, goes through protobuf's generated code.
//
// The package decodes and encodes only: the runtime validates every request
// against its model (Signature.Validate, inside Manager.Infer), and errors
// become gRPC codes in one place, transport.GRPCCode. Each call's context
// goes to the runtime, so a call cancelled or past its deadline is dropped
// from the model's queue before it runs.
package grpc
