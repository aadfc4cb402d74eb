"""Simulator benchmarks (pytest-benchmark): neurocore's kernel against float32 NumPy steps.

Each group times one workload with every implementation on the same number of steps:

* ``neurocore``: ``Simulator(program).run(inputs, n_steps, n_threads=1)`` (compile excluded);
* ``numpy-event``: float32 ``I = W[spiking_rows].sum(0)`` step (``bench/numpy_steps.py``);
* ``numpy-dense``: float32 ``I = s @ W`` step.

Outputs are checked once, before timing (module fixtures): neurocore equals the NumPy
twin (``neurocore.kernels.reference.simulate``) spike for spike on a shortened run, and
on FF the float32 steps reproduce neurocore's spike counts exactly.

Run: ``pytest bench/ --benchmark-only`` (about 30 s). For wall times, events/s and
Brian2, use ``python bench/compare.py``.
"""
from __future__ import annotations

import numpy as np
import numpy_steps
import pytest
import workloads

import neurocore as nc
from neurocore.kernels.reference import simulate

FF_STEPS = 1000      # the full FF workload
CUBA_STEPS = 500     # 50 ms of the 1 s CUBA run: keeps the dense gemv case to ~1 s per round
CHECK_STEPS = {"ff": 100, "cuba": 300}


def _check_against_twin(w, sim):
    short = w.truncated(CHECK_STEPS[w.name])
    r = sim.run(short.inputs, n_steps=short.n_steps, n_threads=1)
    ref = simulate(short.graph, short.chip, short.inputs, short.n_steps)
    twin = workloads.spikes_by_population(short, ref["spikes"][0])
    for pop, cnt in r.spike_counts.items():
        np.testing.assert_array_equal(cnt[0], twin[pop], err_msg=f"{w.name}/{pop}: kernel != NumPy twin")
    np.testing.assert_array_equal(r.final_state["v"][0], ref["v"][0, -1])
    assert r.totals()["spikes"] > 0


@pytest.fixture(scope="module")
def ff_case():
    w = workloads.ff(n_steps=FF_STEPS)
    sim = nc.Simulator(nc.compile(w.graph, w.chip))
    _check_against_twin(w, sim)
    r = sim.run(w.inputs, n_steps=w.n_steps, n_threads=1)
    for variant in numpy_steps.VARIANTS:  # float32 is exact here: identical counts
        c = numpy_steps.run(w, variant)
        for pop, cnt in r.spike_counts.items():
            np.testing.assert_array_equal(cnt[0], c[pop], err_msg=f"ff/{pop}: numpy {variant} != neurocore")
    rates = {p: float(c.mean() / w.n_steps) for p, c in r.spike_counts.items()}
    assert all(0.05 <= rates[p] <= 0.20 for p in ("h1", "h2")), rates
    return w, sim


@pytest.fixture(scope="module")
def cuba_case():
    w = workloads.cuba(n_steps=CUBA_STEPS)
    sim = nc.Simulator(nc.compile(w.graph, w.chip))
    _check_against_twin(w, sim)
    r = sim.run(w.inputs, n_steps=w.n_steps, n_threads=1)
    n_nc = r.totals()["spikes"]
    n_np = sum(int(c.sum()) for c in numpy_steps.run(w, "event").values())
    # float32 twin of the fixed-point model: same regime, not bit-identical
    assert abs(n_np - n_nc) <= 0.1 * n_nc, (n_np, n_nc)
    return w, sim


@pytest.mark.benchmark(group=f"sim/ff-784-512-512-10/{FF_STEPS}-steps")
def test_ff_neurocore(benchmark, ff_case):
    w, sim = ff_case
    r = benchmark(sim.run, w.inputs, n_steps=w.n_steps, n_threads=1)
    benchmark.extra_info["synops"] = int(r.totals()["synops"])


@pytest.mark.benchmark(group=f"sim/ff-784-512-512-10/{FF_STEPS}-steps")
@pytest.mark.parametrize("variant", numpy_steps.VARIANTS)
def test_ff_numpy(benchmark, ff_case, variant):
    w, _ = ff_case
    benchmark(numpy_steps.run, w, variant)


@pytest.mark.benchmark(group=f"sim/cuba-4000/{CUBA_STEPS}-steps")
def test_cuba_neurocore(benchmark, cuba_case):
    w, sim = cuba_case
    r = benchmark(sim.run, w.inputs, n_steps=w.n_steps, n_threads=1)
    benchmark.extra_info["synops"] = int(r.totals()["synops"])


@pytest.mark.benchmark(group=f"sim/cuba-4000/{CUBA_STEPS}-steps")
def test_cuba_numpy_event(benchmark, cuba_case):
    w, _ = cuba_case
    benchmark(numpy_steps.run, w, "event")


@pytest.mark.benchmark(group=f"sim/cuba-4000/{CUBA_STEPS}-steps")
def test_cuba_numpy_dense(benchmark, cuba_case):
    w, _ = cuba_case  # a 4000 x 4000 gemv per step: few rounds
    benchmark.pedantic(numpy_steps.run, args=(w, "dense"), rounds=3, iterations=1)
