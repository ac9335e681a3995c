#!/usr/bin/env bash
# The server scenarios (`make bench`): starts bin/tiffin on free loopback
# ports over the demo repository, runs `tiffin bench --scenarios` against
# it (backend baselines, the bare fasthttp ceiling, mlp-small over HTTP
# JSON, HTTP binary and gRPC, mlp-large's batching, an open-loop run), and
# stops the server. Results: bench/results/*.json, *.svg and scenarios.md.
# Extra arguments go to `tiffin bench`, e.g. --duration 2s for a quick run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
repo="${DEMO_REPO:-build/demo-models}"
results="${BENCH_RESULTS:-bench/results}"
log="build/bench-server.log"
mkdir -p build "$results"

say() { echo "bench: $*" >&2; }

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"

# ready succeeds when GET /v2/health/ready answers 200.
ready() {
	exec 3<>"/dev/tcp/127.0.0.1/$http_port" || return 1
	printf 'GET /v2/health/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	local status
	read -r _ status _ <&3 || status=""
	exec 3>&-
	[[ "$status" == 200 ]]
}

http_port="$(free_port)"
grpc_port="$(free_port "$http_port")"
./bin/tiffin serve --model-repository "$repo" --host 127.0.0.1 \
	--http-port "$http_port" --grpc-port "$grpc_port" --jobs=false --log-level warn >"$log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
	if ready 2>/dev/null; then
		break
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		say "tiffin exited; its log ($log):"
		cat "$log" >&2
		exit 1
	fi
	sleep 0.5
done
ready 2>/dev/null || { say "tiffin did not become ready; see $log"; exit 1; }
say "tiffin ready: http :$http_port, grpc :$grpc_port; results into $results"

./bin/tiffin bench --scenarios "$results" --http "127.0.0.1:$http_port" --grpc "127.0.0.1:$grpc_port" \
	--model-repository "$repo" "$@"
say "done: $results/scenarios.md holds the tables for bench/README.md"
