#!/usr/bin/env bash
# Regenerates onnx.pb.go from onnx.proto. The generated file is committed, so
# only whoever edits onnx.proto needs protoc; building the repository does not.
#
# Needs protoc 3.21.x (Debian/Ubuntu: apt-get install protobuf-compiler);
# protoc-gen-go is pinned in go.mod and run by third_party/protoc/protoc.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Paths are relative to the repository root so that the file registers with
# the protobuf runtime as backends/onnxpb/onnx.proto, not a bare onnx.proto
# that another package could also claim.
cd "$root"
third_party/protoc/protoc.sh -I . --go_out=. --go_opt=paths=source_relative backends/onnxpb/onnx.proto
echo "gen.sh: wrote backends/onnxpb/onnx.pb.go" >&2
