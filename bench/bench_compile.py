"""Compile time and placement quality: LeNet-5-sized and VGG-style CNNs on Loihi.

Run: ``python bench/bench_compile.py`` (``--quick`` skips the VGG rows).

Columns
-------
syn        synapses of the network.
cores      cores used; ``lb`` the lower bound = total need / per-core budget for the
           binding resource (max over neurons and synapse memory; memory = entries x
           (weight + index bits) expanded, or one kernel copy per layer shared); ``x lb``
           the ratio. Each resource's ceil(need / budget) bounds the cores on its own, so
           the max does; memory leaves out row headers and word rounding (the compiler
           counts them), so the bound never overstates.
packing    how the compiler cut the layers into cores ("stream": consecutive layers per
           core; "balanced": neuron-heavy and memory-heavy layers share cores).
hops       estimated packet hops per all-fire step after placement, ``in-order`` the same
           traffic placed in order, ``cut`` the reduction; ``chip hops`` inter-chip hops.
compile    wall time of ``nc.compile`` (partition + tables + placement).
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import neurocore as nc


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
    """Cores needed by the binding resource alone."""
    neurons = g.n_neurons / chip.neurons_per_core
    bits = 0
    for p in g.projections.values():
        if storage == "shared" and p.kind == "conv2d":
            bits += int(np.prod(p.meta["kernel_shape"])) * chip.weight_bits
        else:
            bits += p.n_synapses * chip.synapse_bits
    mem = bits / chip.syn_mem_bits_per_core
    return (math.ceil(neurons), "neurons") if neurons >= mem else (math.ceil(mem), "synapse memory")


def row(name, g, chip, storage, placement="anneal"):
    t0 = time.perf_counter()
    prog = nc.compile(g, chip, conv_storage=storage, placement=placement, seed=0)
    dt = time.perf_counter() - t0
    m = prog.meta["mapping"]
    lb, what = lower_bound(g, chip, storage)
    syn = sum(p.n_synapses for p in g.projections.values())
    cut = 100 * (1 - m["est_hops"] / m["est_hops_in_order"]) if m["est_hops_in_order"] else 0.0
    return (f"{name:<10} {chip.name:<12} {storage:<8} {syn:>11,} {prog.n_cores_used:>5} {lb:>5} "
            f"{prog.n_cores_used / lb:>5.2f} {what:<14} {m['packing']:<8} {m['est_hops']:>11,.0f} {m['est_hops_in_order']:>11,.0f} "
            f"{cut:>5.1f}% {m['est_hops_chip']:>9,.0f} {dt:>7.2f}s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="LeNet only")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    loihi = nc.chip.loihi()
    board = dataclasses.replace(loihi, name="loihi-2x1", chips_x=2)
    print(f"{'network':<10} {'chip':<12} {'storage':<8} {'syn':>11} {'cores':>5} {'lb':>5} {'x lb':>5} "
          f"{'binding':<14} {'packing':<8} {'hops':>11} {'in-order':>11} {'cut':>6} {'chip hops':>9} {'compile':>8}")
    g = lenet5(rng)
    print(row("LeNet-5", g, loihi, "expanded"))
    print(row("LeNet-5", g, loihi, "shared"))
    if args.quick:
        return
    g = vgg(rng)
    print(row("VGG", g, board, "expanded"))
    print(row("VGG", g, loihi, "shared"))


if __name__ == "__main__":
    main()
