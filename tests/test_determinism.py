"""A sample's result never depends on its batch, its position there, or the thread count."""
import dataclasses

import numpy as np
from numpy.testing import assert_array_equal

import neurocore as nc


def build(rng, chip):
    chip = dataclasses.replace(chip, axons_out_per_core=4096)
    g = nc.Graph()
    x = g.input(30)
    a = g.population(40, nc.CubaLIF(du=300, dv=200, vth=40, bias_mant=rng.integers(-50, 100, 40)), name="a")
    b = g.population(25, nc.IF(vth=30), name="b")
    g.connect(x, a, weights=rng.integers(-40, 90, (40, 30)))
    g.connect(a, a, weights=rng.integers(-60, 60, (40, 40)) * (rng.random((40, 40)) < 0.2), delay=3)
    g.connect(a, b, weights=rng.integers(-20, 80, (25, 40)), delay=2)
    return nc.compile(g, chip)


def test_batch_position_and_threads_do_not_matter(rng, tiny_chip):
    program = build(rng, tiny_chip)
    x = (rng.random((7, 60, 30)) < 0.3).astype(np.int32)
    sim = nc.Simulator(program)
    full1 = sim.run(x, 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=1)
    full2 = sim.run(x, 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=2)
    perm = np.array([4, 0, 6, 2, 1, 5, 3])
    shuffled = sim.run(x[perm], 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=2)
    for i in range(7):
        alone = sim.run(x[i:i + 1], 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=1)
        j = int(np.flatnonzero(perm == i)[0])
        for r, k in ((full1, i), (full2, i), (shuffled, j)):
            assert_array_equal(r.probes["a"]["v"][k], alone.probes["a"]["v"][0])
            assert_array_equal(r.probes["b"]["spikes"][k], alone.probes["b"]["spikes"][0])
            for name in r.counters:
                assert r.counters[name][k] == alone.counters[name][0], name
            assert_array_equal(r.busiest_link[k], alone.busiest_link[0])
    assert_array_equal(full1.link_packets, full2.link_packets)
    assert full1.totals()["spikes"] > 0 and full1.totals()["hops_ew"] + full1.totals()["hops_ns"] > 0


def test_same_seed_same_result(tiny_chip):
    r1 = nc.Simulator(build(np.random.default_rng(5), tiny_chip)).run(
        (np.random.default_rng(9).random((2, 30, 30)) < 0.3).astype(np.int32), 30)
    r2 = nc.Simulator(build(np.random.default_rng(5), tiny_chip)).run(
        (np.random.default_rng(9).random((2, 30, 30)) < 0.3).astype(np.int32), 30)
    for name in r1.counters:
        assert_array_equal(r1.counters[name], r2.counters[name])


def test_chunked_run_equals_one_call(rng, tiny_chip):
    from neurocore.cli import run_batched

    sim = nc.Simulator(build(rng, tiny_chip))
    x = (rng.random((5, 20, 30)) < 0.3).astype(np.int32)
    whole = sim.run(x, 20, probes={"a": ["v"]})
    parts = run_batched(sim, x, 20, chunk=2, probes={"a": ["v"]})
    for name in whole.counters:
        assert_array_equal(parts.counters[name], whole.counters[name])
    assert_array_equal(parts.probes["a"]["v"], whole.probes["a"]["v"])
    assert_array_equal(parts.core_steps["synops"], whole.core_steps["synops"])
    assert_array_equal(parts.link_packets, whole.link_packets)
    assert_array_equal(parts.final_state["v"], whole.final_state["v"])
