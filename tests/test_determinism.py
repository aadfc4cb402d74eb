"""A sample's result never depends on its batch, its position there, or the thread count."""
import dataclasses
from pathlib import Path

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
    full1 = sim.run(x, 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=1, record="core_steps")
    full2 = sim.run(x, 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=2, record="core_steps")
    perm = np.array([4, 0, 6, 2, 1, 5, 3])
    shuffled = sim.run(x[perm], 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=2, record="core_steps")
    for i in range(7):
        alone = sim.run(x[i:i + 1], 60, probes={"a": ["v"], "b": ["spikes"]}, n_threads=1, record="core_steps")
        j = int(np.flatnonzero(perm == i)[0])
        for r, k in ((full1, i), (full2, i), (shuffled, j)):
            assert_array_equal(r.probes["a"]["v"][k], alone.probes["a"]["v"][0])
            assert_array_equal(r.probes["b"]["spikes"][k], alone.probes["b"]["spikes"][0])
            for name in r.counters:
                assert r.counters[name][k] == alone.counters[name][0], name
            assert_array_equal(r.busiest_link[k], alone.busiest_link[0])
    assert_array_equal(full1.link_packets, full2.link_packets)
    assert full1.totals()["spikes"] > 0 and full1.totals()["hops_ew"] + full1.totals()["hops_ns"] > 0


def test_same_seed_same_result_in_another_process(tiny_chip, tmp_path):
    """Same seeds, same result in a fresh interpreter (other hash seed, other thread count, other heap):
    nothing may depend on memory contents, addresses or set order. The child saves its result; every
    field must equal this process's run."""
    import os
    import subprocess
    import sys

    def make():
        program = build(np.random.default_rng(5), tiny_chip)
        x = (np.random.default_rng(9).random((3, 30, 30)) < 0.3).astype(np.int32)
        return program, x

    program, x = make()
    here = nc.Simulator(program).run(x, 30, probes={"a": ["u", "v"], "b": ["spikes"]}, n_threads=2)
    script = (f"import numpy as np, neurocore as nc\n"
              f"from tests.test_determinism import build\n"
              f"chip = nc.chip.ChipSpec(**{dataclasses.asdict(tiny_chip)!r})\n"
              f"program = build(np.random.default_rng(5), chip)\n"
              f"x = (np.random.default_rng(9).random((3, 30, 30)) < 0.3).astype(np.int32)\n"
              f"nc.Simulator(program).run(x, 30, probes={{'a': ['u', 'v'], 'b': ['spikes']}}, n_threads=1)"
              f".save({str(tmp_path / 'child.npz')!r})\n")
    env = dict(os.environ, PYTHONHASHSEED="12345", NEUROCORE_NUM_THREADS="1")
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=root, timeout=300)
    there = nc.RunResult.load(tmp_path / "child.npz")
    assert here.counters["spikes"].sum() > 0
    for name in here.counters:
        assert_array_equal(there.counters[name], here.counters[name], err_msg=name)
    for name in here.core_steps:
        assert_array_equal(there.core_steps[name], here.core_steps[name], err_msg=name)
    for pop, d in here.probes.items():
        for var, a in d.items():
            assert_array_equal(there.probes[pop][var], a, err_msg=f"{pop}/{var}")
    assert_array_equal(there.busiest_link, here.busiest_link)
    assert_array_equal(there.link_packets, here.link_packets)
    assert_array_equal(there.final_state["v"], here.final_state["v"])


def test_chunked_run_equals_one_call(rng, tiny_chip):
    from neurocore.batching import run_batched

    sim = nc.Simulator(build(rng, tiny_chip))
    x = (rng.random((5, 20, 30)) < 0.3).astype(np.int32)
    whole = sim.run(x, 20, probes={"a": ["v"]}, record="core_steps")
    parts = run_batched(sim, x, 20, chunk=2, probes={"a": ["v"]}, record="core_steps")
    for name in whole.counters:
        assert_array_equal(parts.counters[name], whole.counters[name])
    assert_array_equal(parts.probes["a"]["v"], whole.probes["a"]["v"])
    assert_array_equal(parts.core_steps["synops"], whole.core_steps["synops"])
    for key in whole.chip_time:
        assert_array_equal(parts.chip_time[key], whole.chip_time[key])
    assert_array_equal(parts.link_packets, whole.link_packets)
    assert_array_equal(parts.final_state["v"], whole.final_state["v"])


def _same_sample(r, k, alone):
    assert_array_equal(r.probes["a"]["v"][k], alone.probes["a"]["v"][0])
    assert_array_equal(r.probes["b"]["spikes"][k], alone.probes["b"]["spikes"][0])
    for name in r.counters:
        assert r.counters[name][k] == alone.counters[name][0], name
    for name in r.core_steps:
        assert_array_equal(r.core_steps[name][k], alone.core_steps[name][0], err_msg=name)
    for name in r.core_totals:
        assert_array_equal(r.core_totals[name][k], alone.core_totals[name][0], err_msg=name)
    assert set(r.chip_time) == set(alone.chip_time) and r.chip_time
    for key in r.chip_time:  # float sums, in step order: identical whatever the block, batch or threads
        assert_array_equal(r.chip_time[key][k], alone.chip_time[key][0])
    assert_array_equal(r.busiest_link[k], alone.busiest_link[0])
    assert_array_equal(r.final_state["u"][k], alone.final_state["u"][0])


def test_block_size_and_block_boundaries_do_not_matter(rng, tiny_chip):
    """Samples advanced in lockstep blocks: any block size, a partial last block, 65 samples
    (more than one 64-sample mask), graded inputs: every sample equals its run alone."""
    program = build(rng, tiny_chip)
    B = 67
    x = (rng.random((B, 25, 30)) < 0.3).astype(np.int32)
    x[5, :, 3] = 7  # a graded value in one sample only (shares its block with spikes)
    x[40, 2, :] = -2
    sim = nc.Simulator(program)
    probes = {"a": ["v"], "b": ["spikes"]}
    alone = [sim.run(x[i:i + 1], 25, probes=probes, block=1) for i in range(B)]
    for block, threads in ((1, 2), (3, 1), (8, 2), (64, 1), (64, 2), (None, 2)):
        r = sim.run(x, 25, probes=probes, block=block, n_threads=threads)
        for k in range(B):
            _same_sample(r, k, alone[k])
        assert_array_equal(r.link_packets, sum(a.link_packets for a in alone))


def test_block_must_be_1_to_64(rng, tiny_chip):
    import pytest

    sim = nc.Simulator(build(rng, tiny_chip))
    x = np.zeros((2, 5, 30), np.int32)
    for bad in (0, 65, 2.5, True):
        with pytest.raises(nc.errors.SimulationError, match="block must be"):
            sim.run(x, 5, block=bad)


def test_block_size_follows_the_cache():
    from neurocore.sim import block_size

    tb = {"N": 1000, "D": 2, "n_links": 16}
    assert block_size(tb, False, 1000, 1, cache_bytes=8 << 20) == 64
    small = block_size(tb, True, 1000, 1, cache_bytes=256 << 10)
    assert 1 <= small < 64
    assert block_size(tb, False, 32, 2, cache_bytes=8 << 20) == 16  # both threads get a block
    assert block_size(tb, False, 1, 4) == 1
