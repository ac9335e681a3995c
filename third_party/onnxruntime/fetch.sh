#!/usr/bin/env bash
# fetch.sh puts the ONNX Runtime shared library for this machine at
# lib/libonnxruntime.so.1, next to this script.
#
# The library is taken from the onnxruntime-node package of the version in
# VERSION, downloaded with `npm pack` (which only downloads; `npm install`
# would run the package's install script) and checked against SHA256SUMS.
# Running it again when the library is already in place does nothing.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(tr -d '[:space:]' <"$dir/VERSION")"
dest="$dir/lib/libonnxruntime.so.1"

die() {
	echo "fetch.sh: $*" >&2
	exit 1
}

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

case "$(uname -s)" in
Linux) ;;
*) die "only Linux is supported (got $(uname -s)); build or download ONNX Runtime yourself and set TIFFIN_ORT_LIBRARY" ;;
esac

case "$(uname -m)" in
x86_64 | amd64) arch=x64 ;;
aarch64 | arm64) arch=arm64 ;;
*) die "no ONNX Runtime build for architecture $(uname -m)" ;;
esac

member="linux/$arch/libonnxruntime.so.1"
want="$(awk -v m="$member" '$2 == m { print $1 }' "$dir/SHA256SUMS")"
[ -n "$want" ] || die "no checksum for $member in $dir/SHA256SUMS"

if [ -f "$dest" ] && [ "$(sha256 "$dest")" = "$want" ]; then
	echo "onnxruntime $version already at $dest"
	exit 0
fi

command -v npm >/dev/null 2>&1 || die "npm is needed to download onnxruntime-node@$version"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "downloading onnxruntime-node@$version ($member)"
(cd "$tmp" && npm pack --silent --ignore-scripts "onnxruntime-node@$version" >/dev/null)
tgz="$(find "$tmp" -maxdepth 1 -name 'onnxruntime-node-*.tgz' | head -n 1)"
[ -n "$tgz" ] || die "npm pack produced no tarball"

tar -xzf "$tgz" -C "$tmp" "package/bin/napi-v6/$member"
got="$(sha256 "$tmp/package/bin/napi-v6/$member")"
if [ "$got" != "$want" ]; then
	die "checksum mismatch for $member of onnxruntime-node@$version: expected $want, got $got"
fi

mkdir -p "$dir/lib"
chmod 0644 "$tmp/package/bin/napi-v6/$member"
mv -f "$tmp/package/bin/napi-v6/$member" "$dest.tmp"
mv -f "$dest.tmp" "$dest"
echo "onnxruntime $version installed at $dest"
