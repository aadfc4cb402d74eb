"""Compile time and placement quality on Loihi: CNNs, recurrent, dense and fan-out networks.

Run: ``python bench/bench_compile.py`` (``--quick`` skips the VGG rows).

Columns
-------
syn        synapses of the network.
cores      cores used; ``lb`` the compiler's proven lower bound (``neurocore.mapping.bound``:
           max over neurons, input axons, output routes and synapse memory of
           ceil(total need / per-core budget), rows counted unsplit); ``x lb`` the ratio.
packing    how the compiler cut the layers into cores ("stream": consecutive layers per
           core; "balanced": neuron-heavy and memory-heavy layers share cores).
hops       estimated packet hops per all-fire step after placement, ``in-order`` the same
           traffic placed in order, ``cut`` the reduction; ``chip hops`` inter-chip hops.
compile    wall time of ``nc.compile`` (partition + tables + placement).

TrueNorth rows (``truenorth()`` enforces four axon types and one target per neuron, so
compile inserts splitter neurons; ``truenorth-free`` is the same chip with both rules off):
cores, splitter neurons and the cores holding them, the output layer's extra steps of
latency, the compile time.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import neurocore as nc
from neurocore.mapping.bound import core_bound
from tests.mapping.netgen import cuba_recurrent as recurrent  # shared with the tests


def _kernel(rng, o, i, k=3):
    return rng.integers(-127, 128, (o, i, k, k))


def lenet5(rng) -> nc.Graph:
    """LeNet-5: 1x28x28 -> conv 6@5x5 (pad 2) -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> 10."""
    g = nc.Graph()
    x = g.input(28 * 28, shape=(1, 28, 28), name="x")
    n = nc.IF(vth=100)
    c1 = g.conv2d(x, _kernel(rng, 6, 1, 5), n, padding=2, name="c1")
    p1 = g.sumpool2d(c1, 2, n, name="p1")
    c2 = g.conv2d(p1, _kernel(rng, 16, 6, 5), n, name="c2")
    p2 = g.sumpool2d(c2, 2, n, name="p2")
    f1 = g.dense(p2, rng.integers(-127, 128, (120, 400)), n, name="f1")
    f2 = g.dense(f1, rng.integers(-127, 128, (84, 120)), n, name="f2")
    g.dense(f2, rng.integers(-127, 128, (10, 84)), n, name="f3")
    return g


def vgg(rng, widths=(16, 24, 32, 48, 64, 64)) -> nc.Graph:
    """VGG-style: 3x32x32, pairs of 3x3 convs (pad 1) then 2x2 sum-pool, then two dense layers."""
    g = nc.Graph()
    x = g.input(3 * 32 * 32, shape=(3, 32, 32), name="x")
    n = nc.IF(vth=100)
    src, c = x, 3
    for i, w in enumerate(widths):
        src = g.conv2d(src, _kernel(rng, w, c), n, padding=1, name=f"conv{i + 1}")
        c = w
        if i % 2 == 1:
            src = g.sumpool2d(src, 2, n, name=f"pool{i // 2 + 1}")
    flat = src.n
    f1 = g.dense(src, rng.integers(-127, 128, (256, flat)), n, name="fc1")
    g.dense(f1, rng.integers(-127, 128, (10, 256)), n, name="fc2")
    return g


def lower_bound(g: nc.Graph, chip, storage: str) -> tuple[int, str]:
    """The compiler's proven lower bound on cores and the resource that sets it (neurocore.mapping.bound)."""
    b = core_bound(g, chip, storage)
    return b.cores, b.binding


def dense_chain(rng, sizes=(784, 2048, 2048, 10)) -> nc.Graph:
    g = nc.Graph()
    src = g.input(sizes[0], name="x")
    for i, n in enumerate(sizes[1:]):
        src = g.dense(src, rng.integers(-127, 128, (n, src.n)), nc.IF(vth=100), name=f"d{i}")
    return g


def fan_out(rng, n: int = 1024, k: int = 6, p: float = 0.05) -> nc.Graph:
    """One population of ``n`` fanning out to ``k`` populations of ``n`` (Bernoulli(``p``))."""
    g = nc.Graph()
    x = g.input(64, name="x")
    hub = g.dense(x, rng.integers(-9, 10, (n, 64)), nc.IF(vth=100), name="hub")
    for i in range(k):
        w = sp.random(n, n, density=p, random_state=i, data_rvs=lambda m: rng.integers(1, 50, m), format="csr")
        g.connect(hub, g.population(n, nc.IF(vth=100), name=f"o{i}"), weights=w.astype(np.int64))
    return g


def board_net(n_synapses: int, layers: int = 4, n: int = 32_768, seed: int = 0) -> nc.Graph:
    """``layers`` sparse layers of ``n`` IF neurons, ``n_synapses`` explicit synapses in all, fan-in spread evenly.

    Row ``i`` of a layer takes ``k`` sources with a stride of 2 from a window at its own relative position
    (local, receptive-field-like connectivity, distinct and sorted), weights +-1..20, so building costs seconds,
    not the compile under test.
    """
    rng = np.random.default_rng(seed)
    g = nc.Graph()
    src = g.input(2048, name="x")
    per = n_synapses // layers
    for li in range(layers):
        n_src = src.n
        k = max(1, min(n_src, per // n))
        stride = 2 if 2 * k <= n_src else 1
        start = np.clip((np.arange(n) * n_src) // n - stride * k // 2, 0, n_src - stride * k)
        cols = (start[:, None] + stride * np.arange(k)[None, :]).astype(np.int32).ravel()
        data = rng.integers(1, 21, n * k).astype(np.int8) * rng.choice(np.array([-1, 1], np.int8), n * k)
        w = sp.csr_matrix((data, cols, np.arange(0, n * k + 1, k, dtype=np.int64)), shape=(n, n_src))
        pop = g.population(n, nc.IF(vth=100), name=f"l{li}")
        g.connect(src, pop, weights=w, name=f"l{li}.w")
        src = pop
    return g


def board_row(n_synapses: int, placement: str = "greedy") -> str:
    """Compile a ``board_net`` on an 8 x 8 board of Loihi chips; time and peak traced memory beyond the Graph."""
    import tracemalloc

    chip = dataclasses.replace(nc.chip.loihi(), name="loihi-8x8", chips_x=8, chips_y=8)
    g = board_net(n_synapses)
    syn = sum(p.n_synapses for p in g.projections.values())
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    prog = nc.compile(g, chip, placement=placement, seed=0)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    m = prog.mapping
    lb, what = lower_bound(g, chip, "expanded")
    return (f"{'board':<10} {chip.name:<12} {'expanded':<8} {syn:>11,} {prog.n_cores_used:>5} {lb:>5} "
            f"{prog.n_cores_used / lb:>5.2f} {what:<14} {m['packing']:<8} {m['est_hops']:>11,.0f} "
            f"{m['est_hops_in_order']:>11,.0f} {'':>6} {m['est_hops_chip']:>9,.0f} {dt:>7.2f}s  "
            f"(CPU {cpu:.1f} s) peak {peak / syn:.0f} B/synapse beyond the Graph ({placement})")


def row(name, g, chip, storage, placement="anneal"):
    t0 = time.perf_counter()
    prog = nc.compile(g, chip, conv_storage=storage, placement=placement, seed=0)
    dt = time.perf_counter() - t0
    m = prog.mapping
    lb, what = lower_bound(g, chip, storage)
    syn = sum(p.n_synapses for p in g.projections.values())
    cut = 100 * (1 - m["est_hops"] / m["est_hops_in_order"]) if m["est_hops_in_order"] else 0.0
    return (f"{name:<10} {chip.name:<12} {storage:<8} {syn:>11,} {prog.n_cores_used:>5} {lb:>5} "
            f"{prog.n_cores_used / lb:>5.2f} {what:<14} {m['packing']:<8} {m['est_hops']:>11,.0f} {m['est_hops_in_order']:>11,.0f} "
            f"{cut:>5.1f}% {m['est_hops_chip']:>9,.0f} {dt:>7.2f}s")


def tn_conv(rng) -> nc.Graph:
    """Ternary conv stack for TrueNorth: 1x16x16 -> conv 8@3x3 -> conv 8@3x3/2 -> conv 16@3x3/2 -> dense 10."""
    g = nc.Graph()
    x = g.input(256, shape=(1, 16, 16), name="x")
    n = nc.IF(vth=20)

    def tern(o, i):  # per output channel {-s, 0, +s}
        return rng.choice([-1, 0, 1], (o, i, 3, 3)) * rng.integers(2, 60, (o, 1, 1, 1))

    c1 = g.conv2d(x, tern(8, 1), n, padding=1, name="c1")
    c2 = g.conv2d(c1, tern(8, 8), n, stride=2, padding=1, name="c2")
    c3 = g.conv2d(c2, tern(16, 8), n, stride=2, padding=1, name="c3")
    w = rng.choice([-1, 0, 1], (10, 256), p=[0.2, 0.6, 0.2]) * rng.integers(2, 60, (10, 1))
    w[:, 128:] = 0  # fan-in 128 at most: two axon types per source on a 256-axon core
    g.dense(c3, w, n, name="out")
    return g


def tn_row(name, g, chip) -> str:
    t0 = time.perf_counter()
    prog = nc.compile(g, chip, seed=0)
    dt = time.perf_counter() - t0
    spl = prog.meta.get("splitters") or {"n_splitters": 0, "splitter_cores": 0, "latency_shift": {}}
    out = g.populations[-1].name
    return (f"{name:<10} {chip.name:<15} {sum(p.n_synapses for p in g.projections.values()):>9,} "
            f"{prog.n_cores_used:>5} {spl['n_splitters']:>9,} {spl['splitter_cores']:>9} "
            f"{spl['latency_shift'].get(out, 0):>7} {prog.n_neurons:>8,} {dt:>7.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="LeNet only")
    ap.add_argument("--board-synapses", type=float, default=0,
                    help="also compile a network of this many explicit synapses on an 8 x 8 Loihi board")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    loihi = nc.chip.loihi()
    board = dataclasses.replace(loihi, name="loihi-2x1", chips_x=2)
    tn, g = nc.chip.truenorth(), tn_conv(np.random.default_rng(1))
    free = dataclasses.replace(tn, name="truenorth-free", axon_types=0, single_target=False)
    print(f"{'network':<10} {'chip':<15} {'syn':>9} {'cores':>5} {'splitters':>9} {'on cores':>9} "
          f"{'+steps':>7} {'neurons':>8} {'compile':>8}")
    print(tn_row("tn-conv", g, free))
    print(tn_row("tn-conv", g, tn))
    print()
    print(f"{'network':<10} {'chip':<12} {'storage':<8} {'syn':>11} {'cores':>5} {'lb':>5} {'x lb':>5} "
          f"{'binding':<14} {'packing':<8} {'hops':>11} {'in-order':>11} {'cut':>6} {'chip hops':>9} {'compile':>8}")
    if args.board_synapses:
        print(board_row(int(args.board_synapses)))
    g = lenet5(rng)
    print(row("LeNet-5", g, loihi, "expanded"))
    print(row("LeNet-5", g, loihi, "shared"))
    if args.quick:
        return
    print(row("rec4000", recurrent(4000, 0.02), loihi, "expanded"))
    print(row("rec8000", recurrent(8000, 0.01), loihi, "expanded"))
    print(row("dense2048", dense_chain(rng), loihi, "expanded"))
    print(row("fanout6", fan_out(rng), loihi, "expanded"))
    g = vgg(rng)
    print(row("VGG", g, board, "expanded"))
    print(row("VGG", g, loihi, "shared"))


if __name__ == "__main__":
    main()
