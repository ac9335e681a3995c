// Package inferencepb holds the generated Go code for the KServe V2 (Open
// Inference Protocol) gRPC service, inference.GRPCInferenceService, with
// Triton's extensions, and Triton's model configuration messages.
//
// It sits under transport/, not transport/grpc, because more than the gRPC
// front end speaks these messages: transport/triton.go builds Triton's
// model config from them for both front ends, the HTTP front end reports
// batch statistics with them, and the V2 client (cmd/tiffin's infer
// command, bench's load generator) calls the service.
//
// The .pb.go files are generated from grpc_service.proto and
// model_config.proto and committed; after editing a .proto, run `make
// proto` (gen.sh). `make proto-check`, part of `make test`, fails when the
// committed code differs from what the .proto files generate. The package
// holds no hand-written code besides this file.
package inferencepb
