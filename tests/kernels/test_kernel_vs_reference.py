"""The Cython kernel and the NumPy reference must agree bit for bit: state, spikes, every counter."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.kernels import reference as ref
from neurocore.sim import load_kernel

from .strategies import networks

_sim = load_kernel()


def run_both(chip, g, x, T, n_threads=1):
    program = nc.compile(g, chip)
    probes = {p.name: ["u", "v", "spikes"] for p in g.populations}
    r = nc.Simulator(program).run(x, n_steps=T, probes=probes, n_threads=n_threads)
    want = ref.simulate(g, chip, x, T)
    counted = ref.count(program, x, want["spikes"], want["active"])
    return program, r, want, counted


@given(networks())
def test_kernel_matches_reference(net):
    chip, g, x, T = net
    program, r, want, counted = run_both(chip, g, x, T, n_threads=2)
    for pm in program.populations.values():
        sl = slice(pm.offset, pm.offset + pm.n)
        assert_array_equal(r.probes[pm.name]["u"], want["u"][:, :, sl], err_msg=f"u of {pm.name}")
        assert_array_equal(r.probes[pm.name]["v"], want["v"][:, :, sl], err_msg=f"v of {pm.name}")
        assert_array_equal(r.probes[pm.name]["spikes"], want["spikes"][:, :, sl], err_msg=f"spikes of {pm.name}")
        assert_array_equal(r.spike_counts[pm.name], want["spikes"][:, :, sl].sum(1))
    assert_array_equal(r.final_state["u"], want["u"][:, -1])
    assert_array_equal(r.final_state["v"], want["v"][:, -1])
    assert_array_equal(r.counters["overflow_u"], want["overflow_u"])
    assert_array_equal(r.counters["overflow_v"], want["overflow_v"])
    for k, v in counted["counters"].items():
        assert_array_equal(r.counters[k], v, err_msg=k)
    assert_array_equal(r.core_steps["synops"], counted["core_synops"])
    assert_array_equal(r.core_steps["updates_active"], counted["core_active"])
    assert_array_equal(r.busiest_link, counted["busiest_link"])
    assert_array_equal(r.link_packets, counted["link_packets"])


@given(st.sampled_from(["trunc_shift", "wrap", "saturate"]), st.integers(1, 30),
       st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=50))
def test_fixedpoint_helpers_match_reference(op, k, xs):
    x = np.asarray(xs, np.int64)
    twin = {"trunc_shift": ref.trunc_shift, "wrap": ref.wrap_bits, "saturate": ref.saturate_bits}[op]
    assert_array_equal(_sim.fixedpoint(op, x, k), twin(x, k))


def test_fixedpoint_edges():
    h = 1 << 23
    x = np.array([h, h + 1, -h, -h + 1, -h - 1, 2 * h, -(2 * h), 3 * h + 5], np.int64)
    assert_array_equal(ref.wrap_bits(x, 24), [h, -h + 1, h, -h + 1, h - 1, 0, 0, -h + 5])
    assert_array_equal(ref.saturate_bits(x, 24), [h - 1, h - 1, -h + 1, -h + 1, -h + 1, h - 1, -h + 1, h - 1])
    assert_array_equal(ref.trunc_shift(np.array([-4097, -4096, -4095, 4095, 4096]), 12), [-1, -1, 0, 0, 1])
    for op, twin in (("wrap", ref.wrap_bits), ("saturate", ref.saturate_bits)):
        assert_array_equal(_sim.fixedpoint(op, x, 24), twin(x, 24))
