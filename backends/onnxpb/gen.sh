#!/usr/bin/env bash
# Regenerates onnx.pb.go from onnx.proto. The generated file is committed, so
# only whoever edits onnx.proto needs protoc; building the repository does not.
#
# Needs protoc 3.21.x (Debian/Ubuntu: apt-get install protobuf-compiler) and
# protoc-gen-go at the version go.mod requires, which this script installs
# with `go install` when the one on PATH differs.
set -euo pipefail

readonly PROTOC_GEN_GO_VERSION=v1.36.12
readonly PROTOC_SERIES=3.21

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

ensure_protoc() {
	if ! command -v protoc >/dev/null 2>&1; then
		echo "gen.sh: protoc not found; install protoc ${PROTOC_SERIES}.x (Debian package protobuf-compiler)" >&2
		exit 1
	fi
	local version
	version="$(protoc --version | awk '{print $2}')"
	case "$version" in
	"${PROTOC_SERIES}".*) ;;
	*)
		echo "gen.sh: protoc is $version, want ${PROTOC_SERIES}.x (Debian package protobuf-compiler)" >&2
		exit 1
		;;
	esac
}

ensure_protoc_gen_go() {
	local gobin
	gobin="$(go env GOBIN)"
	if [[ -z "$gobin" ]]; then
		gobin="$(go env GOPATH | cut -d: -f1)/bin"
	fi
	export PATH="$gobin:$PATH"
	if command -v protoc-gen-go >/dev/null 2>&1 &&
		[[ "$(protoc-gen-go --version 2>/dev/null)" == "protoc-gen-go ${PROTOC_GEN_GO_VERSION}" ]]; then
		return
	fi
	echo "gen.sh: installing protoc-gen-go@${PROTOC_GEN_GO_VERSION}" >&2
	GOBIN="$gobin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
}

ensure_protoc
ensure_protoc_gen_go

# Paths are relative to the repository root so that the file registers with
# the protobuf runtime as backends/onnxpb/onnx.proto, not a bare onnx.proto
# that another package could also claim.
cd "$root"
protoc -I . --go_out=. --go_opt=paths=source_relative backends/onnxpb/onnx.proto
echo "gen.sh: wrote backends/onnxpb/onnx.pb.go" >&2
