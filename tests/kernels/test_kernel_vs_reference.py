"""The Cython kernel and the NumPy reference must agree bit for bit: state, spikes, every counter."""
import numpy as np
import pytest
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
    r = nc.Simulator(program).run(x, n_steps=T, probes=probes, n_threads=n_threads, record="core_steps")
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
    assert set(r.core_steps) == set(counted["core_steps"])
    for k, v in counted["core_steps"].items():
        assert_array_equal(r.core_steps[k], v, err_msg=f"core_steps[{k!r}]")
    assert_array_equal(r.busiest_link, counted["busiest_link"])
    assert_array_equal(r.link_packets, counted["link_packets"])


@given(st.sampled_from(["trunc_shift", "wrap", "saturate"]), st.integers(1, 30),
       st.lists(st.integers(-2**40, 2**40), min_size=1, max_size=50))
def test_fixedpoint_helpers_match_reference(op, k, xs):
    x = np.asarray(xs, np.int64)
    twin = {"trunc_shift": ref.trunc_shift, "wrap": ref.wrap_bits, "saturate": ref.saturate_bits}[op]
    assert_array_equal(_sim.fixedpoint(op, x, k), twin(x, k))


@given(st.integers(1, 15), st.lists(st.tuples(st.integers(-2**31, 2**31 - 1), st.floats(0, 1)), min_size=1,
                                      max_size=50))
def test_decay_helpers_match_reference(k, pairs):
    """The 32-bit decay (one float64 multiplication, narrow runs: decay_bits <= 15) and the 64-bit one
    equal trunc_shift(x * d, k) over the whole int32 range, d from 0 to 2**k."""
    x = np.array([p[0] for p in pairs], np.int64)
    d = np.array([round(p[1] * (1 << k)) for p in pairs], np.int32)
    d[0] = 1 << k  # the identity is always drawn
    want = ref.trunc_shift(x * d, k)
    assert_array_equal(_sim.fixedpoint("decay32", x, k, d), want)
    assert_array_equal(_sim.fixedpoint("decay64", x, k, d), want)


def test_fixedpoint_edges():
    h = 1 << 23
    x = np.array([h, h + 1, -h, -h + 1, -h - 1, 2 * h, -(2 * h), 3 * h + 5], np.int64)
    assert_array_equal(ref.wrap_bits(x, 24), [h, -h + 1, h, -h + 1, h - 1, 0, 0, -h + 5])
    assert_array_equal(ref.saturate_bits(x, 24), [h - 1, h - 1, -h + 1, -h + 1, -h + 1, h - 1, -h + 1, h - 1])
    assert_array_equal(ref.trunc_shift(np.array([-4097, -4096, -4095, 4095, 4096]), 12), [-1, -1, 0, 0, 1])
    for op, twin in (("wrap", ref.wrap_bits), ("saturate", ref.saturate_bits)):
        assert_array_equal(_sim.fixedpoint(op, x, 24), twin(x, 24))


@pytest.mark.parametrize("u_bits,graded_scale,narrow", [(24, 1, True), (31, 1, False), (24, 30000, False)])
def test_both_word_widths_match_reference(u_bits, graded_scale, narrow):
    """The kernel runs in 32-bit words only when the bound allows; both widths equal the reference."""
    from neurocore.sim import narrow_ok

    rng = np.random.default_rng(u_bits + graded_scale)
    chip = nc.chip.ChipSpec(name="w", u_bits=u_bits, v_bits=u_bits, neurons_per_core=16)
    g = nc.Graph()
    x = g.input(20, name="x")
    a = g.population(30, nc.CubaLIF(du=200, dv=100, vth=500, refractory=2, bias_mant=rng.integers(-50, 50, 30)),
                     name="a")
    b = g.population(10, nc.IF(vth=300), name="b")
    g.connect(x, a, weights=rng.integers(-128, 128, (30, 20)), weight_exp=3)
    g.connect(a, a, weights=rng.integers(-128, 128, (30, 30)) * (rng.random((30, 30)) < 0.2), delay=2)
    g.connect(a, b, weights=rng.integers(-60, 128, (10, 30)), weight_exp=-2)
    program = nc.compile(g, chip)
    xin = (rng.integers(-1, 2, (2, 40, 20)) * graded_scale).astype(np.int32)
    sim = nc.Simulator(program)
    in_max = np.abs(xin).max(axis=(0, 1))
    assert narrow_ok(program, sim._tables, in_max, sim._bound_parts) is narrow
    r = sim.run(xin, 40, probes={"a": ["u", "v", "spikes"], "b": ["v"]})
    want = ref.simulate(g, chip, xin, 40)
    assert_array_equal(r.probes["a"]["u"], want["u"][:, :, :30])
    assert_array_equal(r.probes["a"]["v"], want["v"][:, :, :30])
    assert_array_equal(r.probes["b"]["v"], want["v"][:, :, 30:])
    assert_array_equal(r.counters["overflow_u"], want["overflow_u"])


@pytest.mark.parametrize("rule", ["wrap", "saturate"])
def test_probes_hold_32_bit_state(rule):
    """On a 32-bit chip u can be +2**31 (wrap) and v up to 2**31 - 1: probes must read them, not int32 wraps."""
    chip = nc.chip.ChipSpec(name="w32", u_bits=32, v_bits=32, u_overflow=rule, v_overflow=rule, neurons_per_core=8)
    g = nc.Graph()
    x = g.input(2, name="x")
    top = 1 << 31
    a = g.population(3, nc.CubaLIF(du=0, dv=0, vth=(1 << chip.vth_bits) - 1, u0=[top, -top + 1, top - 1],
                                    v0=[top - 1, -top + 1, top - 2]), name="a")
    # neuron 0: decay(2**31) = 2**31 - 2**19, plus 64 << 13 = 2**19 keeps u at exactly +2**31 under wrap
    g.connect(x, a, weights=np.array([[64, 0], [0, -127], [127, 127]]), weight_exp=7, delay=0)
    program = nc.compile(g, chip)
    xin = np.ones((2, 5, 2), np.int32)
    r = nc.Simulator(program).run(xin, 5, probes={"a": ["u", "v"]})
    want = ref.simulate(g, chip, xin, 5)
    assert np.abs(want["u"]).max() >= top - 1  # the case reaches the top of the 32-bit range
    if rule == "wrap":
        assert (want["u"] == top).any()
    assert_array_equal(r.probes["a"]["u"], want["u"])
    assert_array_equal(r.probes["a"]["v"], want["v"])
    assert_array_equal(r.probes["a"]["u"][:, -1], r.final_state["u"])
