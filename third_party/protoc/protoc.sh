#!/usr/bin/env bash
# protoc.sh runs protoc with the pinned code generators, for the two gen.sh
# scripts (backends/onnxpb and transport/inferencepb).
#
#   third_party/protoc/protoc.sh [protoc arguments]
#
# It needs protoc 3.21.x (Debian/Ubuntu: apt-get install protobuf-compiler).
# The plugins protoc-gen-go and protoc-gen-go-grpc are pinned as `tool`
# directives in go.mod and built by `go tool` from the module cache: nothing
# is installed into GOBIN or looked up on PATH, so a plugin installed by
# hand at another version can never change the output.
set -euo pipefail

readonly PROTOC_SERIES=3.21

if ! command -v protoc >/dev/null 2>&1; then
	echo "protoc.sh: protoc not found; install protoc ${PROTOC_SERIES}.x (Debian package protobuf-compiler)" >&2
	exit 1
fi
version="$(protoc --version | awk '{print $2}')"
case "$version" in
"${PROTOC_SERIES}".*) ;;
*)
	echo "protoc.sh: protoc is $version, want ${PROTOC_SERIES}.x (Debian package protobuf-compiler)" >&2
	exit 1
	;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# `go tool -n` builds the tool at the version go.mod pins and prints its path.
gen_go="$(cd "$root" && go tool -n protoc-gen-go)"
gen_go_grpc="$(cd "$root" && go tool -n protoc-gen-go-grpc)"
exec protoc --plugin=protoc-gen-go="$gen_go" --plugin=protoc-gen-go-grpc="$gen_go_grpc" "$@"
