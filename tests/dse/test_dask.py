"""Sweeps on a local Dask cluster of two worker processes."""
import math
import os
import signal

import pytest

import neurocore as nc

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    import logging

    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=logging.ERROR)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _space():
    """12 points: 8 deterministic and 4 Poisson (replicate seeds per 40-sample block)."""
    return nc.dse.Space(chip_fields={"weight_bits": [3, 8]}, convert={"encoding": ["direct", "rate", "poisson"]},
                        n_steps=[4, 8])


def _same(a, b):
    assert [r["key"] for r in a] == [r["key"] for r in b]
    for x, y in zip(a, b):
        for k in x:
            if k == "task_s":
                continue
            assert x[k] == y[k] or (isinstance(x[k], float) and math.isnan(x[k]) and math.isnan(y[k])), k


def test_cluster_sweep_equals_in_process_point_for_point(client, digits_mlp, tmp_path):
    model, data = digits_mlp
    kw = dict(data=data, replicates=2, shard_size=40, progress=False)
    here = nc.dse.sweep(model, _space(), store=tmp_path / "here.sqlite", scheduler="in-process", **kw)
    there = nc.dse.sweep(model, _space(), store=tmp_path / "there.sqlite", scheduler=client, **kw)
    assert there.n_evaluated == here.n_evaluated == 12
    _same(here.records(), there.records())
    for a, b in zip(here.rows(reports=True), there.rows(reports=True)):
        assert a["reports"] == b["reports"]


def test_killing_a_worker_mid_study_then_rerunning_completes_every_point_once(client, digits_mlp, tmp_path):
    model, data = digits_mlp
    store = tmp_path / "s.sqlite"
    killed = []

    def kill_one(row):
        if not killed:
            pid = next(iter(client.run(os.getpid).values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    first = nc.dse.sweep(model, _space(), data=data, store=store, scheduler=client, replicates=2, shard_size=40,
                         progress=False, callback=kill_one)
    assert killed
    stored = len(nc.dse.Study.open(store))
    assert stored == first.n_evaluated == 12 - len(first.lost)
    again = nc.dse.sweep(model, _space(), data=data, store=store, scheduler=client, replicates=2, shard_size=40,
                         progress=False)
    assert (again.n_evaluated, again.n_skipped) == (12 - stored, stored)
    keys = [r["key"] for r in nc.dse.Study.open(store).rows()]
    assert len(keys) == len(set(keys)) == 12
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()  # the nanny replaced the killed process

