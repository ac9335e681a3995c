"""What ONNX Runtime alone does with ONNX's backend test models.

Usage: python ort_alone.py DATA_DIR OUT.json

For every case of the pytorch-converted, pytorch-operator, simple and light
suites under DATA_DIR (onnx/backend/test/data) it loads the model into an
onnxruntime InferenceSession on the CPU, feeds test_data_set_0's inputs by
position (the light models get arange(n)/n, as ONNX's runner gives them),
and holds the outputs against the expected ones with ONNX's runner's own
assert_similar_outputs and the case's tolerances. OUT.json maps
"suite/name" to {"ok": bool, "stage": "load"|"run"|"compare"|"", "error": str}.
The conformance test (cmd/tiffin, make conformance) reads it.
"""

import glob
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper
from onnx.backend.test.runner import Runner

SUITES = ["pytorch-converted", "pytorch-operator", "simple", "light"]
LIGHT_RTOL = {"light_densenet121": 2e-3}


def tolerances(folder):
    rtol, atol = 1e-3, 1e-7
    path = os.path.join(folder, "data.json")
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
        rtol, atol = data.get("rtol", rtol), data.get("atol", atol)
    return rtol, atol


def read(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def cases(data_dir):
    for suite in SUITES:
        root = os.path.join(data_dir, suite)
        for entry in sorted(os.listdir(root)):
            path = os.path.join(root, entry)
            if suite == "light":
                if not entry.endswith(".onnx"):
                    continue
                name = entry[: -len(".onnx")]
                expected = os.path.join(root, name + "_output_0.pb")
                if os.path.exists(expected):
                    yield suite, name, path, None, [expected], LIGHT_RTOL.get(name, 1e-3), 1e-7
                continue
            data = os.path.join(path, "test_data_set_0")
            if not os.path.exists(os.path.join(path, "model.onnx")) or not os.path.isdir(data):
                continue
            outputs = sorted(glob.glob(os.path.join(data, "output_*.pb")), key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
            yield suite, entry, os.path.join(path, "model.onnx"), data, outputs, *tolerances(path)


def run_case(model_path, data, outputs, rtol, atol):
    stage = "load"
    try:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        stage = "run"
        feeds = {}
        for i, x in enumerate(sess.get_inputs()):
            if data is None:
                shape = tuple(d if isinstance(d, int) else 1 for d in x.shape)
                n = int(np.prod(shape))
                feeds[x.name] = (np.arange(n).reshape(shape) / n).astype(np.float32)
            else:
                feeds[x.name] = read(os.path.join(data, f"input_{i}.pb"))
        got = sess.run(None, feeds)
        stage = "compare"
        Runner.assert_similar_outputs([read(p) for p in outputs], got, rtol, atol)
        return {"ok": True, "stage": "", "error": ""}
    except Exception as e:  # noqa: BLE001 - every failure is a result here
        return {"ok": False, "stage": stage, "error": f"{type(e).__name__}: {e}".strip()}


def main():
    data_dir, out = sys.argv[1], sys.argv[2]
    results = {}
    for suite, name, model, data, outputs, rtol, atol in cases(data_dir):
        results[f"{suite}/{name}"] = run_case(model, data, outputs, rtol, atol)
    with open(out, "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    ok = sum(r["ok"] for r in results.values())
    print(f"onnxruntime {ort.__version__}: {ok} of {len(results)} cases correct", file=sys.stderr)


if __name__ == "__main__":
    main()
