"""Interop suite: Triton's own Python clients (tritonclient.http and
tritonclient.grpc) against a running tiffin, unmodified.

usage: interop.py HTTP_ADDR GRPC_ADDR REFERENCE.json

Checks server and model health and metadata, model config, inference over
HTTP (JSON and binary tensors) and gRPC on mlp-small (against the Go
reference implementation's outputs) and multi-io (against numpy), streaming
inference over gRPC, statistics, and repository index/load/unload.
"""

import json
import queue
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

CHECKS = []


def check(name):
    def wrap(fn):
        CHECKS.append((name, fn))
        return fn

    return wrap


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def mlp_inputs(mod, ref, binary):
    x = np.array(ref["input"], dtype=np.float32).reshape(ref["batch"], 16)
    inp = mod.InferInput("input", list(x.shape), "FP32")
    if binary is None:
        inp.set_data_from_numpy(x)
    else:
        inp.set_data_from_numpy(x, binary_data=binary)
    return [inp]


def mlp_check(result, ref):
    got = result.as_numpy("output")
    want = np.array(ref["output"], dtype=np.float32).reshape(ref["batch"], 4)
    expect(got is not None and got.shape == want.shape, f"output shape {None if got is None else got.shape}")
    expect(np.allclose(got, want, atol=1e-5), f"mlp-small output {got} != reference {want}")


def multiio_inputs(mod, binary):
    a = np.array([[-1, 0.5, 2, -0.25], [3, -3, 0, 1]], dtype=np.float32)
    b = np.array([[1, -2, 3, 4], [5, 6, -7, 8]], dtype=np.int32)
    c = np.array([[0.125, -4], [1e10, 2]], dtype=np.float64)
    ins = []
    for name, arr, dt in (("a", a, "FP32"), ("b", b, "INT32"), ("c", c, "FP64")):
        i = mod.InferInput(name, list(arr.shape), dt)
        if binary is None:
            i.set_data_from_numpy(arr)
        else:
            i.set_data_from_numpy(arr, binary_data=binary)
        ins.append(i)
    return ins, (a, b, c)


def multiio_check(result, arrays):
    a, b, c = arrays
    want = {
        "sum": a + b.astype(np.float32),
        "scaled": b.astype(np.int64) * 3,
        "positive": a > 0,
        "c_double": c * 2,
    }
    for name, w in want.items():
        got = result.as_numpy(name)
        expect(got is not None and got.dtype == w.dtype, f"{name}: dtype {None if got is None else got.dtype}, want {w.dtype}")
        expect(np.array_equal(got, w), f"{name}: {got} != {w}")


@check("server live/ready/metadata (http, grpc)")
def server(h, g, ref):
    for c in (h, g):
        expect(c.is_server_live(), "not live")
        expect(c.is_server_ready(), "not ready")
    expect(h.get_server_metadata()["name"] == "tiffin", "http server metadata")
    expect(g.get_server_metadata().name == "tiffin", "grpc server metadata")


@check("model ready/metadata/config (http, grpc)")
def model(h, g, ref):
    for c in (h, g):
        expect(c.is_model_ready("mlp-small"), "mlp-small not ready")
    md = h.get_model_metadata("mlp-small")
    expect(md["inputs"][0]["shape"] == [-1, 16], f"http metadata {md}")
    gmd = g.get_model_metadata("multi-io")
    expect([i.datatype for i in gmd.inputs] == ["FP32", "INT32", "FP64"], f"grpc metadata {gmd}")
    cfg = h.get_model_config("mlp-small")
    expect(cfg["max_batch_size"] == 64 and cfg["input"][0]["dims"] == [16], f"http config {cfg}")
    gcfg = g.get_model_config("mlp-small", as_json=True)["config"]
    expect(int(gcfg["max_batch_size"]) == 64 and gcfg["input"][0]["data_type"] == "TYPE_FP32", f"grpc config {gcfg}")


@check("infer mlp-small: http json, http binary, grpc")
def infer_mlp(h, g, ref):
    r = ref["mlp-small"]
    outs = [httpclient.InferRequestedOutput("output", binary_data=False)]
    mlp_check(h.infer("mlp-small", mlp_inputs(httpclient, r, False), outputs=outs), r)
    mlp_check(h.infer("mlp-small", mlp_inputs(httpclient, r, True)), r)
    mlp_check(g.infer("mlp-small", mlp_inputs(grpcclient, r, None), request_id="g1"), r)


@check("infer multi-io: http json, http binary, grpc")
def infer_multiio(h, g, ref):
    for binary in (False, True):
        ins, arrays = multiio_inputs(httpclient, binary)
        outs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in ("sum", "scaled", "positive", "c_double")]
        multiio_check(h.infer("multi-io", ins, outputs=outs), arrays)
    ins, arrays = multiio_inputs(grpcclient, None)
    multiio_check(g.infer("multi-io", ins), arrays)


@check("grpc stream infer (16 requests, answers matched by id)")
def stream(h, g, ref):
    r = ref["mlp-small"]
    answers = queue.Queue()
    g.start_stream(callback=lambda result, error: answers.put((result, error)))
    try:
        for i in range(16):
            g.async_stream_infer("mlp-small", mlp_inputs(grpcclient, r, None), request_id=f"s{i}")
        seen = set()
        for _ in range(16):
            result, error = answers.get(timeout=30)
            expect(error is None, f"stream error {error}")
            mlp_check(result, r)
            seen.add(result.get_response().id)
        expect(seen == {f"s{i}" for i in range(16)}, f"ids {seen}")
    finally:
        g.stop_stream()


@check("statistics (http, grpc)")
def statistics(h, g, ref):
    hs = h.get_inference_statistics("mlp-small")["model_stats"][0]
    expect(hs["name"] == "mlp-small" and hs["inference_count"] >= 3 * 19, f"http stats {hs}")
    expect(hs["inference_stats"]["success"]["count"] >= 19, f"http stats {hs}")
    gs = g.get_inference_statistics("mlp-small", as_json=True)["model_stats"][0]
    expect(int(gs["inference_count"]) >= 3 * 19, f"grpc stats {gs}")
    expect(len(h.get_inference_statistics()["model_stats"]) == 4, "stats of all models")


@check("repository index/unload/load (http, grpc)")
def repository(h, g, ref):
    idx = h.get_model_repository_index()
    expect(sorted(m["name"] for m in idx) == ["cnn", "mlp-large", "mlp-small", "multi-io"], f"http index {idx}")
    gidx = g.get_model_repository_index(as_json=True)["models"]
    expect(all(m["state"] == "READY" for m in gidx), f"grpc index {gidx}")
    for c in (h, g):
        c.unload_model("cnn")
        expect(not c.is_model_ready("cnn"), "cnn ready after unload")
        c.load_model("cnn")
        expect(c.is_model_ready("cnn"), "cnn not ready after load")


@check("errors: unknown model, wrong element count")
def errors(h, g, ref):
    from tritonclient.utils import InferenceServerException

    r = dict(ref["mlp-small"])
    for c, mod in ((h, httpclient), (g, grpcclient)):
        try:
            c.infer("no-such-model", mlp_inputs(mod, r, None))
            raise AssertionError("unknown model answered")
        except InferenceServerException as e:
            expect("no-such-model" in str(e), f"unknown model error: {e}")
    bad = grpcclient.InferInput("input", [1, 16], "FP32")
    bad.set_data_from_numpy(np.zeros((1, 16), dtype=np.float32))
    bad._raw_content = bad._raw_content[:60]
    try:
        g.infer("mlp-small", [bad])
        raise AssertionError("short input answered")
    except InferenceServerException as e:
        expect(e.status() == "StatusCode.INVALID_ARGUMENT", f"short input status {e.status()}")


def run_checks(checks, what):
    """Runs every (name, fn) check, reports each, and exits 1 if any failed."""
    failed = 0
    for name, fn in checks:
        try:
            fn()
            print(f"PASS  {name}")
        except Exception as e:  # report every check, then fail
            failed += 1
            print(f"FAIL  {name}: {type(e).__name__}: {e}")
    print(f"{len(checks) - failed} of {len(checks)} {what} checks passed")
    sys.exit(1 if failed else 0)


def main():
    http_addr, grpc_addr, ref_path = sys.argv[1:4]
    with open(ref_path) as f:
        ref = json.load(f)
    h = httpclient.InferenceServerClient(http_addr)
    g = grpcclient.InferenceServerClient(grpc_addr)
    run_checks([(name, lambda fn=fn: fn(h, g, ref)) for name, fn in CHECKS], "interop")


if __name__ == "__main__":
    main()
