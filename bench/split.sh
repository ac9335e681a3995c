#!/usr/bin/env bash
# The split-core method (`make bench-split`): the load generator pinned to
# one core, the server under test to another, as if the client were another
# machine. It measures, each as a ratio from this one run:
#   - mlp-compute (512→2048→2048→512, no config) at 32 clients, HTTP binary
#     and JSON, against ONNX Runtime alone on the server's core at its best
#     batch size, with the mean batch and the compute inflation;
#   - tiny (10→1, no config) at 32 clients over JSON, against a bare
#     fasthttp handler on the server's core;
#   - the server's CPU µs per request at 1 client over JSON, binary and gRPC,
#     and its server-side overhead: p50 over the bare server's of the same
#     protocol (the fasthttp handler, or a bare grpc-go service for gRPC),
#     less the queue and compute times from the server's stats.
# Environment: CLIENT_CPU (default 0), SERVER_CPU (default 1), DURATION
# (default 5s per level), SPLIT_OUT (default build/bench-split), SERVER_ENV
# (extra environment for the server, such as GOMAXPROCS=1 to compare),
# SERVER_BIN (default ./bin/tiffin: the server under test, to compare two
# builds in one sitting; the load generator and baseline stay ./bin/tiffin).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
client="${CLIENT_CPU:-0}"
server="${SERVER_CPU:-1}"
dur="${DURATION:-5s}"
out="${SPLIT_OUT:-build/bench-split}"
repo="$out/models"
mkdir -p "$out"
say() { echo "bench-split: $*" >&2; }

[[ "$(nproc --all)" -ge 2 ]] || { say "needs 2 cores"; exit 1; }
./bin/tiffin demo-models --bench "$repo" >/dev/null

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"
load() { # NAME ARGS...: the load generator on the client core
	local name="$1"; shift
	say "$name"
	taskset -c "$client" ./bin/tiffin bench --pin-client "$client" --duration "$dur" --warmup 2s \
		--out "$out/$name.json" "$@" >"$out/$name.txt"
}

say "ONNX Runtime alone on core $server, one thread"
taskset -c "$server" ./bin/tiffin bench --baseline --model mlp-compute --model-repository "$repo" \
	--threads 1 --duration "$dur" --out "$out/baseline-compute.json" >"$out/baseline-compute.txt"

http_port="$(free_port)"; grpc_port="$(free_port "$http_port")"
env ${SERVER_ENV:-} taskset -c "$server" "${SERVER_BIN:-./bin/tiffin}" serve --model-repository "$repo" --host 127.0.0.1 \
	--http-port "$http_port" --grpc-port "$grpc_port" --jobs=false --log-level warn >"$out/server.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
wait_ready "http://127.0.0.1:$http_port/v2/health/ready" "$srv"
base="127.0.0.1:$http_port"
cmp=(--compare-baseline "$out/baseline-compute.json")
load compute-binary --model mlp-compute --http "$base" --binary --concurrency 32 "${cmp[@]}"
load compute-json --model mlp-compute --http "$base" --concurrency 32 "${cmp[@]}"
load tiny-json --model tiny --http "$base" --concurrency 32
load c1-json --model tiny --http "$base" --concurrency 1
load c1-binary --model tiny --http "$base" --binary --concurrency 1
load c1-grpc --model tiny --grpc "127.0.0.1:$grpc_port" --metrics "http://$base/metrics" --concurrency 1
kill "$srv"; wait "$srv" 2>/dev/null || true

bare_port="$(free_port)"; bare_grpc_port="$(free_port "$bare_port")"
taskset -c "$server" ./bin/tiffin bench --bare-listen "127.0.0.1:$bare_port" --bare-grpc-listen "127.0.0.1:$bare_grpc_port" >/dev/null &
srv=$!
wait_ready "http://127.0.0.1:$bare_port/v2/health/ready" "$srv"
load bare-json --model bare --http "127.0.0.1:$bare_port" --concurrency 32
load bare-c1 --model bare --http "127.0.0.1:$bare_port" --concurrency 1
load bare-c1-grpc --model bare --grpc "127.0.0.1:$bare_grpc_port" --metrics "http://127.0.0.1:$bare_port/metrics" --concurrency 1
kill "$srv"; wait "$srv" 2>/dev/null || true
trap - EXIT

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
def level(name):
    return json.load(open(f"{out}/{name}.json"))["levels"][0]
base = json.load(open(f"{out}/baseline-compute.json"))["baseline"]
best = max(base["rows"], key=lambda r: r["rows_per_s"])
print(f"ONNX Runtime alone, core 1, 1 thread: best {best['rows_per_s']:.0f} rows/s at batch {best['batch']}")
print(f"{'scenario':<34} {'rows/s':>9} {'ratio':>7} {'mean batch':>10} {'p99 ms':>8} {'cpu µs/req':>10} {'inflation':>9}")
def row(label, l, ceiling):
    f = lambda v, fmt: (fmt % v) if v is not None else "n/a"
    print(f"{label:<34} {l['rows_per_s']:>9.0f} {l['rows_per_s']/ceiling:>7.2f} {f(l.get('server_mean_batch'), '%.1f'):>10} "
          f"{l['latency']['p99_ms']:>8.2f} {f(l.get('server_cpu_us_per_request'), '%.1f'):>10} {f(l.get('compute_inflation'), '%.2f'):>9}")
row("mlp-compute, 32 clients, binary", level("compute-binary"), best["rows_per_s"])
row("mlp-compute, 32 clients, JSON", level("compute-json"), best["rows_per_s"])
bare = level("bare-json")
row("bare fasthttp handler, 32 clients", bare, bare["rows_per_s"])
row("tiny, 32 clients, JSON", level("tiny-json"), bare["rows_per_s"])
bare1 = level("bare-c1")
row("bare handler, 1 client", bare1, bare1["rows_per_s"])
bare1g = level("bare-c1-grpc")
row("bare gRPC service, 1 client", bare1g, bare1g["rows_per_s"])
for p, ceiling in (("json", bare1), ("binary", bare1), ("grpc", bare1g)):
    row(f"tiny, 1 client, {p}", level(f"c1-{p}"), ceiling["rows_per_s"])
# Server-side overhead at one client: the request's p50 over the bare
# server's of the same protocol (the same client, loopback and kernel),
# less the time the server's stats put in the queue and the backend.
print(f"server-side overhead at 1 client (p50 - bare p50 - queue - compute; bare p50: HTTP "
      f"{bare1['latency']['p50_ms']*1000:.0f} µs, gRPC {bare1g['latency']['p50_ms']*1000:.0f} µs):")
for p, ceiling in (("json", bare1), ("binary", bare1), ("grpc", bare1g)):
    l = level(f"c1-{p}")
    over = (l["latency"]["p50_ms"] - ceiling["latency"]["p50_ms"] - (l.get("server_queue_ms") or 0) - (l.get("server_compute_ms") or 0)) * 1000
    print(f"  {p:<7} p50 {l['latency']['p50_ms']*1000:.0f} µs, overhead {over:.0f} µs")
PY
