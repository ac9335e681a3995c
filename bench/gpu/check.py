"""Helpers of bench/gpu/check.sh: each subcommand prints one verdict line,
"PASS|FAIL|SKIP <detail>", or (ready, scrape) exits non-zero on failure.
Standard library only: the GPU machine may be offline.

  ready URL SECONDS                 wait until URL answers 200
  devices DEVICES.json SMI.csv DRY  tiffin devices --json against nvidia-smi
  outputs BASE DRY PAIR...          PAIR is cpu_model=gpu_model: same input, max |diff| <= 1e-3
  throughput SERVED.json BASE.json  served rows/s against the baseline at the server's mean batch
  scrape URL FILE                   save /metrics to FILE
  instances BEFORE AFTER MODEL N    each of N instances' thread CPU time grew
  telemetry METRICS GPU DRY         NVML gauges for GPU, arena bounds, process memory
  tune FILE KIND                    the tune output holds a KIND batching block
"""

import json
import math
import random
import re
import sys
import time
import urllib.request


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.read()


def post(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def ready(url, seconds):
    deadline = time.time() + float(seconds)
    while time.time() < deadline:
        try:
            if get(url, 2)[0] == 200:
                return 0
        except Exception:
            pass
        time.sleep(0.25)
    print(f"not ready within {seconds}s: {url}", file=sys.stderr)
    return 1


def devices(path, smi_path, dry):
    dev = json.load(open(path))
    gpus = sorted(dev.get("gpus") or [], key=lambda g: g["physical_index"])
    gpus = [g for g in gpus if g["uuid"].startswith("GPU-")]  # MIG instances are not rows of nvidia-smi
    smi = [[f.strip() for f in l.split(",")] for l in open(smi_path).read().splitlines() if l.strip()]
    bad = []
    if len(gpus) != len(smi):
        bad.append(f"tiffin sees {len(gpus)} GPUs, nvidia-smi {len(smi)}")
    for g, (idx, uuid, mib) in zip(gpus, smi):
        if g["uuid"] != uuid:
            bad.append(f"GPU {idx}: uuid {g['uuid']} != nvidia-smi {uuid}")
        if abs(g["memory_total_bytes"] / 2**20 - float(mib)) > 1:
            bad.append(f"GPU {idx}: {g['memory_total_bytes'] / 2**20:.0f} MiB != nvidia-smi {mib} MiB")
    if not gpus and dry == "0":
        bad.append("no GPU found")
    desc = "; ".join(f"{g['index']}: {g['name']}, {g['memory_total_bytes'] / 2**30:.1f} GiB, {g['uuid']}" for g in gpus)
    if bad:
        print("FAIL", "; ".join(bad))
    else:
        print("PASS", f"{len(gpus)} GPUs agree on count, UUID and memory ({desc or 'none'}); "
              f"driver {dev.get('driver', '-')}, CUDA {dev.get('cuda', '-')}")


def request_for(base, model, rows, rng):
    meta = json.loads(get(f"{base}/v2/models/{model}")[1])
    inputs = []
    for spec in meta["inputs"]:
        shape = [rows if d < 0 else d for d in spec["shape"]]
        n = math.prod(shape)
        data = [rng.uniform(-2, 2) for _ in range(n)]
        inputs.append({"name": spec["name"], "datatype": spec["datatype"], "shape": shape, "data": data})
    return {"inputs": inputs}


def outputs(base, dry, *pairs):
    rng = random.Random(7)
    worst, bad, notes = 0.0, [], []
    for pair in pairs:
        cpu, gpu = pair.split("=")
        req = request_for(base, cpu, 8, rng)
        try:
            a = post(f"{base}/v2/models/{cpu}/infer", req)
            b = post(f"{base}/v2/models/{gpu}/infer", req)
        except Exception as e:
            bad.append(f"{gpu}: {e}")
            continue
        diff = 0.0
        for oa, ob in zip(a["outputs"], b["outputs"]):
            if oa["shape"] != ob["shape"]:
                bad.append(f"{gpu} {ob['name']}: shape {ob['shape']} != {oa['shape']}")
            diff = max([diff] + [abs(x - y) for x, y in zip(oa["data"], ob["data"])])
        if diff > 1e-3:
            bad.append(f"{gpu}: max |gpu - cpu| = {diff:.2e} > 1e-3")
        worst = max(worst, diff)
        notes.append(f"{gpu} {diff:.1e}")
    print("FAIL" if bad else "PASS", "; ".join(bad) or f"max |gpu - cpu| over 8 rows: {', '.join(notes)} (<= 1e-3)")


def throughput(served_path, base_path):
    served = json.load(open(served_path))
    level = served["levels"][0]
    rows, batch = level["rows_per_s"], level.get("server_mean_batch") or 1
    base = sorted(json.load(open(base_path))["baseline"]["rows"], key=lambda r: r["batch"])
    ref = at_batch(base, batch)
    best = max(base, key=lambda r: r["rows_per_s"])
    ratio = rows / ref if ref else 0
    detail = (f"served {rows:.0f} rows/s at 64 clients, mean batch {batch:.1f}, errors {level['errors']}; "
              f"ORT CUDA alone {ref:.0f} rows/s at batch {batch:.1f} -> {ratio:.2f} (want >= 0.90); "
              f"ORT's best {best['rows_per_s']:.0f} rows/s at batch {best['batch']} -> {rows / best['rows_per_s']:.2f}")
    print("PASS" if ratio >= 0.90 and level["errors"] == 0 else "FAIL", detail)


def at_batch(rows, batch):
    """The baseline's rows/s at the server's mean batch, interpolated
    linearly between the batch sizes it ran (1, 8, 32, 64), clamped at the
    ends: the ceiling for the batching the server achieved."""
    if batch <= rows[0]["batch"]:
        return rows[0]["rows_per_s"]
    for lo, hi in zip(rows, rows[1:]):
        if batch <= hi["batch"]:
            f = (batch - lo["batch"]) / (hi["batch"] - lo["batch"])
            return lo["rows_per_s"] + f * (hi["rows_per_s"] - lo["rows_per_s"])
    return rows[-1]["rows_per_s"]


def scrape(url, path):
    open(path, "wb").write(get(url)[1])


def series(text, name):
    """{labels: value} of every sample of metric name."""
    out = {}
    for m in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def instances(before, after, model, n):
    name = "tiffin_instance_cpu_seconds_total"
    b, a = series(open(before).read(), name), series(open(after).read(), name)
    grew = {}
    for labels, v in a.items():
        if f'model="{model}"' in labels:
            inst = re.search(r'instance="(\d+)"', labels).group(1)
            grew[inst] = v - b.get(labels, 0)
    total = sum(grew.values())
    shares = ", ".join(f"instance {i}: {s:.2f}s CPU" for i, s in sorted(grew.items()))
    ok = len(grew) == int(n) and total > 0 and min(grew.values()) >= 0.1 * total / len(grew)
    print("PASS" if ok else "FAIL", f"{model}: {len(grew)} instances, want {n}, each with a fair share of the work; {shares or 'no series'}")


def telemetry(path, gpu, dry):
    text = open(path).read()
    sel = f'gpu="{gpu}"'
    pick = lambda name: [v for k, v in series(text, name).items() if sel in k]
    util, used, own = pick("tiffin_gpu_utilization_ratio"), pick("tiffin_gpu_memory_used_bytes"), pick("tiffin_gpu_process_memory_used_bytes")
    limits = pick("tiffin_instance_gpu_memory_limit_bytes")
    detail = (f"GPU {gpu}: utilization {util[0] if util else '-'}, memory used {used[0] / 2**20 if used else 0:.0f} MiB, "
              f"this process {own[0] / 2**20 if own else 0:.0f} MiB, {len(limits)} instance arena bounds "
              f"({', '.join(f'{l / 2**30:.1f} GiB' for l in limits)})")
    if dry == "1":
        print("SKIP", "dry run: no NVML; " + detail)
        return
    ok = util and used and used[0] > 0 and limits
    print("PASS" if ok else "FAIL", detail)


def tune(path, kind):
    text = open(path).read() if path else ""
    ok = f"recommended for {kind} instances" in text and "max_queue_delay" in text
    block = " ".join(l.strip() for l in text.splitlines() if l.strip() and not l.startswith("#"))
    print("PASS" if ok else "FAIL", f"{kind} block: {block[:200] or 'none written'}")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    rc = {"ready": ready, "devices": devices, "outputs": outputs, "throughput": throughput, "scrape": scrape,
          "instances": instances, "telemetry": telemetry, "tune": tune}[cmd](*args)
    sys.exit(rc or 0)
