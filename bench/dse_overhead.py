"""Where a Dask sweep's time goes: worker time per task kind, and one run alone vs two at once.

    PYTHONPATH=$PWD python bench/dse_overhead.py

1. The 64-point sweep of ``bench/dse_sweep.py`` on a LocalCluster of 2 one-thread
   workers, with ``distributed.get_task_stream``: seconds per (task, action), summed over
   workers, against the in-process sweep's simulation time (``task_s``).
2. One 540-sample, 32-step run of the demo MLP: in this process on 1 and 2 kernel threads,
   on one worker, and on two workers at once (3 repeats).
"""
from __future__ import annotations

import collections
import logging
import tempfile
import time
from pathlib import Path


def timed_run(program, x, n_threads):
    import neurocore as nc

    t0 = time.perf_counter()
    nc.Simulator(program).run(x, 32, n_threads=n_threads)
    return time.perf_counter() - t0


def main() -> None:
    import sys

    import distributed

    import neurocore as nc
    from neurocore.demo import digits_split, train_digits_mlp

    sys.path.insert(0, str(Path(__file__).parent))
    from dse_sweep import space

    Xtr, Xte, ytr, yte = digits_split()
    mlp = train_digits_mlp(Xtr, ytr)
    data, out = (Xtr[:500], Xte, yte), Path(tempfile.mkdtemp(prefix="dse_overhead_"))
    serial = nc.dse.sweep(mlp, space(), data=data, store=out / "serial.sqlite", scheduler="in-process", n_threads=2,
                          progress=False)
    print(f"in-process sweep: simulation {sum(r['task_s'] for r in serial.records()):.2f} s")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    t0 = time.perf_counter()
    with distributed.get_task_stream(client) as ts:
        nc.dse.sweep(mlp, space(), data=data, store=out / "dask.sqlite", scheduler=client, n_threads=1, progress=False)
    print(f"dask sweep: {time.perf_counter() - t0:.2f} s wall; worker seconds per (task, action):")
    agg: dict = collections.defaultdict(float)
    for d in ts.data:
        for s in d["startstops"]:
            agg[(str(d["key"]).split("-")[0], s["action"])] += s["stop"] - s["start"]
    for k, v in sorted(agg.items()):
        print(f"  {k[0]:<12} {k[1]:<10} {v:7.2f} s")
    program = nc.compile(nc.convert(mlp, calibration=Xtr[:500]), nc.chip.loihi())
    for _ in range(3):
        one = client.submit(timed_run, program, Xte, 1, pure=False).result()
        two = [f.result() for f in [client.submit(timed_run, program, Xte, 1, pure=False) for _ in range(2)]]
        print(f"one run: here 1 thread {timed_run(program, Xte, 1):.3f} s, 2 threads {timed_run(program, Xte, 2):.3f} s,"
              f" one worker {one:.3f} s, two workers at once {two[0]:.3f} / {two[1]:.3f} s")
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
