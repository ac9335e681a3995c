#!/usr/bin/env bash
# The fair-share phase of bench/bulk.sh alone, for repeating it quickly:
# the server on core SERVER_CPU (1); interactive mlp-small at one client
# from core CLIENT_CPU (0) for DURATION (4s) while idle; then a job of
# ROWS (200000) mlp-large rows from Parquet is POSTed and, once it scores,
# the same interactive load runs beside it. Prints p50/p90/p99 idle and
# during the job, their p99 ratio (the issue's target: 1.3) and the job's
# rows/s over the interactive window.
# With TRACE=1 it also saves a 2 s Go execution trace of the shared phase
# (OUT/trace.out; `go tool trace`, or golang.org/x/exp/trace to follow each
# request's goroutine).
# Environment: SERVER_BIN (./bin/tiffin), ROWS, DURATION, CLIENT_CPU,
# SERVER_CPU, OUT (build/fairshare), TRACE. Needs `make bench-venv` (for
# the Parquet file) and `make build`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
client="${CLIENT_CPU:-0}"
server="${SERVER_CPU:-1}"
rows="${ROWS:-200000}"
dur="${DURATION:-4s}"
out="${OUT:-build/fairshare}"
py="build/bench-venv/bin/python"
repo="$out/models"
say() { echo "fairshare: $*" >&2; }

[[ -x "$py" ]] || { say "no $py: run make bench-venv"; exit 1; }
mkdir -p "$out"
./bin/tiffin demo-models "$repo" >/dev/null
file="$out/mlp-large-$rows.parquet"
[[ -f "$file" ]] || { say "write $rows rows of mlp-large"; "$py" bench/bulk_ref.py gen "$repo/mlp-large/1/model.onnx" "$rows" "$file"; }

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"
start_server "$repo" "$out"
post=""
trap 'kill $srv $post 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
wait_ready "$base/v2/health/ready" "$srv" "$out/server.log"

interactive() { # NAME
	taskset -c "$client" ./bin/tiffin bench --pin-client "$client" --model mlp-small --http "127.0.0.1:$http_port" \
		--concurrency 1 --duration "$dur" --warmup 1s --out "$out/$1.json" >"$out/$1.txt"
}
rows_done() { echo "$(date +%s.%N) $(curl -fsS "$base/v2/jobs" | grep -o '"rows_done":[0-9]*' | head -1 | cut -d: -f2)"; }

say "interactive mlp-small, idle"
interactive idle
say "the same during a job of $rows mlp-large rows"
taskset -c "$client" curl -fsS -X POST "$base/v2/jobs?model=mlp-large" -T "$file" -o "$out/post.json" &
post=$!
for _ in $(seq 1 1200); do
	n="$(rows_done | cut -d' ' -f2)"
	[[ -n "$n" && "$n" -gt 0 ]] && break
	sleep 0.05
done
if [[ -n "${TRACE:-}" ]]; then
	(sleep 2; curl -fsS "http://127.0.0.1:$pprof_port/debug/pprof/trace?seconds=2" -o "$out/trace.out") &
	tracer=$!
fi
before="$(rows_done)"
interactive during
after="$(rows_done)"
[[ -n "${TRACE:-}" ]] && wait "$tracer"

"$py" - "$out" "$before" "$after" <<'PY'
import json, sys
out, (t0, r0), (t1, r1) = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
lat = {}
for name in ("idle", "during"):
    lat[name] = json.load(open(f"{out}/{name}.json"))["levels"][0]["latency"]
    l = lat[name]
    print(f"{name:7} p50 {l['p50_ms']:.3f} ms  p90 {l['p90_ms']:.3f} ms  p99 {l['p99_ms']:.3f} ms")
print(f"p99 during / idle: {lat['during']['p99_ms'] / lat['idle']['p99_ms']:.2f} (target 1.3); "
      f"the job meanwhile: {(int(r1) - int(r0)) / (float(t1) - float(t0)):.0f} rows/s")
PY
