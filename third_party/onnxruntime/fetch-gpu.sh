#!/usr/bin/env bash
# fetch-gpu.sh puts a CUDA-enabled ONNX Runtime for linux-x64 in gpu/, next
# to this script: libonnxruntime.so.1, libonnxruntime_providers_shared.so and
# libonnxruntime_providers_cuda.so, plus gpu/CUDA naming the CUDA major
# version the provider was built for.
#
# Two builds are pinned in GPU_SHA256SUMS, one per CUDA major version; the
# provider must match the CUDA runtime libraries the machine has:
#
#   cuda12  ONNX Runtime 1.24.1 (the release VERSION names) from the Maven
#           Central artifact com.microsoft.onnxruntime:onnxruntime_gpu:1.24.1
#           (371 MB jar), downloaded with `mvn dependency:copy`. Its provider
#           needs libcudart.so.12, libcublas.so.12, libcublasLt.so.12,
#           libcurand.so.10, libcufft.so.11 and libcudnn.so.9.
#   cuda13  ONNX Runtime 1.31.1 from the PyPI wheel onnxruntime-gpu==1.31.1
#           (manylinux_2_28_x86_64, cp312; 256 MB), downloaded with
#           `pip download` (only downloads; nothing is installed). Its
#           onnxruntime/capi/ holds libonnxruntime.so.1.31.1 and the provider,
#           which needs libcudart.so.13, libcublas.so.13, libcublasLt.so.13,
#           libcurand.so.10 and libcuda.so.1, and opens cuDNN 9 when a model
#           needs it. A newer ONNX Runtime serves the older C API version
#           (24) that onnxruntime_go asks for.
#
# Which one: $ORT_GPU_CUDA (12 or 13) when set; otherwise the major version
# of the CUDA runtime libraries this machine has (see cuda-major.sh); when
# it has both or neither, cuda12, the release onnxruntime_go is built for.
#
# Both registry clients keep their own download cache (~/.m2, pip's), so a
# second run, or a switch back, downloads nothing. Running it again when the
# right libraries are already in place does nothing.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$dir/gpu"
sums="$dir/GPU_SHA256SUMS"
libs=(libonnxruntime.so.1 libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so)

die() {
	echo "fetch-gpu.sh: $*" >&2
	exit 1
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

# want prints the pinned sha256 of a GPU_SHA256SUMS member.
want() {
	local w
	w="$(awk -v m="$1" '$2 == m { print $1 }' "$sums")"
	[ -n "$w" ] || die "no checksum for $1 in $sums"
	echo "$w"
}

[ "$(uname -s)" = Linux ] || die "CUDA builds are pinned for Linux only (got $(uname -s))"
case "$(uname -m)" in
x86_64 | amd64) ;;
*) die "CUDA builds are pinned for linux-x64 only (got $(uname -m)); build ONNX Runtime yourself and set TIFFIN_ORT_LIBRARY" ;;
esac

major="${ORT_GPU_CUDA:-}"
if [ -z "$major" ]; then
	major="$(bash "$dir/cuda-major.sh" || true)"
	case "$major" in
	12 | 13) echo "this machine's CUDA runtime libraries are CUDA $major" ;;
	*)
		major=12
		echo "no single CUDA major version found on this machine; taking the CUDA 12 build (set ORT_GPU_CUDA=13 for the other)"
		;;
	esac
fi
case "$major" in
12 | 13) variant="cuda$major" ;;
*) die "ORT_GPU_CUDA must be 12 or 13 (got $major)" ;;
esac

in_place() {
	[ -f "$dest/CUDA" ] && [ "$(cat "$dest/CUDA")" = "$major" ] || return 1
	local l
	for l in "${libs[@]}"; do
		[ -f "$dest/$l" ] && [ "$(sha256 "$dest/$l")" = "$(want "$variant/$l")" ] || return 1
	done
}
if in_place; then
	echo "CUDA $major onnxruntime already at $dest"
	exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/out"

# check verifies a downloaded file against its pinned checksum.
check() {
	local got
	got="$(sha256 "$2")"
	[ "$got" = "$(want "$1")" ] || die "checksum mismatch for $1: expected $(want "$1"), got $got"
}

case "$variant" in
cuda12)
	artifact=com.microsoft.onnxruntime:onnxruntime_gpu:1.24.1
	command -v mvn >/dev/null 2>&1 || die "mvn is needed to download $artifact (Debian: apt-get install -y maven)"
	echo "downloading $artifact (371 MB; Maven keeps it in ~/.m2 for next time)"
	mvn -B -q dependency:copy "-Dartifact=$artifact:jar" "-DoutputDirectory=$tmp" >"$tmp/mvn.log" 2>&1 ||
		{ cat "$tmp/mvn.log" >&2; die "mvn could not download $artifact"; }
	jar="$tmp/onnxruntime_gpu-1.24.1.jar"
	check cuda12/onnxruntime_gpu-1.24.1.jar "$jar"
	inner=ai/onnxruntime/native/linux-x64
	command -v unzip >/dev/null 2>&1 || die "unzip is needed to open the jar (Debian: apt-get install -y unzip)"
	unzip -q -o "$jar" "$inner/libonnxruntime.so" "$inner/libonnxruntime_providers_shared.so" \
		"$inner/libonnxruntime_providers_cuda.so" -d "$tmp"
	mv "$tmp/$inner/libonnxruntime.so" "$tmp/out/libonnxruntime.so.1"
	mv "$tmp/$inner/libonnxruntime_providers_shared.so" "$tmp/$inner/libonnxruntime_providers_cuda.so" "$tmp/out/"
	;;
cuda13)
	wheel=onnxruntime_gpu-1.31.1-cp312-cp312-manylinux_2_28_x86_64.whl
	py="$(command -v python3 || true)"
	if [ -z "$py" ] || ! "$py" -m pip --version >/dev/null 2>&1; then
		die "python3 with pip is needed to download onnxruntime-gpu==1.31.1"
	fi
	echo "downloading onnxruntime-gpu==1.31.1 (256 MB; pip keeps it in its cache for next time)"
	"$py" -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.12 \
		-d "$tmp" onnxruntime-gpu==1.31.1 >"$tmp/pip.log" 2>&1 ||
		{ cat "$tmp/pip.log" >&2; die "pip could not download onnxruntime-gpu==1.31.1"; }
	check "cuda13/$wheel" "$tmp/$wheel"
	inner=onnxruntime/capi
	command -v unzip >/dev/null 2>&1 || die "unzip is needed to open the wheel (Debian: apt-get install -y unzip)"
	unzip -q -o "$tmp/$wheel" "$inner/libonnxruntime.so.1.31.1" "$inner/libonnxruntime_providers_shared.so" \
		"$inner/libonnxruntime_providers_cuda.so" -d "$tmp"
	mv "$tmp/$inner/libonnxruntime.so.1.31.1" "$tmp/out/libonnxruntime.so.1"
	mv "$tmp/$inner/libonnxruntime_providers_shared.so" "$tmp/$inner/libonnxruntime_providers_cuda.so" "$tmp/out/"
	;;
esac

for l in "${libs[@]}"; do
	check "$variant/$l" "$tmp/out/$l"
	chmod 0755 "$tmp/out/$l"
done
echo "$major" >"$tmp/out/CUDA"
rm -rf "$dest.tmp"
mv "$tmp/out" "$dest.tmp"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
echo "CUDA $major onnxruntime installed at $dest"
echo "serve with: TIFFIN_ORT_LIBRARY=$dest/libonnxruntime.so.1 and the CUDA $major libraries on LD_LIBRARY_PATH (make cuda-libs)"
