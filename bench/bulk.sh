#!/usr/bin/env bash
# Bulk scoring from Parquet (`make bench-bulk`), each figure from this one
# run, load on core CLIENT_CPU (0) and the server on SERVER_CPU (1):
#   - tiffin jobs: BULK_ROWS (1M) rows of mlp-small and of mlp-large from a
#     Parquet file, POSTed to /v2/jobs, timed from the upload's start to the
#     job's finished_at (results stay in the store; polling is not timed);
#   - the backend: ONNX Runtime alone on the server's core, one thread, at
#     its best batch size (`tiffin bench --baseline`);
#   - the Python reference (bench/bulk_ref.py): pyarrow and onnxruntime in
#     batches of 1,024 on the server's core, as a user scores the file today;
#     the fastest of PY_RUNS (3) runs, each a fresh process (the first often
#     ran at half the rate of the ones after it).
#   - the fair share: interactive mlp-small p99 at one client, idle and
#     during a second mlp-large job (--jobs-max-share, 0.5 by default), and
#     that job's rows/s over the interactive window against the solo job's
#     rows/s while scoring (both from rows_done).
# Environment: BULK_ROWS, CLIENT_CPU, SERVER_CPU, DURATION (baseline, per
# batch size; 3s), P99_DURATION (5s), PY_RUNS (3), BULK_OUT (build/bench-bulk),
# BULK_MODELS (mlp-small mlp-large), SERVER_BIN (./bin/tiffin: the server
# under test, to compare two builds in one sitting).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
rows="${BULK_ROWS:-1000000}"
client="${CLIENT_CPU:-0}"
server="${SERVER_CPU:-1}"
dur="${DURATION:-3s}"
out="${BULK_OUT:-build/bench-bulk}"
models="${BULK_MODELS:-mlp-small mlp-large}"
py_runs="${PY_RUNS:-3}"
py="build/bench-venv/bin/python"
repo="$out/models"
say() { echo "bench-bulk: $*" >&2; }

[[ "$(nproc --all)" -ge 2 ]] || { say "needs 2 cores"; exit 1; }
[[ -x "$py" ]] || { say "no $py: run make bench-venv"; exit 1; }
rm -rf "$out/data"
rm -f "$out"/p99-*.json "$out"/progress-shared.txt # a run without mlp-large must not report an earlier fair share
mkdir -p "$out"
./bin/tiffin demo-models "$repo" >/dev/null

# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"
http_port="$(free_port)"; grpc_port="$(free_port "$http_port")"
base="http://127.0.0.1:$http_port"

for m in $models; do
	[[ -f "$out/$m-$rows.parquet" ]] || { say "write $rows rows of $m"; "$py" bench/bulk_ref.py gen "$repo/$m/1/model.onnx" "$rows" "$out/$m-$rows.parquet"; }
	say "$m: ONNX Runtime alone on core $server"
	taskset -c "$server" ./bin/tiffin bench --baseline --model "$m" --model-repository "$repo" \
		--threads 1 --duration "$dur" --out "$out/baseline-$m.json" >"$out/baseline-$m.txt"
	say "$m: the Python reference on core $server, best of $py_runs"
	: >"$out/python-$m-runs.json"
	for _ in $(seq 1 "$py_runs"); do
		taskset -c "$server" "$py" bench/bulk_ref.py score "$repo/$m/1/model.onnx" "$out/$m-$rows.parquet" 1024 >>"$out/python-$m-runs.json"
	done
	"$py" -c 'import json, sys; runs = [json.loads(l) for l in open(sys.argv[1])]; print(json.dumps(max(runs, key=lambda r: r["rows_per_s"])))' \
		"$out/python-$m-runs.json" >"$out/python-$m.json"
done

taskset -c "$server" "${SERVER_BIN:-./bin/tiffin}" serve --model-repository "$repo" --host 127.0.0.1 --http-port "$http_port" \
	--grpc-port "$grpc_port" --data-dir "$out/data" --log-level warn >"$out/server.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
wait_ready "$base/v2/health/ready" "$srv" "$out/server.log"

# progress JOB_JSON: one "unix-seconds rows_done" line, for the rate while
# the job is scoring (the upload's start and the tail left out).
progress() { echo "$(date +%s.%N) $(echo "$1" | grep -o '"rows_done":[0-9]*' | cut -d: -f2)"; }

# A job's POST returns once the whole file is read, which is about when its
# rows are scored (reading and scoring overlap), so jobs are watched from
# the job list while their upload runs in the background.
# post MODEL: POST the model's Parquet file in the background (post_pid).
post() {
	taskset -c "$client" curl -fsS -X POST "$base/v2/jobs?model=$1" -T "$out/$1-$rows.parquet" -o "$out/post-$1.json" &
	post_pid=$!
}
# job_of MODEL [SKIP_ID]: the id of MODEL's job (not SKIP_ID), once listed.
job_of() {
	local id
	for _ in $(seq 1 1200); do
		id=$(taskset -c "$client" curl -fsS "$base/v2/jobs" | "$py" -c 'import json,sys
m, skip = sys.argv[1], sys.argv[2]
ids = [j["id"] for j in json.load(sys.stdin)["jobs"] if j["model"] == m and j["id"] != skip]
print(ids[-1] if ids else "")' "$1" "${2:-}")
		[[ -n "$id" ]] && { echo "$id"; return; }
		sleep 0.05
	done
	say "$1: no job listed"; exit 1
}
# watch ID FILE: poll the job every 0.2 s until it ends, appending progress
# lines to FILE and showing the rows done once a second (in place on a
# terminal); its last state is left in $st.
watch() {
	local polls=0
	while :; do
		st=$(taskset -c "$client" curl -fsS "$base/v2/jobs/$1")
		progress "$st" >>"$2"
		if ((polls++ % 5 == 0)); then
			shown="job $1: $(echo "$st" | grep -o '"rows_done":[0-9]*' | cut -d: -f2) of $(echo "$st" | grep -o '"rows_total":[0-9]*' | cut -d: -f2) rows done"
			if [[ -t 2 ]]; then printf '\rbench-bulk: %s ' "$shown" >&2; else say "$shown"; fi
		fi
		case "$(echo "$st" | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)" in succeeded | failed | cancelled)
			if [[ -t 2 ]]; then echo >&2; fi
			return
			;;
		esac
		sleep 0.2
	done
}
declare -A solo_id
for m in $models; do
	say "$m: a job of $rows rows from Parquet"
	t0=$(date +%s.%N)
	post "$m"
	id=$(job_of "$m")
	solo_id[$m]=$id
	: >"$out/progress-$m.txt"
	watch "$id" "$out/progress-$m.txt"
	wait "$post_pid" || { say "$m: the upload failed"; exit 1; }
	echo "$st" >"$out/job-$m.json"
	echo "{\"upload_start\": $t0}" >"$out/job-time-$m.json"
	[[ "$st" == *'"status":"succeeded"'* ]] || { say "$m: job ended: $st"; exit 1; }
done

p99dur="${P99_DURATION:-5s}"
interactive() { # NAME: mlp-small at one client over HTTP, from the client core
	taskset -c "$client" ./bin/tiffin bench --pin-client "$client" --model mlp-small --http "127.0.0.1:$http_port" \
		--concurrency 1 --duration "$p99dur" --warmup 1s --out "$out/$1.json" >"$out/$1.txt"
}
if [[ " $models " == *" mlp-large "* ]]; then
	say "fair share: interactive mlp-small p99, idle"
	interactive p99-idle
	say "fair share: the same during an mlp-large job"
	post mlp-large
	id=$(job_of mlp-large "${solo_id[mlp-large]}")
	for _ in $(seq 1 600); do # until it scores
		[[ "$(progress "$(curl -fsS "$base/v2/jobs/$id")" | cut -d' ' -f2)" -gt 0 ]] && break
		sleep 0.05
	done
	# The job's rate is taken over the interactive window only: before and
	# after it, from rows_done.
	progress "$(taskset -c "$client" curl -fsS "$base/v2/jobs/$id")" >"$out/progress-shared.txt"
	interactive p99-during-job
	progress "$(taskset -c "$client" curl -fsS "$base/v2/jobs/$id")" >>"$out/progress-shared.txt"
	curl -fsS "$base/metrics" | grep '^tiffin_bulk_share' >"$out/bulk-share-during.txt" || true
	watch "$id" /dev/null
	wait "$post_pid" || true
	echo "$st" >"$out/job-shared-mlp-large.json"
fi
kill "$srv"; wait "$srv" 2>/dev/null || true
trap - EXIT

"$py" - "$out" $models <<'PY'
import json, re, sys
from datetime import datetime
out, models = sys.argv[1], sys.argv[2:]
res = {}
def stamp(t):  # an RFC 3339 time from the job's status, as unix seconds
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", t).replace("Z", "+00:00")).timestamp()
print(f"{'model':10} {'tiffin job rows/s':>18} {'backend best rows/s':>20} {'(batch)':>8} {'python rows/s':>14} {'job/backend':>12} {'job/python':>11}")
for m in models:
    job = json.load(open(f"{out}/job-{m}.json"))
    t0 = json.load(open(f"{out}/job-time-{m}.json"))["upload_start"]
    secs = stamp(job["finished_at"]) - t0
    best = max(json.load(open(f"{out}/baseline-{m}.json"))["baseline"]["rows"], key=lambda r: r["rows_per_s"])
    pyref = json.load(open(f"{out}/python-{m}.json"))
    rate = job["rows_total"] / secs
    res[m] = {"rows": job["rows_total"], "job_seconds": secs, "job_rows_per_s": rate,
              "backend_best_rows_per_s": best["rows_per_s"], "backend_best_batch": best["batch"],
              "python_rows_per_s": pyref["rows_per_s"], "job_over_backend": rate / best["rows_per_s"],
              "job_over_python": rate / pyref["rows_per_s"]}
    r = res[m]
    print(f"{m:10} {rate:18.0f} {best['rows_per_s']:20.0f} {best['batch']:8d} {pyref['rows_per_s']:14.0f} "
          f"{r['job_over_backend']:12.2f} {r['job_over_python']:11.2f}")
try:
    idle = json.load(open(f"{out}/p99-idle.json"))["levels"][0]["latency"]["p99_ms"]
    during = json.load(open(f"{out}/p99-during-job.json"))["levels"][0]["latency"]["p99_ms"]
    def rate(lines):
        # rows/s between the first and last samples that are past 10% and
        # short of 90% of the rows: the scoring, not the upload or the tail.
        pts = [tuple(map(float, l.split())) for l in lines if len(l.split()) == 2]
        total = pts[-1][1] if pts else 0
        mid = [p for p in pts if 0.1 * total <= p[1] <= 0.9 * total] or pts
        return (mid[-1][1] - mid[0][1]) / (mid[-1][0] - mid[0][0]) if len(mid) > 1 and mid[-1][0] > mid[0][0] else float("nan")
    solo_rate = rate(open(f"{out}/progress-mlp-large.txt").read().splitlines())
    if solo_rate != solo_rate:  # nan: a short job ended before two samples fell inside it
        solo = json.load(open(f"{out}/job-mlp-large.json"))
        solo_rate = solo["rows_total"] / (stamp(solo["finished_at"]) - stamp(solo["started_at"]))
    sh = [tuple(map(float, l.split())) for l in open(f"{out}/progress-shared.txt").read().splitlines()]
    shared_rate = (sh[1][1] - sh[0][1]) / (sh[1][0] - sh[0][0])
    res["fair_share"] = {"interactive_p99_idle_ms": idle, "interactive_p99_during_job_ms": during,
                         "p99_ratio": during / idle, "job_rows_per_s_solo": solo_rate,
                         "job_rows_per_s_during_interactive": shared_rate,
                         "job_rate_shared_over_solo": shared_rate / solo_rate}
    f = res["fair_share"]
    print(f"fair share: interactive mlp-small p99 {idle:.3f} ms idle, {during:.3f} ms during an mlp-large job "
          f"({f['p99_ratio']:.2f}x); the job ran at {f['job_rate_shared_over_solo']:.2f} of its solo rate")
except FileNotFoundError:
    pass
json.dump(res, open(f"{out}/summary.json", "w"), indent=2)
PY
