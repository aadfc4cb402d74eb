"""Seeded generators of networks shared by the tests and the benches, and the partition-search oracle.

The partition-search families (:data:`FAMILIES`) and the oracle they are checked against, plus
the two generators that ``bench/bench_compile.py`` (:func:`cuba_recurrent`) and
``bench/memory_estimates.py`` (:func:`two_layer`) share with the tests: one copy each, so a
bench and the test that checks the same case cannot drift apart.
"""
from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

import neurocore as nc
from neurocore.errors import MappingError
from neurocore.mapping.partition import partition

IF = nc.IF(vth=40, bias_mant=3)
LIF = nc.CubaLIF(du=400, dv=300, vth=30, bias_mant=5)


def small_chip(rng, **kw) -> nc.chip.ChipSpec:
    """A 2 x 2 board of 4 x 2 tiles x 2 cores (64 cores) with small, randomly drawn per-core limits."""
    base = {"name": "small", "tiles_x": 4, "tiles_y": 2, "cores_per_tile": 2, "chips_x": 2, "chips_y": 2,
            "neurons_per_core": int(rng.choice([16, 24, 32])), "axons_in_per_core": int(rng.choice([64, 96, 128])),
            "axons_out_per_core": int(rng.choice([48, 64, 128])),
            "syn_mem_bits_per_core": 64 * int(rng.choice([64, 128, 256]))}
    base.update(kw)
    return nc.chip.ChipSpec(**base)


def _sparse(rng, n_dst, n_src, p, lo=-20, hi=21):
    m = (rng.random((n_dst, n_src)) < p) * rng.integers(lo, hi, (n_dst, n_src))
    return sp.csr_matrix(m)


def recurrent(rng, delays: bool) -> nc.Graph:
    g = nc.Graph()
    x = g.input(int(rng.integers(4, 12)), name="x")
    n = int(rng.integers(40, 160))
    p = g.population(n, LIF, name="rec")
    g.connect(x, p, weights=_sparse(rng, n, x.n, 0.3), delay=1)
    g.connect(p, p, weights=_sparse(rng, n, n, float(rng.uniform(0.03, 0.12))),
              delay=int(rng.integers(1, 5)) if delays else 1, name="rec.w")
    if delays:
        g.connect(p, p, weights=_sparse(rng, n, n, 0.02), delay=int(rng.integers(5, 9)), name="rec.slow")
    return g


def dense_chain(rng) -> nc.Graph:
    g = nc.Graph()
    src = g.input(int(rng.integers(8, 30)), name="x")
    for i in range(int(rng.integers(2, 4))):
        n = int(rng.integers(10, 70))
        src = g.dense(src, rng.integers(-20, 21, (n, src.n)), IF, name=f"d{i}")
    return g


def fan_out(rng) -> nc.Graph:
    g = nc.Graph()
    x = g.input(8, name="x")
    hub = g.dense(x, rng.integers(-9, 10, (int(rng.integers(20, 60)), 8)), IF, name="hub")
    for i in range(int(rng.integers(2, 5))):
        n = int(rng.integers(20, 60))
        g.connect(hub, g.population(n, IF, name=f"o{i}"), weights=_sparse(rng, n, hub.n, 0.3))
    return g


def fan_in(rng) -> nc.Graph:
    g = nc.Graph()
    x = g.input(8, name="x")
    srcs = [g.dense(x, rng.integers(-9, 10, (int(rng.integers(10, 40)), 8)), IF, name=f"s{i}")
            for i in range(int(rng.integers(2, 4)))]
    n = int(rng.integers(20, 60))
    sink = g.population(n, IF, name="sink")
    for s in srcs:
        g.connect(s, sink, weights=_sparse(rng, n, s.n, 0.4))
    return g


def conv_stack(rng) -> nc.Graph:
    g = nc.Graph()
    hw = int(rng.integers(6, 10))
    c = int(rng.integers(1, 3))
    src = g.input(c * hw * hw, shape=(c, hw, hw), name="x")
    for i in range(int(rng.integers(1, 3))):
        co = int(rng.integers(2, 5))
        src = g.conv2d(src, rng.integers(-15, 16, (co, c, 3, 3)), IF, padding=1, name=f"c{i}")
        c = co
    g.dense(src, rng.integers(-5, 6, (6, src.n)) * (rng.random((6, src.n)) < 0.3), IF, name="out")
    return g


def residual(rng) -> nc.Graph:
    g = nc.Graph()
    x = g.input(16, name="x")
    a = g.dense(x, rng.integers(-9, 10, (int(rng.integers(20, 50)), 16)), IF, name="a")
    b = g.dense(a, rng.integers(-9, 10, (int(rng.integers(20, 50)), a.n)), IF, name="b")
    c = g.dense(b, rng.integers(-9, 10, (a.n, b.n)), IF, name="c")
    g.connect(a, c, weights=sp.identity(a.n, dtype=np.int64, format="csr") * 7, name="skip")
    return g


def cuba_recurrent(n: int, p: float, seed: int = 0) -> nc.Graph:
    """One recurrent population of ``n`` CubaLIF neurons, Bernoulli(``p``) connectivity, weights 1..49."""
    rng = np.random.default_rng(seed)
    g = nc.Graph()
    a = g.population(n, nc.CubaLIF(du=82, dv=20, vth=10000, bias_mant=3520), name="rec")
    w = sp.random(n, n, density=p, random_state=seed, data_rvs=lambda k: rng.integers(1, 50, k), format="csr")
    g.connect(a, a, weights=w.astype(np.int64))
    return g


def two_layer(n_in: int, n_a: int, n_b: int, fan: int, rng) -> nc.Graph:
    """inputs -> ``a`` -> ``b`` (IF, vth 100), each neuron with ``fan`` random sources, odd weights in [-3, 3]."""
    def rnd(nd, ns):
        rows, cols = np.repeat(np.arange(nd), fan), rng.integers(0, ns, nd * fan)
        return sp.csr_matrix((rng.integers(-2, 3, nd * fan) | 1, (rows, cols)), shape=(nd, ns))

    g = nc.Graph()
    x = g.input(n_in, name="x")
    a = g.population(n_a, nc.IF(vth=100), name="a")
    g.connect(x, a, rnd(n_a, n_in))
    g.connect(a, g.population(n_b, nc.IF(vth=100), name="b"), rnd(n_b, n_a))
    return g


FAMILIES = {"recurrent": lambda r: recurrent(r, False), "recurrent_delays": lambda r: recurrent(r, True),
            "dense_chain": dense_chain, "fan_out": fan_out, "fan_in": fan_in, "conv_stack": conv_stack,
            "residual": residual}


def _cores(g, chip, caps) -> int | None:
    try:
        return partition(g, chip, caps=caps, search=False).n_cores
    except MappingError:
        return None


def oracle(g: nc.Graph, chip: nc.chip.ChipSpec, grid: int = 16, per_pop: int = 3) -> int | None:
    """Fewest cores of the old greedy-and-repair partition over neuron caps swept on grids.

    A global ``neurons_per_core`` cap on ``grid`` evenly spaced values from 1 to the chip's
    limit (every value when the limit is at most ``grid``) and, for networks of at most three
    populations, per-population caps on ``per_pop`` values each (the limit, 1/2 and 1/4 of it).
    None if no cap gives a partition.
    """
    N = chip.neurons_per_core
    glob = sorted(set(np.linspace(1, N, min(N, grid)).round().astype(int).tolist()))
    found = [c for c in (_cores(g, chip, cap) for cap in glob) if c is not None]
    pops = [p.name for p in g.populations]
    if len(pops) <= 3:
        coarse = sorted({max(1, N >> i) for i in range(per_pop)})
        for combo in itertools.product(coarse, repeat=len(pops)):
            c = _cores(g, chip, dict(zip(pops, combo)))
            if c is not None:
                found.append(c)
    return min(found) if found else None
