#!/usr/bin/env bash
# bench/gpu/carry.sh moves what bench/gpu/check.sh needs to a GPU machine
# that cannot download, through a tool that carries at most 64 MiB per call
# (see bench/gpu/README.md):
#
#   carry.sh probe        (there) what the machine has: GPU, driver, CUDA
#                         runtime libraries per major version, glibc, python3
#   carry.sh pack 12|13   (here) build bin/tiffin, fetch the CUDA 12 or 13
#                         ONNX Runtime (make ort-gpu), and pack both,
#                         xz-compressed, into parts of at most 60 MiB, one
#                         folder each: build/gpu-carry/01, 02, ...
#   carry.sh unpack       (there) move the parts that arrived to
#                         /tmp/tiffin-carry/parts, and once all have, check
#                         them and unpack bin/tiffin and gpu/ into
#                         /tmp/tiffin-carry, where check.sh looks
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
carry=build/gpu-carry
there=/tmp/tiffin-carry
part_size=60M
say() { echo "carry.sh: $*" >&2; }

sha256() { sha256sum "$@" 2>/dev/null || shasum -a 256 "$@"; }

probe() {
	echo "== GPU"
	nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version --format=csv,noheader 2>&1 || echo "no nvidia-smi"
	nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' || true
	for m in 12 13; do
		echo "== CUDA $m runtime libraries (what the CUDA $m provider loads)"
		bash third_party/onnxruntime/cuda-major.sh list "$m" || true
	done
	echo "== CUDA major to carry: $(bash third_party/onnxruntime/cuda-major.sh major || echo 'none or both: see above')"
	echo "== system"
	ldd --version 2>&1 | head -1
	python3 --version 2>&1 || echo "no python3 (check.sh needs it)"
	python3 -m pip list 2>/dev/null | grep -i -E '^nvidia|onnxruntime|torch' || true
	nproc
	df -h /tmp | tail -1
}

pack() {
	local major="${1:?usage: carry.sh pack 12|13}"
	make build >/dev/null
	ORT_GPU_CUDA="$major" bash third_party/onnxruntime/fetch-gpu.sh
	rm -rf "$carry" && mkdir -p "$carry/stage/bin" "$carry/split"
	cp bin/tiffin "$carry/stage/bin/"
	cp -r third_party/onnxruntime/gpu "$carry/stage/gpu"
	say "compressing (xz -9: minutes; 17 on a busy 2-core host)"
	tar -C "$carry/stage" -cf - bin gpu | xz -T0 -9 >"$carry/split/carry.tar.xz"
	(cd "$carry/split" && split -b "$part_size" -d -a 2 carry.tar.xz part- && rm carry.tar.xz && sha256 part-* >SHA256SUMS)
	local n=0 p
	for p in "$carry"/split/part-*; do
		n=$((n + 1))
		mkdir -p "$carry/$(printf %02d "$n")"
		mv "$p" "$carry/$(printf %02d "$n")/"
		cp "$carry/split/SHA256SUMS" "$carry/$(printf %02d "$n")/"
	done
	rm -rf "$carry/stage" "$carry/split"
	say "$n parts for CUDA $major:"
	du -sh "$carry"/[0-9]*
	echo "carry one folder per call, each with the command: bash bench/gpu/carry.sh unpack"
	for p in "$carry"/[0-9]*; do echo "  carry: [\"$p\"]"; done
	echo "then run: bash bench/gpu/check.sh"
}

unpack() {
	mkdir -p "$there/parts"
	local d
	for d in "$carry"/[0-9]*; do
		[ -d "$d" ] || continue
		cp "$d"/part-* "$d"/SHA256SUMS "$there/parts/"
	done
	[ -f "$there/parts/SHA256SUMS" ] || {
		say "no parts arrived (carry build/gpu-carry/NN)"
		exit 1
	}
	local want have
	want="$(wc -l <"$there/parts/SHA256SUMS")"
	have="$(find "$there/parts" -name 'part-*' | wc -l)"
	if [ "$have" -lt "$want" ]; then
		echo "have $have of $want parts; carry the rest"
		return 0
	fi
	(cd "$there/parts" && sha256sum -c --quiet SHA256SUMS) || {
		say "a part is damaged: carry it again"
		exit 1
	}
	cat "$there"/parts/part-* | xz -d | tar -C "$there" -xf -
	echo "unpacked: $there/bin/tiffin, $there/gpu (CUDA $(cat "$there/gpu/CUDA"))"
	ls -la "$there/bin" "$there/gpu"
}

case "${1:-}" in
probe) probe ;;
pack) pack "${2:-}" ;;
unpack) unpack ;;
*)
	echo "usage: carry.sh probe | pack 12|13 | unpack" >&2
	exit 2
	;;
esac
