"""64-point design-space sweep of the demo MLP: in-process vs a local Dask cluster.

    PYTHONPATH=$PWD python bench/dse_sweep.py [--repeats 2] [--workers 2] [--out DIR]

Space: weight_bits {2,4,6,8} x percentile {99.0, 99.9} x encoding {direct, rate} x
n_steps {4,8,16,32} = 64 points (16 builds) on the demo's 64-128-64-10 MLP and its 540
digits test images, priced on ``loihi`` against ``gpu-h100``. Each repeat runs both
modes, alternating, into fresh stores:

- serial: ``scheduler="in-process"``, the kernel on ``n_threads=2`` threads;
- dask: an embedded LocalCluster of ``--workers`` processes of one thread each
  (``n_threads=1`` per task, ``--shard-size`` test samples per task), timed with and
  without the cluster start.

It checks that both give the same figures for every point, and prints wall times.
"""
from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from pathlib import Path


def space():
    import neurocore as nc

    return nc.dse.Space(chip=nc.chip.loihi(), chip_fields={"weight_bits": [2, 4, 6, 8]},
                        convert={"percentile": [99.0, 99.9], "encoding": ["direct", "rate"]}, n_steps=[4, 8, 16, 32])


def _untimed(study):
    return [{k: v for k, v in r.items() if k != "task_s"} for r in study.records()]


def _same(a, b) -> bool:
    return all(x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y))
               for ra, rb in zip(a, b) for x, y in zip(ra.values(), rb.values())) and len(a) == len(b)


def main() -> None:
    import distributed

    import neurocore as nc
    from neurocore.demo import digits_split, train_digits_mlp

    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    ap.add_argument("--shard-size", type=int, default=1024)
    args = ap.parse_args()
    Xtr, Xte, ytr, yte = digits_split()
    mlp = train_digits_mlp(Xtr, ytr)
    data = (Xtr[:500], Xte, yte)
    out = Path(args.out or tempfile.mkdtemp(prefix="dse_bench_"))
    rows = []
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        serial = nc.dse.sweep(mlp, space(), data=data, store=out / f"serial{rep}.sqlite", scheduler="in-process",
                              n_threads=2, progress=False)
        t_serial = time.perf_counter() - t0
        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        t_start = time.perf_counter() - t0
        t1 = time.perf_counter()
        par = nc.dse.sweep(mlp, space(), data=data, store=out / f"dask{rep}.sqlite", scheduler=client,
                           n_threads=1, progress=False, shard_size=args.shard_size)
        t_dask = time.perf_counter() - t1
        client.close()
        cluster.close()
        same = _same(_untimed(serial), _untimed(par))
        rows.append((t_serial, t_start, t_dask))
        print(f"repeat {rep}: serial (n_threads=2) {t_serial:.2f} s | dask {args.workers}x1: cluster start "
              f"{t_start:.2f} s + sweep {t_dask:.2f} s | speed-up {t_serial / t_dask:.2f}x "
              f"({t_serial / (t_start + t_dask):.2f}x with start) | same figures: {same} | "
              f"{serial.n_evaluated} points", flush=True)
    print(f"stores in {out}")


if __name__ == "__main__":
    main()
