#!/usr/bin/env bash
# Regenerates the Go code for the Open Inference Protocol gRPC service from
# grpc_service.proto and model_config.proto. The generated files are
# committed, so only whoever edits the .proto files needs protoc.
#
#   gen.sh          regenerate the committed files in place
#   gen.sh check    regenerate into a temporary folder and fail (exit 1) when
#                   the committed files differ: the drift check `make test` runs
#
# Needs protoc 3.21.x (Debian/Ubuntu: apt-get install protobuf-compiler);
# the code generators are pinned in go.mod and run by
# third_party/protoc/protoc.sh.
set -euo pipefail

readonly PROTOS=(transport/inferencepb/model_config.proto transport/inferencepb/grpc_service.proto)

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# generate OUT writes the .pb.go files under OUT/transport/inferencepb.
# Paths are relative to the repository root, so the files register with the
# protobuf runtime as transport/inferencepb/*.proto.
generate() {
	local out="$1"
	(cd "$root" && third_party/protoc/protoc.sh -I . \
		--go_out="$out" --go_opt=paths=source_relative \
		--go-grpc_out="$out" --go-grpc_opt=paths=source_relative \
		"${PROTOS[@]}")
}

if [[ "${1:-}" == "check" ]]; then
	tmp="$(mktemp -d)"
	trap 'rm -rf "$tmp"' EXIT
	generate "$tmp"
	# The protoc patch version printed in the header is not drift.
	if ! diff -r -u -I '^//[[:space:]]*protoc[[:space:]]' -x '*.proto' -x gen.sh -x doc.go -x '*.md' \
		"$root/transport/inferencepb" "$tmp/transport/inferencepb"; then
		echo "gen.sh: generated code in transport/inferencepb is out of date: run 'make proto'" >&2
		exit 1
	fi
	echo "gen.sh: transport/inferencepb is up to date" >&2
	exit 0
fi
generate "$root"
echo "gen.sh: wrote transport/inferencepb/*.pb.go" >&2
