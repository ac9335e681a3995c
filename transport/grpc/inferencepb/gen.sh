#!/usr/bin/env bash
# Regenerates the Go code for the Open Inference Protocol gRPC service from
# grpc_service.proto and model_config.proto. The generated files are
# committed, so only whoever edits the .proto files needs protoc.
#
#   gen.sh          regenerate the committed files in place
#   gen.sh check    regenerate into a temporary folder and fail (exit 1) when
#                   the committed files differ: the drift check `make test` runs
#
# Needs protoc 3.21.x (Debian/Ubuntu: apt-get install protobuf-compiler) and
# the pinned plugins below, which this script installs with `go install`
# when the ones on PATH differ.
set -euo pipefail

readonly PROTOC_GEN_GO_VERSION=v1.36.12
readonly PROTOC_GEN_GO_GRPC_VERSION=v1.5.1
readonly PROTOC_SERIES=3.21
readonly PROTOS=(transport/grpc/inferencepb/model_config.proto transport/grpc/inferencepb/grpc_service.proto)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

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

# ensure_plugin NAME MODULE VERSION installs NAME@VERSION unless NAME on PATH
# already reports VERSION.
ensure_plugin() {
	local name="$1" module="$2" want="$3"
	if command -v "$name" >/dev/null 2>&1 && [[ "$("$name" --version 2>/dev/null)" == "$name ${want}" ]]; then
		return
	fi
	echo "gen.sh: installing ${name}@${want}" >&2
	GOBIN="$gobin" go install "${module}@${want}"
}

gobin="$(go env GOBIN)"
if [[ -z "$gobin" ]]; then
	gobin="$(go env GOPATH | cut -d: -f1)/bin"
fi
export PATH="$gobin:$PATH"

ensure_protoc
ensure_plugin protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
ensure_plugin protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "${PROTOC_GEN_GO_GRPC_VERSION#v}"

# generate OUT writes the .pb.go files under OUT/transport/grpc/inferencepb.
# Paths are relative to the repository root, so the files register with the
# protobuf runtime as transport/grpc/inferencepb/*.proto.
generate() {
	local out="$1"
	(cd "$root" && protoc -I . \
		--go_out="$out" --go_opt=paths=source_relative \
		--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
		"${PROTOS[@]}")
}

if [[ "${1:-}" == "check" ]]; then
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	generate "$tmp"
	# The protoc patch version printed in the header is not drift.
	if ! diff -r -u -I '^//[[:space:]]*protoc[[:space:]]' -x '*.proto' -x gen.sh -x '*.md' \
		"$root/transport/grpc/inferencepb" "$tmp/transport/grpc/inferencepb"; then
		echo "gen.sh: generated code in transport/grpc/inferencepb is out of date: run 'make proto'" >&2
		exit 1
	fi
	echo "gen.sh: transport/grpc/inferencepb is up to date" >&2
	exit 0
fi
generate "$root"
echo "gen.sh: wrote transport/grpc/inferencepb/*.pb.go" >&2
