"""Partition search: against an oracle sweeping neuron caps, against the proven lower bound, and
bit-identical to the un-partitioned reference; honest errors when a network does not fit."""
import dataclasses
import time

import numpy as np
import pytest
import scipy.sparse as sp

import neurocore as nc
from neurocore.errors import MappingError
from neurocore.mapping.bound import core_bound
from tests.mapping.netgen import FAMILIES, IF, cuba_recurrent, oracle, small_chip
from tests.mapping.test_mapping import check, spikes_in


@pytest.mark.parametrize("seed", [0, 2, 3])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_default_compile_close_to_oracle_and_bound(family, seed):
    rng = np.random.default_rng(seed)
    chip = small_chip(rng)
    g = FAMILIES[family](rng)
    best = oracle(g, chip)
    lb = core_bound(g, chip).cores
    assert best is not None and best <= chip.n_cores, "the generator should make networks the oracle fits"
    assert lb <= best
    program, _ = check(g, chip, spikes_in(rng, g, T=8, B=1), placement="in_order")
    ours = program.n_cores_used
    assert lb <= ours <= 1.25 * best, (ours, best, lb)
    if best <= 1.25 * lb:
        assert ours <= 1.25 * lb, (ours, best, lb)
    assert program.mapping.core_bound == lb
    assert f"lower bound {lb}" in program.summary()


@pytest.mark.parametrize("n, p", [(4000, 0.02)])
def test_issue_recurrent_networks_fit_loihi(n, p):
    """The issue's CUBA-sized recurrent network compiles on the unmodified preset (the 8000-neuron one is
    the README's block, run by tests/test_readme.py::test_partition_search_block_runs)."""
    chip = nc.chip.loihi()
    prog = nc.compile(cuba_recurrent(n, p), chip, placement="in_order")
    use = prog.core_usage()
    assert prog.n_cores_used <= chip.n_cores
    assert use["axons_out"].max() <= chip.axons_out_per_core and use["axons_in"].max() <= chip.axons_in_per_core


def test_cuba_workload_on_unmodified_loihi():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from workloads import cuba

    wl = cuba(n_steps=5)
    assert wl.chip == nc.chip.loihi()
    prog = nc.compile(wl.graph, wl.chip, placement="in_order")
    assert prog.n_cores_used <= wl.chip.n_cores


def test_bound_error_is_fast_and_names_binding_layers():
    chip = nc.chip.loihi()
    g = nc.Graph()
    x = g.input(4096, name="x")
    # 8.2 M synapses of 18 bits: synapse memory alone needs 141 cores of the 128
    n, k = 2000, 4096
    g.connect(x, g.population(n, IF, name="wide"), weights=sp.csr_matrix(
        (np.ones(n * k, np.int8), np.tile(np.arange(k), n), np.arange(0, n * k + 1, k)), shape=(n, k)))
    t = time.perf_counter()
    with pytest.raises(MappingError) as e:
        nc.compile(g, chip)
    assert time.perf_counter() - t < 5
    msg = str(e.value)
    assert "cores at least" in msg and "'wide'" in msg and "synapse memory" in msg
    assert "chips_x" in msg and "weight_bits" in msg and "conv_storage" not in msg  # no convolution here


def test_may_fit_error_reports_best_and_bound(rng):
    """Conv halos make the pieces need more cores than the bound shows: 'may fit', with both numbers."""
    g = nc.Graph()
    x = g.input(64, shape=(1, 8, 8), name="x")
    g.conv2d(x, rng.integers(-5, 6, (1, 1, 3, 3)), IF, padding=1, name="conv")
    chip = nc.chip.ChipSpec(name="narrow", tiles_x=2, tiles_y=2, cores_per_tile=2, neurons_per_core=16,
                            axons_in_per_core=20, syn_mem_bits_per_core=1 << 16)
    b = core_bound(g, chip)
    assert b.cores <= chip.n_cores
    with pytest.raises(MappingError, match=rf"may fit: best found \d+ cores, bound {b.cores}") as e:
        nc.compile(g, chip)
    msg = str(e.value)
    assert "'conv'" in msg and "binding: input axons" in msg  # the halos, not the neurons, bind the pieces
    assert "conv_storage='shared'" in msg and "weight_bits" not in msg


def test_conv_storage_option_only_with_convolutions(rng):
    g = nc.Graph()
    x = g.input(64, shape=(1, 8, 8), name="x")
    g.conv2d(x, rng.integers(-5, 6, (8, 1, 3, 3)), IF, padding=1, name="conv")
    chip = nc.chip.ChipSpec(name="one", tiles_x=1, tiles_y=1, cores_per_tile=1, neurons_per_core=64)
    with pytest.raises(MappingError, match="conv_storage='shared'"):
        nc.compile(g, chip)


def test_bound_is_a_lower_bound_on_every_cap(rng):
    """No cap of the old partitioner, nor the search, ever beats the bound."""
    for family in sorted(FAMILIES):
        r = np.random.default_rng(11)
        chip = small_chip(r)
        g = FAMILIES[family](r)
        lb = core_bound(g, chip).cores
        for cap in (1, chip.neurons_per_core // 3, chip.neurons_per_core):
            from neurocore.mapping.partition import partition

            assert partition(g, chip, caps=cap, search=False).n_cores >= lb
        assert partition(g, chip).n_cores >= lb


def test_search_deterministic(rng):
    g = FAMILIES["fan_out"](np.random.default_rng(4))
    chip = dataclasses.replace(small_chip(np.random.default_rng(4)))
    a = nc.compile(g, chip, seed=3)
    b = nc.compile(g, chip, seed=3)
    np.testing.assert_array_equal(a.arrays["neuron_core"], b.arrays["neuron_core"])
    np.testing.assert_array_equal(a.core_ids, b.core_ids)


def test_chip_link_cost_trades_crossings_for_hops(rng):
    """A dear chip link keeps more traffic on one chip than a free one (same network, same seed)."""
    from tests.mapping.test_mapping import chain, tiny

    g = chain(rng, n=40, layers=4)
    base = dataclasses.replace(tiny(neurons_per_core=8), chips_x=2, chips_y=1)
    free = nc.compile(g, dataclasses.replace(base, chip_link_cost=0.0), placement="anneal", seed=1)
    dear = nc.compile(g, dataclasses.replace(base, chip_link_cost=50.0), placement="anneal", seed=1)
    assert free.mapping.interchip_cost == 0.0 and dear.mapping.interchip_cost == 50.0
    assert dear.mapping.est_hops_chip < free.mapping.est_hops_chip
    # an explicit interchip_cost overrides the chip's field
    assert nc.compile(g, base, interchip_cost=7.0).mapping.interchip_cost == 7.0
    with pytest.raises(nc.errors.BitWidthError, match="chip_link_cost"):
        dataclasses.replace(base, chip_link_cost=-1.0)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_linear_memory_tables_equal_the_sorted_ones(family):
    """build_tables_csr (counting sorts, no per-synapse keys) gives build_tables' arrays exactly."""
    from neurocore.mapping.partition import partition
    from neurocore.mapping.tables import build_tables, build_tables_csr

    rng = np.random.default_rng(5)
    chip = small_chip(rng)
    g = FAMILIES[family](rng)
    for packing in ("stream", "balanced"):
        nc_ = partition(g, chip, packing=packing).neuron_core().astype(np.int32)
        off, c = {}, 0
        for p in g.populations:
            off[p.name], c = c, c + p.n
        for i in g.inputs:
            off[i.name], c = c, c + i.n
        projs = list(g.projections.values())
        new = build_tables_csr([(p.weights, off[p.src], off[p.dst], 6 + p.weight_exp, p.delay, False) for p in projs],
                               nc_, c, chip)
        coos = [p.weights.tocoo() for p in projs]
        old = build_tables(np.concatenate([q.col + off[p.src] for p, q in zip(projs, coos)]).astype(np.int64),
                           np.concatenate([q.row + off[p.dst] for p, q in zip(projs, coos)]).astype(np.int64),
                           np.concatenate([q.data for q in coos]).astype(np.int64),
                           np.concatenate([np.full(q.nnz, j) for j, q in enumerate(coos)]).astype(np.int64),
                           np.array([6 + p.weight_exp for p in projs]), np.array([p.delay for p in projs]),
                           nc_, c, chip)
        assert set(new) == set(old)
        for k in old:
            np.testing.assert_array_equal(new[k], old[k], err_msg=k)
            assert new[k].dtype == old[k].dtype, k
