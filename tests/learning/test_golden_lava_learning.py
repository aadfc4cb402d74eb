"""The learning engine (kernel and NumPy reference) must equal Lava 0.10's bit-approximate model,
every recorded variable at every step, on traces Lava itself produced (tests/data/lava_learning)."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.kernels.learning_reference import lava_random_streams
from neurocore.learning_sim import run_learning

from .lava_cases import CASES, case_graph

PROBES = {"syn": ["weights", "tag_1", "tag_2", "x", "tx", "y", "ty"], "post": ["u", "v", "spikes"]}


def test_golden_cases_present():
    assert len(CASES) == 4


def _check(r, d):
    pr = r.probes["syn"]
    assert_array_equal(pr["weights"][0], d["weights"])
    assert_array_equal(pr["tag_1"][0], d["tag_1"])
    assert_array_equal(pr["tag_2"][0], d["tag_2"])
    assert_array_equal(pr["x"][0][:, 0], d["x1"])
    assert_array_equal(pr["x"][0][:, 1], d["x2"])
    assert_array_equal(pr["tx"][0], d["tx"])
    for k in range(3):
        assert_array_equal(pr["y"][0][:, k], d[f"y{k + 1}"])
    assert_array_equal(pr["ty"][0], d["ty"])
    assert_array_equal(r.probes["post"]["u"][0], d["post_u"])
    assert_array_equal(r.probes["post"]["v"][0], d["post_v"])
    assert_array_equal(r.probes["post"]["spikes"][0], d["post_spikes"])
    assert_array_equal(r.weights["syn"][0], d["weights"][-1])
    if "lava_test_expected_final_weights" in d:
        assert_array_equal(r.weights["syn"][0], d["lava_test_expected_final_weights"])


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_kernel_bit_identical_to_lava(path):
    d = np.load(path)
    g, x = case_graph(d)
    lif_pre = int(d["pre_source"]) == 1
    probes = dict(PROBES, pre=["u", "v", "spikes"]) if lif_pre else PROBES
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(x, n_steps=int(d["T"]), probes=probes)
    _check(r, d)
    if lif_pre:
        assert_array_equal(r.probes["pre"]["spikes"][0], d["pre_spikes"])
        assert_array_equal(r.probes["pre"]["u"][0], d["pre_u"])
        assert_array_equal(r.probes["pre"]["v"][0], d["pre_v"])


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_reference_bit_identical_to_lava(path):
    d = np.load(path)
    g, x = case_graph(d)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    _check(run_learning(sim, x, int(d["T"]), PROBES, backend="reference"), d)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_random_streams_are_lavas(path):
    d = np.load(path)
    T, E = int(d["T"]), int(d["t_epoch"])
    L = lava_random_streams(int(d["rng_seed"]), 0, T, E)
    assert_array_equal(L["x_dec"], d["rand_x_decay"])
    assert_array_equal(L["y_dec"], d["rand_y_decay"])
    assert_array_equal(L["x_imp"], d["rand_x_impulse"])
    assert_array_equal(L["y_imp"], d["rand_y_impulse"])
    assert_array_equal(L["y_mid"], d["rand_y_impulse_mid"])
    assert_array_equal(L["w"][E - 1::E], d["rand_w"])


def test_split_run_continues_exactly():
    """Two runs chained with initial_state equal one run of the whole length (Lava case c, epochs of 4)."""
    d = np.load(CASES[1])
    g, x = case_graph(d)
    sim = nc.Simulator(nc.compile(g, nc.chip.loihi()))
    T = int(d["T"])
    a = sim.run(x[:, :101], n_steps=101)
    b = sim.run(x[:, 101:], n_steps=T - 101, initial_state=a, probes={"syn": ["weights"]})
    assert_array_equal(b.probes["syn"]["weights"][0], d["weights"][101:])
