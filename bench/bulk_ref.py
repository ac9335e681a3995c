"""The Python reference for `make bench-bulk`.

  bulk_ref.py gen MODEL.onnx ROWS OUT.parquet
      writes ROWS rows of random features for the model's single input as
      one fixed-size-list column named after it (row groups of 64k rows).
  bulk_ref.py score MODEL.onnx IN.parquet [BATCH]
      scores the file the way a user would today: pyarrow reads it batch
      by batch, onnxruntime (one thread, like the server's one core) runs
      batches of BATCH (1024) rows; prints {"rows":N,"seconds":S,"rows_per_s":R}.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
import pyarrow as pa
import pyarrow.parquet as pq


def session(model):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def gen(model, rows, out):
    inp = session(model).get_inputs()[0]
    width = int(np.prod([d for d in inp.shape[1:]]))
    rng = np.random.default_rng(7)
    schema = pa.schema([(inp.name, pa.list_(pa.float32(), width))])
    with pq.ParquetWriter(out, schema) as w:
        step = 1 << 16
        for start in range(0, rows, step):
            n = min(step, rows - start)
            flat = pa.array(rng.standard_normal(n * width, dtype=np.float32))
            col = pa.FixedSizeListArray.from_arrays(flat, width)
            w.write_table(pa.table([col], schema=schema))


def score(model, path, batch):
    sess = session(model)
    inp = sess.get_inputs()[0]
    rows = 0
    start = time.perf_counter()
    for rb in pq.ParquetFile(path).iter_batches(batch_size=batch, columns=[inp.name]):
        col = rb.column(0)
        x = col.values.to_numpy(zero_copy_only=False).reshape(len(col), -1)
        sess.run(None, {inp.name: x})
        rows += len(col)
    secs = time.perf_counter() - start
    print(json.dumps({"rows": rows, "seconds": secs, "rows_per_s": rows / secs, "batch": batch}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif cmd == "score":
        score(sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1024)
    else:
        sys.exit(__doc__)
