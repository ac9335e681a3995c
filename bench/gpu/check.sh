#!/usr/bin/env bash
# bench/gpu/check.sh: the GPU path of tiffin, checked on a machine with an
# NVIDIA GPU in one run of a few minutes (8 at most), offline. It prints one
# line per check, "CHECK <name> PASS|FAIL|SKIP <detail>", then a summary:
#
#   devices     `tiffin devices --json` agrees with nvidia-smi: count, UUID
#               and memory of every GPU
#   outputs     mlp-large and cnn serve on GPU 0 (kind gpu), within 1e-3 of
#               the same models on the CPU
#   throughput  served rows/s of mlp-large on GPU 0, 64 clients, binary
#               tensors, >= 0.90 of ONNX Runtime CUDA alone (tiffin bench
#               --baseline --baseline-gpu 0) at the server's mean batch
#               size, interpolated between the sizes the baseline ran
#   instances   two instances of cnn on GPU 0 both take work (each worker
#               thread's CPU time grows under load)
#   telemetry   NVML utilisation and memory of GPU 0 in /metrics, with the
#               per-instance arena bounds and this process's GPU memory
#   tune        `tiffin tune --device gpu` writes a gpu batching block
#
# Nothing is downloaded: it needs the tiffin binary, the CUDA-enabled ONNX
# Runtime (make ort-gpu) and the CUDA runtime libraries of the same CUDA
# major version, found by third_party/onnxruntime/cuda-major.sh (pip wheels,
# /usr/local/cuda, ldconfig). The demo models are written by the binary.
# bench/gpu/README.md says how to carry the binary and libraries to a
# machine that cannot download, in parts.
#
# Where things are (each the first that exists):
#   TIFFIN_BIN           bin/tiffin, /tmp/tiffin-carry/bin/tiffin
#   TIFFIN_ORT_GPU_DIR   third_party/onnxruntime/gpu, /tmp/tiffin-carry/gpu
# CHECK_OUT (default build/gpu-check) keeps the logs and reports.
#
# --dry-run runs every step on the CPU instead (kind cpu for the "GPU"
# models, the baseline and tune on the CPU, no nvidia-smi), so the script
# itself can be tested on a host without a GPU; its verdicts then say
# nothing about GPUs.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root" || exit 1
dry=0
[[ "${1:-}" == --dry-run ]] && dry=1
out="${CHECK_OUT:-build/gpu-check}"
rm -rf "$out" && mkdir -p "$out" || exit 1
out="$(cd "$out" && pwd)"
started=$SECONDS
# shellcheck disable=SC2317 # say is called by ports.sh
say() { echo "check.sh: $*" >&2; }
# shellcheck source=bench/ports.sh
source "$root/bench/ports.sh"

summary=()
failed=0
result() { # NAME PASS|FAIL|SKIP DETAIL
	local line
	line="$(printf 'CHECK %-10s %-4s %s' "$1" "$2" "$3")"
	echo "$line"
	summary+=("$line")
	[[ "$2" == FAIL ]] && failed=1
	return 0
}
finish() {
	echo
	echo "== bench/gpu/check.sh summary ($((SECONDS - started))s$([[ $dry == 1 ]] && echo ', DRY RUN on the CPU'))"
	printf '%s\n' "${summary[@]}"
	[[ $failed == 0 ]] && echo "ALL PASS" || echo "SOME FAILED (logs in $out)"
	exit "$failed"
}
first() { # the first argument that exists
	local p
	for p in "$@"; do
		[[ -n "$p" && -e "$p" ]] && {
			echo "$p"
			return 0
		}
	done
	return 1
}

# --- setup -----------------------------------------------------------------
command -v python3 >/dev/null || {
	result setup FAIL "python3 is needed (it reads JSON and sends the requests)"
	finish
}
bin="$(first "${TIFFIN_BIN:-}" bin/tiffin /tmp/tiffin-carry/bin/tiffin)" || {
	result setup FAIL "no tiffin binary: build it (make build) or set TIFFIN_BIN"
	finish
}
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
ortdir="$(first "${TIFFIN_ORT_GPU_DIR:-}" third_party/onnxruntime/gpu /tmp/tiffin-carry/gpu)"
if [[ $dry == 1 && -z "$ortdir" ]]; then
	lib="$root/third_party/onnxruntime/lib/libonnxruntime.so.1"
	major=none
else
	[[ -n "$ortdir" && -f "$ortdir/libonnxruntime.so.1" ]] || {
		result setup FAIL "no CUDA-enabled ONNX Runtime: run make ort-gpu, or set TIFFIN_ORT_GPU_DIR"
		finish
	}
	lib="$(cd "$ortdir" && pwd)/libonnxruntime.so.1"
	major="$(cat "$ortdir/CUDA" 2>/dev/null || echo 12)"
fi
if [[ $dry == 0 ]]; then
	command -v nvidia-smi >/dev/null || {
		result setup FAIL "nvidia-smi not found: is this a GPU machine?"
		finish
	}
	bash third_party/onnxruntime/cuda-major.sh list "$major" >"$out/cuda-libs.txt"
	if grep -q missing "$out/cuda-libs.txt"; then
		result setup FAIL "CUDA $major libraries missing for the CUDA $major provider: $(grep missing "$out/cuda-libs.txt" | cut -d' ' -f1 | tr '\n' ' ')(have: $(bash third_party/onnxruntime/cuda-major.sh major || echo none))"
		finish
	fi
	dirs="$(bash third_party/onnxruntime/cuda-major.sh dirs "$major")"
	export LD_LIBRARY_PATH="${dirs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
"$bin" version >/dev/null 2>"$out/bin.err" || {
	result setup FAIL "the tiffin binary does not run here: $(head -c 300 "$out/bin.err")"
	finish
}
kind=gpu base_gpu=0 tune_dev=gpu
[[ $dry == 1 ]] && kind=cpu base_gpu=-1 tune_dev=cpu
result setup PASS "binary $bin; ONNX Runtime $lib (CUDA $major); $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1 || echo 'no nvidia-smi')"

verdict() { # NAME, then the helper's arguments: run a check.py verdict
	local name="$1" line
	shift
	line="$(timeout 120 python3 bench/gpu/check.py "$@" 2>"$out/$name.err")" || line="FAIL check.py $*: $(head -c 300 "$out/$name.err")"
	result "$name" "${line%% *}" "${line#* }"
}

# --- devices ---------------------------------------------------------------
timeout 60 "$bin" devices --json >"$out/devices.json" 2>"$out/devices.err"
nvidia-smi --query-gpu=index,uuid,memory.total --format=csv,noheader,nounits >"$out/nvidia-smi.csv" 2>/dev/null || : >"$out/nvidia-smi.csv"
verdict devices devices "$out/devices.json" "$out/nvidia-smi.csv" "$dry"

# --- the server --------------------------------------------------------------
# The demo models, plus copies on GPU 0: mlp-large-gpu (one instance) and
# cnn-gpu (two instances on the same GPU).
repo="$out/models"
"$bin" demo-models "$repo" >/dev/null || {
	result setup FAIL "tiffin demo-models failed"
	finish
}
gpu_model() { # FROM NAME COUNT
	mkdir -p "$repo/$2/1"
	cp "$repo/$1/1/model.onnx" "$repo/$2/1/model.onnx"
	printf 'instance_groups:\n  - kind: %s\n    count: %d\n%s' "$kind" "$3" "$([[ $kind == gpu ]] && echo '    gpus: [0]')" >"$repo/$2/config.yaml"
}
gpu_model mlp-large mlp-large-gpu 1
gpu_model cnn cnn-gpu 2
http_port="$(free_port)"
grpc_port="$(free_port "$http_port")"
url="http://127.0.0.1:$http_port"
"$bin" serve --model-repository "$repo" --host 127.0.0.1 --http-port "$http_port" --grpc-port "$grpc_port" \
	--ort-library "$lib" --jobs=false --strict-readiness --log-level info >"$out/server.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; wait $srv 2>/dev/null' EXIT
if ! python3 bench/gpu/check.py ready "$url/v2/health/ready" 120; then
	result serve FAIL "not every model READY within 120s: $(grep -m3 -E 'unavailable|ERROR' "$out/server.log" | cut -c1-400)"
	finish
fi

# --- outputs -----------------------------------------------------------------
verdict outputs outputs "$url" "$dry" mlp-large=mlp-large-gpu cnn=cnn-gpu

# --- throughput and telemetry --------------------------------------------------
# NVML is sampled every 5s: scrape /metrics while the load runs, and keep the
# scrape with the highest utilisation.
(
	for i in $(seq 1 12); do
		sleep 1.5
		python3 bench/gpu/check.py scrape "$url/metrics" "$out/metrics-$i.txt" 2>/dev/null
	done
) &
scraper=$!
timeout 60 "$bin" bench --model mlp-large-gpu --http "$url" --binary --concurrency 64 --duration 10s --warmup 3s \
	--out "$out/served.json" >"$out/served.txt" 2>&1
wait "$scraper"
timeout 90 "$bin" bench --baseline --baseline-gpu "$base_gpu" --model mlp-large --model-repository "$repo" \
	--ort-library "$lib" --duration 3s --out "$out/baseline.json" >"$out/baseline.txt" 2>&1
if [[ -s "$out/served.json" && -s "$out/baseline.json" ]]; then
	verdict throughput throughput "$out/served.json" "$out/baseline.json"
else
	result throughput FAIL "bench failed: $(tail -c 300 "$out/served.txt" "$out/baseline.txt" | tr '\n' ' ')"
fi
busiest="$(grep -l 'tiffin_gpu_utilization_ratio{gpu="0"}' "$out"/metrics-*.txt 2>/dev/null |
	xargs -r grep -H 'tiffin_gpu_utilization_ratio{gpu="0"}' | sort -t' ' -k2 -g | tail -1 | cut -d: -f1)"
verdict telemetry telemetry "${busiest:-$out/metrics-12.txt}" 0 "$dry"

# --- two instances on one GPU ----------------------------------------------------
python3 bench/gpu/check.py scrape "$url/metrics" "$out/before-cnn.txt"
timeout 40 "$bin" bench --model cnn-gpu --http "$url" --binary --concurrency 64 --duration 5s --warmup 1s \
	--out "$out/cnn.json" >"$out/cnn.txt" 2>&1
python3 bench/gpu/check.py scrape "$url/metrics" "$out/after-cnn.txt"
verdict instances instances "$out/before-cnn.txt" "$out/after-cnn.txt" cnn-gpu 2
kill "$srv" 2>/dev/null
wait "$srv" 2>/dev/null
trap - EXIT

# --- tune ----------------------------------------------------------------------
timeout 150 "$bin" tune --model-repository "$repo" --model mlp-large-gpu --device "$tune_dev" --sizes 16,64 \
	--windows 0s,1ms --duration 1s --clients 64 --ort-library "$lib" --out "$out/tune.yaml" >"$out/tune.txt" 2>&1
verdict tune tune "$out/tune.yaml" "$tune_dev"

finish
