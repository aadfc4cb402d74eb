"""The kernel's delivery tables: merged rows, constant-weight rows, compact and wide packets,
and the 16-bit row sums of the gather, each checked against the Program's own tables or the
NumPy reference (not against the kernel's tables)."""
import numpy as np
import pytest
from hypothesis import given, settings
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.sim import _row_sources, kernel_tables

from .strategies import networks
from .test_kernel_vs_reference import run_both


def _synapses_of_program(program):
    """(source, target, delay, mantissa << shift) of every Program synapse, sorted."""
    a = program.arrays
    n_src = program.n_neurons + program.n_inputs
    nnz = np.diff(a["row_ptr"])
    row = np.repeat(np.arange(nnz.shape[0]), nnz)
    src = _row_sources(a, n_src)[row]
    val = a["weight"].astype(np.int64) << a["row_shift"].astype(np.int64)[row]
    out = np.stack([src, a["target"].astype(np.int64), a["row_delay"].astype(np.int64)[row], val], 1)
    return out[np.lexsort(out.T[::-1])]


def _synapses_of_kernel(tb, n_src):
    """The same, read back from the kernel's rows: windows (zeros skipped), scatter and constant rows."""
    out = []
    for k in range(n_src):
        for r in range(tb["src_row_ptr"][k], tb["src_row_ptr"][k + 1]):
            sh, d, wp = int(tb["row_shift"][r]), int(tb["row_delay"][r]), int(tb["row_wptr"][r])
            n = int(tb["row_ptr"][r + 1] - tb["row_ptr"][r])
            if tb["row_start"][r] >= 0:
                w = tb["weight"][wp: wp + tb["row_span"][r]].astype(np.int64)
                tg = np.flatnonzero(w) + tb["row_start"][r]
                w = w[w != 0]
            else:
                tg = tb["target"][tb["row_span"][r]: tb["row_span"][r] + n].astype(np.int64)
                w = (np.full(n, tb["weight"][wp], np.int64) if tb["row_group"][r] == -2
                     else tb["weight"][wp: wp + n].astype(np.int64))
            out += [(k, int(t), d, int(x) << sh) for t, x in zip(tg, w)]
    arr = np.array(out, np.int64).reshape(-1, 4)
    return arr[np.lexsort(arr.T[::-1])]


@settings(max_examples=40, deadline=None)
@given(networks())
def test_kernel_rows_hold_exactly_the_programs_synapses(net):
    chip, g, x, T = net
    program = nc.compile(g, chip)
    tb = kernel_tables(program)
    n_src = program.n_neurons + program.n_inputs
    want = _synapses_of_program(program)
    want = want[want[:, 3] != 0]  # a stored zero weight adds nothing; windows do not keep it apart
    assert_array_equal(_synapses_of_kernel(tb, n_src), want)
    assert tb["src_row_ptr"][-1] == tb["row_ptr"].shape[0] - 1 or tb["row_ptr"].shape[0] == 1


def _sparse_constant_net(seed=3):
    rng = np.random.default_rng(seed)
    chip = nc.chip.ChipSpec(name="small", neurons_per_core=32)
    g = nc.Graph()
    x = g.input(40, name="x")
    a = g.population(120, nc.CubaLIF(du=300, dv=200, vth=400), name="a")
    mask = rng.random((120, 40)) < 0.06
    g.connect(x, a, weights=np.where(mask, 9, 0), weight_exp=2)
    rec = rng.random((120, 120)) < 0.04
    g.connect(a, a, weights=np.where(rec, -7, 0), delay=3)
    xin = (rng.random((3, 30, 40)) < 0.3).astype(np.int32)
    return chip, g, xin, 30


def test_constant_weight_rows_store_one_mantissa_and_run_exactly():
    chip, g, x, T = _sparse_constant_net()
    program, r, want, counted = run_both(chip, g, x, T)
    tb = kernel_tables(program)
    assert np.any(tb["row_group"] == -2), "sparse rows of equal weights should be constant-weight rows"
    assert tb["weight"].shape[0] < program.arrays["weight"].shape[0]
    assert_array_equal(r.spike_counts["a"], want["spikes"][:, :, :120].sum(1))
    for k, v in counted["counters"].items():
        assert_array_equal(r.counters[k], v, err_msg=k)


def test_graded_inputs_through_constant_weight_rows():
    chip, g, x, T = _sparse_constant_net(5)
    x = x * np.random.default_rng(0).integers(-40, 40, x.shape).astype(np.int32)
    program, r, want, counted = run_both(chip, g, x, T)
    assert_array_equal(r.final_state["v"], want["v"][:, -1])
    assert_array_equal(r.counters["synops_graded"], counted["counters"]["synops_graded"])


@pytest.mark.parametrize("batch", [1, 5, 40])
def test_wide_packet_tables_give_identical_results(batch, monkeypatch):
    import neurocore.sim as sim

    chip, g, x, T = _sparse_constant_net(7)
    x = np.concatenate([x] * (batch // 3 + 1))[:batch]
    program = nc.compile(g, chip)
    compact = nc.Simulator(program).run(x, T, n_threads=2, record="core_steps")
    assert kernel_tables(program)["pk_wide"] == 0
    real = sim.kernel_tables
    monkeypatch.setattr(sim, "kernel_tables", lambda p: real(p, wide_packets=True))
    s_wide = nc.Simulator(program)
    assert s_wide._tables["pk_wide"] == 1
    wide = s_wide.run(x, T, n_threads=2, record="core_steps")
    for k in compact.counters:
        assert_array_equal(wide.counters[k], compact.counters[k], err_msg=k)
    for k in compact.core_steps:
        assert_array_equal(wide.core_steps[k], compact.core_steps[k], err_msg=k)
    assert_array_equal(wide.busiest_link, compact.busiest_link)


@pytest.mark.parametrize("extreme", [127, -128])
def test_gather_sums_of_many_extreme_rows_are_exact(extreme):
    """More than 255 spiking rows of +127 or -128 in one dense window: the 16-bit row sums must be
    widened in batches (255 * 128 < 2**15), never wrapped."""
    rng = np.random.default_rng(1)
    chip = nc.chip.ChipSpec(name="wide", neurons_per_core=128, u_bits=30, v_bits=30)
    g = nc.Graph()
    x = g.input(700, name="x")
    a = g.population(70, nc.IF(vth=131071), name="a")
    w = np.full((70, 700), extreme)
    w[:, ::7] = rng.integers(-128, 128, (70, 100))
    g.connect(x, a, weights=w)
    xin = np.ones((2, 4, 700), np.int32)
    xin[1, :, ::3] = 0
    program, r, want, counted = run_both(chip, g, xin, 4)
    assert_array_equal(r.final_state["v"], want["v"][:, -1])
    assert_array_equal(r.final_state["u"], want["u"][:, -1])


@settings(max_examples=25, deadline=None)
@given(networks())
def test_packet_classes_count_exactly_what_each_source_counts(net, ):
    """Counting a class's packets times its fired sources equals counting every source: forced on
    (every source in a class, max_share=1) and off (max_share=0), both equal the reference."""
    import functools

    import neurocore.sim as sim

    chip, g, x, T = net
    program = nc.compile(g, chip)
    want = run_both(chip, g, x, T)[3]
    real = sim.packet_classes
    for share in (0.0, 1.0):
        sim.packet_classes = functools.partial(real, max_share=share)
        try:
            s = nc.Simulator(program)
            assert (s._tables["n_classes"] > 0) == (share == 1.0 and s._tables["src_pk_ptr"][-1] > 0)
            r = s.run(x, T, n_threads=2, record="core_steps")
        finally:
            sim.packet_classes = real
        for k, v in want["counters"].items():
            assert_array_equal(r.counters[k], v, err_msg=k)
        for k, v in want["core_steps"].items():
            assert_array_equal(r.core_steps[k], v, err_msg=k)
        assert_array_equal(r.busiest_link, want["busiest_link"])
        assert_array_equal(r.link_packets, want["link_packets"])


def test_packets_that_disagree_on_their_tile_are_refused():
    """Every packet of a source leaves one tile and every packet to a core slot arrives at one:
    a Program whose packet tables say otherwise gets a SimulationError naming the source or
    core slot, not a kernel that routes from the wrong tile."""
    from neurocore.errors import SimulationError

    chip, g, x, T = _sparse_constant_net()
    program = nc.compile(g, chip)
    a = program.arrays
    src = np.repeat(np.arange(a["src_pk_ptr"].shape[0] - 1), np.diff(a["src_pk_ptr"]))
    k = int(np.flatnonzero(np.bincount(src) > 1)[0])  # a source with two packets
    p = int(a["src_pk_ptr"][k])
    bad = dict(a, pk_src_tile=a["pk_src_tile"].copy())
    bad["pk_src_tile"][p] += 1
    program.arrays = bad
    with pytest.raises(SimulationError, match=rf"packets of source {k} disagree on its tile"):
        kernel_tables(program)
    bad = dict(a, pk_dst_tile=a["pk_dst_tile"].copy())
    core = int(a["pk_core"][p])
    to_core = np.flatnonzero(a["pk_core"] == core)
    bad["pk_dst_tile"][to_core[0]] += 1
    program.arrays = bad
    with pytest.raises(SimulationError, match=rf"packets of core slot {core} disagree on its tile"):
        kernel_tables(program)
