#!/usr/bin/env bash
# jobcpu.sh MODEL FILE [JOBS]: the server's CPU time for JOBS (3) bulk jobs
# of FILE on MODEL, the figure the bulk-scoring changes in bench/README.md
# were measured by. The server runs on core SERVER_CPU (1) with a fresh
# data dir; one warm-up job runs first; then the jobs are POSTed one after
# another from core CLIENT_CPU (0), each awaited, and the server's user +
# system CPU (/proc/PID/stat) over them is printed.
# With PROFILE=SECONDS a CPU profile of the server is taken over the
# first SECONDS of the jobs (OUT/cpu.pprof; `go tool pprof bin/tiffin ...`).
# Environment: SERVER_BIN (./bin/tiffin), REPO (build/bulk-a/models: the
# repository holding MODEL, `tiffin demo-models` writes one), CLIENT_CPU,
# SERVER_CPU, OUT (build/jobcpu), PROFILE.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[[ $# -ge 2 ]] || { echo "usage: bench/jobcpu.sh MODEL FILE [JOBS]" >&2; exit 2; }
model="$1" file="$2" jobs="${3:-3}"
client="${CLIENT_CPU:-0}"
server="${SERVER_CPU:-1}"
repo="${REPO:-build/bulk-a/models}"
out="${OUT:-build/jobcpu}"
say() { echo "jobcpu: $*" >&2; }

[[ -f "$file" ]] || { say "no $file"; exit 1; }
[[ -d "$repo/$model" ]] || { say "no model $model in $repo (tiffin demo-models $repo)"; exit 1; }
mkdir -p "$out"
# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"
start_server "$repo" "$out"
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null || true' EXIT
wait_ready "$base/v2/health/ready" "$srv" "$out/server.log"

job() { # POST the file and wait for the job to end
	local id st
	id="$(taskset -c "$client" curl -fsS -X POST "$base/v2/jobs?model=$model" -T "$file" | grep -o '"id":"[^"]*"' | cut -d'"' -f4)"
	[[ -n "$id" ]] || { say "the POST gave no job id"; exit 1; }
	while :; do
		st="$(curl -fsS "$base/v2/jobs/$id" | grep -o '"status":"[a-z]*"' | cut -d'"' -f4)"
		case "$st" in succeeded) return ;; failed | cancelled) say "job $id $st"; exit 1 ;; esac
		sleep 0.05
	done
}
cpu() { awk '{print $14 + $15}' "/proc/$srv/stat"; } # clock ticks, user + system

say "warm-up job"
job
if [[ -n "${PROFILE:-}" ]]; then
	curl -fsS "http://127.0.0.1:$pprof_port/debug/pprof/profile?seconds=$PROFILE" -o "$out/cpu.pprof" &
	prof=$!
fi
c0="$(cpu)"
t0="$(date +%s.%N)"
for _ in $(seq 1 "$jobs"); do job; done
c1="$(cpu)"
t1="$(date +%s.%N)"
[[ -n "${PROFILE:-}" ]] && wait "$prof"
awk -v c0="$c0" -v c1="$c1" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" -v n="$jobs" -v m="$model" \
	'BEGIN { printf "%d jobs of %s: server CPU %.2f s, wall %.2f s\n", n, m, (c1 - c0) / hz, t1 - t0 }'
