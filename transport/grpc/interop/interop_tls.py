"""TLS interop: Triton's Python clients against tiffin serving a Triton
repository (model.onnx + config.pbtxt) over TLS with client certificates.

usage: interop_tls.py HTTPS_ADDR GRPC_ADDR PKI_DIR

PKI_DIR holds ca.pem, client.pem and client.key (tlsgen writes them).
Checks readiness, get_model_config against the values Triton shows for the
same config.pbtxt, inference over HTTPS and gRPC with TLS, and that a
client without a certificate is refused.
"""

import os
import ssl
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from interop import expect, run_checks  # beside this file


def http_client(addr, pki, with_cert=True):
    def context():
        ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
        if with_cert:
            ctx.load_cert_chain(os.path.join(pki, "client.pem"), os.path.join(pki, "client.key"))
        return ctx

    return httpclient.InferenceServerClient(addr, ssl=True, ssl_context_factory=context)


def grpc_client(addr, pki):
    return grpcclient.InferenceServerClient(
        addr, ssl=True,
        root_certificates=os.path.join(pki, "ca.pem"),
        private_key=os.path.join(pki, "client.key"),
        certificate_chain=os.path.join(pki, "client.pem"))


def check_config(cfg, how):
    """The values Triton's get_model_config shows for run.sh's config.pbtxt."""
    expect(cfg["name"] == "classifier" and cfg["platform"] == "onnxruntime_onnx" and cfg["backend"] == "onnxruntime", f"{how}: {cfg}")
    expect(int(cfg["max_batch_size"]) == 8, f"{how} max_batch_size: {cfg}")
    expect(cfg["input"][0]["name"] == "input" and cfg["input"][0]["data_type"] == "TYPE_FP32"
           and [int(d) for d in cfg["input"][0]["dims"]] == [16], f"{how} input: {cfg['input']}")
    db = cfg["dynamic_batching"]
    expect([int(p) for p in db["preferred_batch_size"]] == [4, 8] and int(db["max_queue_delay_microseconds"]) == 2000, f"{how} dynamic_batching: {db}")
    ig = cfg["instance_group"]
    expect(len(ig) == 1 and int(ig[0]["count"]) == 2 and ig[0]["kind"] == "KIND_CPU" and ig[0]["name"] == "classifier_0", f"{how} instance_group: {ig}")
    expect([int(v) for v in cfg["version_policy"]["specific"]["versions"]] == [1, 3], f"{how} version_policy: {cfg['version_policy']}")
    expect(cfg["default_model_filename"] == "model.onnx", f"{how} default_model_filename: {cfg}")


def infer(client, mod):
    x = np.linspace(0, 1, 32, dtype=np.float32).reshape(2, 16)
    inp = mod.InferInput("input", [2, 16], "FP32")
    inp.set_data_from_numpy(x)
    out = client.infer("classifier", [inp]).as_numpy("output")
    expect(out is not None and out.shape == (2, 4), f"output {out}")


def main():
    https_addr, grpc_addr, pki = sys.argv[1:4]
    h, g = http_client(https_addr, pki), grpc_client(grpc_addr, pki)
    run_checks([
        ("ready over TLS with client certificates (http, grpc)",
         lambda: expect(h.is_server_ready() and g.is_server_ready() and h.is_model_ready("classifier"), "not ready")),
        ("get_model_config of a config.pbtxt shows Triton's values (http)", lambda: check_config(h.get_model_config("classifier"), "http")),
        ("get_model_config of a config.pbtxt shows Triton's values (grpc)",
         lambda: check_config(g.get_model_config("classifier", as_json=True)["config"], "grpc")),
        ("infer over TLS (http, grpc)", lambda: (infer(h, httpclient), infer(g, grpcclient))),
        ("no client certificate: refused", lambda: refused(https_addr, pki)),
    ], "TLS interop")


def refused(addr, pki):
    try:
        http_client(addr, pki, with_cert=False).is_server_live()
    except Exception:
        return
    raise AssertionError("a client without a certificate was served")


if __name__ == "__main__":
    main()
