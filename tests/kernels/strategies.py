"""Hypothesis strategies: random chips, networks and inputs for kernel-vs-reference tests.

Chips draw every width ``ChipSpec`` accepts for the fields the kernel's arithmetic depends
on: u/v registers 2-32 bits, weight mantissas 1-16 bits, threshold mantissas 1-24 bits.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import neurocore as nc


@st.composite
def chips(draw):
    return nc.chip.ChipSpec(
        name="random", tiles_x=draw(st.integers(1, 4)), tiles_y=draw(st.integers(1, 3)),
        cores_per_tile=draw(st.integers(1, 2)), chips_x=draw(st.integers(1, 2)), chips_y=draw(st.integers(1, 2)),
        neurons_per_core=draw(st.integers(3, 16)), axons_in_per_core=4096, axons_out_per_core=4096,
        syn_mem_bits_per_core=1 << 24, weight_bits=draw(st.integers(1, 16)),
        u_bits=draw(st.integers(2, 32)), v_bits=draw(st.integers(2, 32)),
        u_overflow=draw(st.sampled_from(["wrap", "saturate"])), v_overflow=draw(st.sampled_from(["wrap", "saturate"])),
        vth_bits=draw(st.integers(1, 24)), max_delay=4,
    )


def _per_neuron(draw, n, lo, hi):
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(lo, hi + 1, n)


@st.composite
def neuron_models(draw, n, chip):
    vmax = (1 << chip.vth_bits) - 1
    ulo, uhi = -(1 << (chip.u_bits - 1)), 1 << (chip.u_bits - 1)  # initial state may be any register value
    vlo, vhi = -(1 << (chip.v_bits - 1)), 1 << (chip.v_bits - 1)
    if draw(st.booleans()):
        return nc.IF(vth=draw(st.integers(0, vmax)), bias_mant=_per_neuron(draw, n, -300, 300),
                     bias_exp=_per_neuron(draw, n, 0, 7), reset=draw(st.sampled_from(["subtract", "zero"])),
                     v0=_per_neuron(draw, n, vlo, vhi))
    return nc.CubaLIF(du=draw(st.integers(0, 4095)), dv=draw(st.integers(0, 4095)), vth=draw(st.integers(0, vmax)),
                      bias_mant=_per_neuron(draw, n, -4096, 4095), bias_exp=_per_neuron(draw, n, 0, 7),
                      refractory=_per_neuron(draw, n, 0, 5), u0=_per_neuron(draw, n, ulo, uhi),
                      v0=_per_neuron(draw, n, vlo, vhi), reset=draw(st.sampled_from(["zero", "subtract"])))


@st.composite
def networks(draw, chip=None):
    """(chip, graph, inputs, n_steps): up to 3 inputs and 3 populations, random projections."""
    chip = chip or draw(chips())
    g = nc.Graph()
    inputs = [g.input(draw(st.integers(1, 6)), graded=draw(st.booleans())) for _ in range(draw(st.integers(0, 2)))]
    pops = []
    budget = chip.n_cores * chip.neurons_per_core
    for i in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, max(1, min(20, budget // 3))))
        pops.append(g.population(n, draw(neuron_models(n, chip)), name=f"p{i}"))
    wlo, whi = chip.weight_range
    for _ in range(draw(st.integers(0, 5))):
        src = draw(st.sampled_from(inputs + pops))
        dst = draw(st.sampled_from(pops))
        seed = draw(st.integers(0, 2**32 - 1))
        r = np.random.default_rng(seed)
        density = draw(st.sampled_from([0.1, 0.5, 1.0]))
        w = r.integers(wlo, whi + 1, (dst.n, src.n)) * (r.random((dst.n, src.n)) < density)
        from_input = isinstance(src, nc.graph.Input)
        delay = draw(st.integers(0 if from_input else 1, chip.max_delay))
        g.connect(src, dst, weights=w, weight_exp=draw(st.integers(-chip.act_shift, 2)), delay=delay)
    B, T = draw(st.integers(1, 3)), draw(st.integers(1, 25))
    seed = draw(st.integers(0, 2**32 - 1))
    r = np.random.default_rng(seed)
    cols = []
    for node in inputs:
        if node.graded:
            cols.append(r.integers(-3000, 3000, (B, T, node.n)) * (r.random((B, T, node.n)) < 0.5))
        else:
            cols.append((r.random((B, T, node.n)) < draw(st.sampled_from([0.1, 0.5, 0.9]))).astype(np.int64))
    x = np.concatenate(cols, axis=2) if cols else np.zeros((B, T, 0), np.int64)
    return chip, g, x.astype(np.int32), T
