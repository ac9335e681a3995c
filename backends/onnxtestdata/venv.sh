#!/usr/bin/env bash
# `make conformance-venv`: install the pinned onnx wheel (ONNX's backend test
# data) and onnxruntime into build/conformance-venv, once; a later run does
# nothing while requirements.txt is unchanged.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=../../third_party/python/venv.sh
source "$root/third_party/python/venv.sh"
venv_install "$root/build/conformance-venv" "$root/backends/onnxtestdata/requirements.txt" conformance
