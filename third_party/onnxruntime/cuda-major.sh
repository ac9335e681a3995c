#!/usr/bin/env bash
# cuda-major.sh finds the CUDA runtime libraries this machine has, where the
# CUDA execution provider's dlopen can find them or LD_LIBRARY_PATH can make
# it: the linker cache (ldconfig -p), LD_LIBRARY_PATH, /usr/local/cuda*, the
# nvidia/ folders of Python's site-packages (the pip wheels
# nvidia-cublas-cu12, nvidia-cudnn-cu13, ...) and build/cuda-libs (make
# cuda-libs).
#
#   cuda-major.sh          prints 12 or 13: the CUDA major version whose
#                          cudart and cuBLAS are both present, when exactly
#                          one is; prints nothing and exits 1 otherwise.
#   cuda-major.sh dirs N   prints the folders that hold CUDA N's libraries
#                          (and cuDNN 9), joined by ':', for LD_LIBRARY_PATH.
#   cuda-major.sh list N   prints each library CUDA N's provider needs and
#                          where it was found, or "missing".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# needs prints the sonames CUDA major $1's provider needs.
needs() {
	case "$1" in
	12) echo libcudart.so.12 libcublas.so.12 libcublasLt.so.12 libcurand.so.10 libcufft.so.11 libcudnn.so.9 ;;
	13) echo libcudart.so.13 libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcuda.so.1 libcudnn.so.9 ;;
	*)
		echo "cuda-major.sh: no CUDA $1 build is pinned (12 or 13)" >&2
		exit 2
		;;
	esac
}

# search_dirs prints candidate folders, one a line.
search_dirs() {
	local d
	tr ':' '\n' <<<"${LD_LIBRARY_PATH:-}"
	for d in /usr/local/cuda*/lib64 /usr/local/cuda*/targets/x86_64-linux/lib; do
		[ -d "$d" ] && echo "$d"
	done
	local py site
	for py in python3 "$root/build/cuda-libs/bin/python3"; do
		command -v "$py" >/dev/null 2>&1 || continue
		while read -r site; do
			[ -d "$site/nvidia" ] && find "$site/nvidia" -maxdepth 3 -type d -name lib 2>/dev/null
		done < <("$py" -c 'import site, sys; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null || true)
	done
}

# find_lib prints where soname $1 is: a folder, or "ldconfig".
find_lib() {
	local d
	while read -r d; do
		[ -n "$d" ] && [ -e "$d/$1" ] && {
			echo "$d"
			return 0
		}
	done < <(search_dirs | awk '!seen[$0]++')
	if command -v ldconfig >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q "[[:space:]]$1 "; then
		echo ldconfig
		return 0
	fi
	return 1
}

has_major() {
	find_lib "libcudart.so.$1" >/dev/null && find_lib "libcublas.so.$1" >/dev/null
}

case "${1:-major}" in
major)
	found=()
	for m in 12 13; do
		if has_major "$m"; then found+=("$m"); fi
	done
	[ "${#found[@]}" -eq 1 ] || exit 1
	echo "${found[0]}"
	;;
dirs)
	out=()
	for lib in $(needs "${2:?usage: cuda-major.sh dirs 12|13}"); do
		d="$(find_lib "$lib" || true)"
		if [ -n "$d" ] && [ "$d" != ldconfig ] && [[ " ${out[*]} " != *" $d "* ]]; then out+=("$d"); fi
	done
	(
		IFS=:
		echo "${out[*]}"
	)
	;;
list)
	for lib in $(needs "${2:?usage: cuda-major.sh list 12|13}"); do
		printf '%-20s %s\n' "$lib" "$(find_lib "$lib" || echo missing)"
	done
	;;
*)
	echo "usage: cuda-major.sh [major | dirs 12|13 | list 12|13]" >&2
	exit 2
	;;
esac
