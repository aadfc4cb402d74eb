"""NumPy twin of the simulation kernel: the same integer arithmetic, written plainly.

Two parts, both independent of the kernel's data layout:

* :func:`simulate` runs a :class:`~neurocore.graph.Graph` directly on a chip's
  arithmetic, **un-partitioned**: one accumulator per population and delay, one
  sparse matrix product per projection. State, spikes and overflow counts must
  equal the kernel's bit for bit, whatever the partitioning.
* :func:`count` derives every routing and memory counter from the spike trains
  and the compiled Program's tables (which cores, which rows, which links).

The fixed-point helpers mirror ``fixedpoint.pxd`` one-to-one.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from neurocore.anytime import STOP_RULES
from neurocore.chip.spec import ChipSpec
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Input
from neurocore.mapping.units import SYNAPSE_UNITS, default_synapse_unit

__all__ = ["trunc_shift", "wrap_bits", "saturate_bits", "neuron_step", "simulate", "count"]


def trunc_shift(p: NDArray[np.int64], k: int) -> NDArray[np.int64]:
    """sign(p) * (|p| >> k): division by 2**k rounding toward zero."""
    p = np.asarray(p, np.int64)
    return np.sign(p) * (np.abs(p) >> k)


def wrap_bits(x: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    """Wrap into (-2**(bits-1), 2**(bits-1)]: -2**(bits-1) maps to +2**(bits-1), as Lava does."""
    h = 1 << (bits - 1)
    return np.mod(np.asarray(x, np.int64) + h - 1, 1 << bits) - h + 1


def saturate_bits(x: NDArray[np.int64], bits: int) -> NDArray[np.int64]:
    """Clip into [-(2**(bits-1) - 1), 2**(bits-1) - 1]."""
    h = (1 << (bits - 1)) - 1
    return np.clip(np.asarray(x, np.int64), -h, h)


def _limit(x, bits, rule):
    return wrap_bits(x, bits) if rule == "wrap" else saturate_bits(x, bits)


def neuron_step(u, v, refr, a, p: dict, chip: ChipSpec):
    """One update of every neuron. ``p`` holds per-neuron int64 arrays du, dv, vth, bias_mant,
    bias_exp, refractory, reset. Returns (u, v, refr, spikes, active, overflow_u, overflow_v)."""
    unity = 1 << chip.decay_bits
    bias = p["bias_mant"] << p["bias_exp"]
    vth = p["vth"] << chip.vth_shift
    active = (a != 0) | (u != 0) | (v != 0) | (bias != 0) | (refr != 0)
    un = trunc_shift(u * (unity - (p["du"] + 1)), chip.decay_bits) + a
    u_new = _limit(un, chip.u_bits, chip.u_overflow)
    ovf_u = u_new != un
    held = refr > 0
    vn = trunc_shift(v * (unity - p["dv"]), chip.decay_bits) + u_new + bias
    v_lim = _limit(vn, chip.v_bits, chip.v_overflow)
    ovf_v = (v_lim != vn) & ~held
    spikes = (v_lim > vth) & ~held
    v_reset = np.where(p["reset"] == 1, v_lim - vth, 0)
    v_new = np.where(held, v, np.where(spikes, v_reset, v_lim))
    refr_new = np.where(held, refr - 1, np.where(spikes, p["refractory"], 0))
    return u_new, v_new, refr_new, spikes, active, ovf_u, ovf_v


def _offsets(nodes) -> tuple[dict[str, int], int]:
    """First index of each node's neurons (or channels), numbered node after node, and the total."""
    offs, off = {}, 0
    for node in nodes:
        offs[node.name] = off
        off += node.n
    return offs, off


def simulate(graph: Graph, chip: ChipSpec, inputs: NDArray, n_steps: int, stop=None) -> dict[str, NDArray]:
    """Run ``graph`` on ``chip``'s arithmetic without partitioning.

    Returns a dict with ``u``, ``v`` (batch, n_steps, N) int64 at the end of each step,
    ``spikes`` (batch, n_steps, N) bool, ``active`` (batch, n_steps, N) bool,
    ``overflow_u``, ``overflow_v`` (batch,), ``steps`` (batch,) and the final ``u_final``,
    ``v_final`` (batch, N). Neurons are numbered population by population.

    ``stop``: ``(margin, min_steps, population)``, the early-stop rule "count_margin" of
    ``neurocore.anytime.StopRule``: after step t (from 1) >= min_steps, a running sample whose
    population's leading cumulative spike count exceeds the second by >= margin stops; from
    then on it takes no input and its state, spikes and activity stay frozen (u, v, spikes
    after its stop step are reported as 0, as the kernel's probes are).
    """
    pops = graph.populations
    offs, N = _offsets(pops)
    chan, _ = _offsets(graph.inputs)
    x = np.asarray(inputs, np.int64)
    B = x.shape[0]
    lowered = [pop.neuron.lowered(pop.n, chip.decay_bits) for pop in pops]
    p = {k: np.concatenate([low[k] for low in lowered]).astype(np.int64) for k in lowered[0]}
    projs = list(graph.projections.values())
    D = max([pr.delay for pr in projs], default=0) + 1
    acc = np.zeros((D, B, N), np.int64)
    u = np.broadcast_to(p["u0"], (B, N)).copy()
    v = np.broadcast_to(p["v0"], (B, N)).copy()
    refr = np.zeros((B, N), np.int64)
    out = {k: np.zeros((B, n_steps, N), np.int64) for k in ("u", "v")}
    out["spikes"] = np.zeros((B, n_steps, N), bool)
    out["active"] = np.zeros((B, n_steps, N), bool)
    ovf_u, ovf_v = np.zeros(B, np.int64), np.zeros(B, np.int64)
    live = np.ones(B, bool)
    steps = np.full(B, n_steps, np.int64)
    if stop is not None:
        margin, min_steps, stop_pop = stop
        s_lo = offs[stop_pop]
        s_hi = s_lo + next(pop.n for pop in pops if pop.name == stop_pop)
        counts = np.zeros((B, s_hi - s_lo), np.int64)

    def project(pr, values, t):
        w = pr.weights.T.astype(np.int64) * (1 << (chip.act_shift + pr.weight_exp))
        contrib = sp.csr_matrix(values.astype(np.int64) * live[:, None]) @ w  # a stopped sample takes nothing
        d0 = offs[pr.dst]
        acc[(t + pr.delay) % D][:, d0: d0 + pr.weights.shape[0]] += np.asarray(contrib.todense(), np.int64)

    for t in range(n_steps):
        for pr in projs:
            if isinstance(graph.nodes[pr.src], Input):
                c0 = chan[pr.src]
                project(pr, x[:, t, c0: c0 + pr.weights.shape[1]], t)
        slot = t % D
        a = acc[slot].copy()
        acc[slot] = 0
        un, vn, rn, s, act, ou, ov = neuron_step(u, v, refr, a, p, chip)
        keep = live[:, None]
        u, v, refr = np.where(keep, un, u), np.where(keep, vn, v), np.where(keep, rn, refr)
        s, act = s & keep, act & keep
        ovf_u += (ou & keep).sum(1)
        ovf_v += (ov & keep).sum(1)
        out["u"][:, t], out["v"][:, t] = u * keep, v * keep
        out["spikes"][:, t], out["active"][:, t] = s, act
        for pr in projs:
            if not isinstance(graph.nodes[pr.src], Input):
                s0 = offs[pr.src]
                project(pr, s[:, s0: s0 + pr.weights.shape[1]], t)
        if stop is not None:
            counts += s[:, s_lo: s_hi]
            if t + 1 >= min_steps:
                done = live & (STOP_RULES["count_margin"](counts) >= margin)
                steps[done] = t + 1
                live &= ~done
    out["overflow_u"], out["overflow_v"] = ovf_u, ovf_v
    out["steps"], out["u_final"], out["v_final"] = steps, u, v
    return out


def _links_of(src_tile: int, dst_tile: int, mesh_x: int) -> list[int]:
    """Directed links (tile * 4 + {0:+x, 1:-x, 2:+y, 3:-y}) of an XY route."""
    x, y, x1, y1 = src_tile % mesh_x, src_tile // mesh_x, dst_tile % mesh_x, dst_tile // mesh_x
    links = []
    while x != x1:
        step = 1 if x1 > x else -1
        links.append((y * mesh_x + x) * 4 + (0 if step > 0 else 1))
        x += step
    while y != y1:
        step = 1 if y1 > y else -1
        links.append((y * mesh_x + x) * 4 + (2 if step > 0 else 3))
        y += step
    return links


def _per_source(program) -> dict:
    """What one firing of each source (neuron, then input channel) costs, from the Program's tables.

    Per source: synapses ``syn``, memory words ``words``, packets ``pk``, intra-tile packets
    ``intra``, hops ``hew``/``hns``/``hch``; and (sources, cores) or (sources, links)
    sparse matrices: synapses per core ``core_syn`` (and per synapse unit ``unit_syn``),
    packets sent from / received by each core ``pk_out``/``pk_in``, packets per link ``link``.
    """
    a, chip = program.arrays, program.chip
    S, K = program.n_neurons + program.n_inputs, program.n_cores_used
    nnz = np.diff(a["row_ptr"])
    row_pk = np.repeat(np.arange(a["pk_core"].size), np.diff(a["pk_row_ptr"]))
    pk_src = np.repeat(np.arange(S), np.diff(a["src_pk_ptr"]))
    row_src = pk_src[row_pk] if row_pk.size else np.zeros(0, np.int64)

    def per_source(owner, weights=None):
        return np.bincount(owner, weights=weights, minlength=S).astype(np.int64)

    def per_core(values, cores, owner=row_src):
        return sp.csr_matrix((values, (owner, cores)), shape=(S, K)).astype(np.int64)

    units = [SYNAPSE_UNITS.index(st.get("synapse_unit", default_synapse_unit(st))) for st in program.projections]
    row_unit = np.asarray(units, np.int64)[a["row_proj"]] if a["row_proj"].size else np.zeros(0, np.int64)
    chan_core = np.asarray(a.get("chan_core", np.full(program.n_inputs, -1)), np.int64)
    src_core = np.concatenate([a["neuron_core"].astype(np.int64), chan_core])
    sent = pk_src[src_core[pk_src] >= 0]
    intra = a["pk_src_tile"] == a["pk_dst_tile"]
    moving = ~intra & (a["pk_src_tile"] >= 0)
    return {
        "syn": per_source(row_src, nnz), "words": per_source(row_src, a["row_words"]),
        "core_syn": per_core(nnz, a["row_core"]),
        "unit_syn": {u: per_core(nnz * (row_unit == u), a["row_core"]) for u in (1, 2)},
        "pk_out": per_core(np.ones(sent.size, np.int64), src_core[sent], sent),
        "pk_in": per_core(np.ones(pk_src.size, np.int64), a["pk_core"], pk_src),
        "pk": np.bincount(pk_src, minlength=S), "intra": per_source(pk_src, intra & (a["pk_src_tile"] >= 0)),
        "hew": per_source(pk_src, a["pk_hops_ew"] * moving), "hns": per_source(pk_src, a["pk_hops_ns"] * moving),
        "hch": per_source(pk_src, a["pk_hops_chip"] * moving),
        "link": _link_matrix(a, pk_src, moving, S, chip.mesh_x, chip.mesh_x * chip.mesh_y * 4),
    }


def _link_matrix(a: dict, pk_src: NDArray, moving: NDArray, S: int, mesh_x: int, n_links: int) -> sp.csr_matrix:
    """(sources, links): how many of a source's packets cross each directed link (XY routes)."""
    rows_l, cols_l = [], []
    for k in np.flatnonzero(moving):
        for link in _links_of(int(a["pk_src_tile"][k]), int(a["pk_dst_tile"][k]), mesh_x):
            rows_l.append(pk_src[k])
            cols_l.append(link)
    return sp.csr_matrix((np.ones(len(rows_l), np.int64), (rows_l, cols_l)), shape=(S, n_links))


def _totals(program, src: dict, x: NDArray, s: NDArray, active: NDArray, ran: NDArray) -> dict[str, NDArray]:
    """The per-sample counters from spike counts per neuron and non-zero values per input channel;
    ``ran`` (batch,) is the steps each sample ran."""
    N, C = program.n_neurons, program.n_inputs
    graded = np.zeros(C, bool)
    for im in program.inputs.values():
        graded[im.offset: im.offset + im.n] = im.graded
    nz_in = x != 0  # (B, T, C)
    in_graded = (nz_in & (graded[None, None, :] | (x != 1))).sum(1).astype(np.int64)  # a 1 on an undeclared
    neuron_counts, in_counts = s.sum(1), nz_in.sum(1).astype(np.int64)                # channel is a spike

    def fired(key):  # neurons' and inputs' share of a per-source cost
        return neuron_counts @ src[key][:N] + in_counts @ src[key][N:]

    syn_c = src["syn"][N:]
    cnt = {
        "timesteps": ran.copy(),
        "synops_binary": neuron_counts @ src["syn"][:N] + (in_counts - in_graded) @ syn_c,
        "synops_graded": in_graded @ syn_c,
        "syn_mem_words_read": fired("words"),
        "neuron_updates_active": active.sum((1, 2)).astype(np.int64),
        "spikes": s.sum((1, 2)),
        "packets": neuron_counts @ src["pk"][:N],
        "intra_tile_packets": fired("intra"), "hops_ew": fired("hew"), "hops_ns": fired("hns"),
        "hops_interchip": fired("hch"),
        "input_packets": in_counts @ src["pk"][N:],
    }
    cnt["synops"] = cnt["synops_binary"] + cnt["synops_graded"]
    cnt["neuron_updates_idle"] = ran * N - cnt["neuron_updates_active"]
    return cnt


def count(program, inputs: NDArray, spikes: NDArray, active: NDArray,
          steps: NDArray | None = None) -> dict[str, NDArray]:
    """Every counter the kernel keeps, from the spike trains and the Program's tables.

    ``spikes`` and ``active`` are (batch, n_steps, N) from :func:`simulate`; ``steps``
    (batch,) the steps each sample ran (early stop; default all): inputs after a sample's
    last step are not delivered.
    Returns the ``counters`` dict (per sample), ``core_steps`` (every per-core per-step
    array of :class:`~neurocore.sim.RunResult`), ``busiest_link`` and ``link_packets``.
    Input channels placed on a core (``arrays["chan_core"] >= 0``) route like spikes:
    their packets make hops and load links; host-injected ones (-1) make none.
    """
    a = program.arrays
    B, T, K = spikes.shape[0], spikes.shape[1], program.n_cores_used
    n_links = program.chip.mesh_x * program.chip.mesh_y * 4
    src = _per_source(program)
    x = np.asarray(inputs, np.int64)
    ran = np.full(B, T, np.int64) if steps is None else np.asarray(steps, np.int64)
    x = x * (np.arange(T)[None, :, None] < ran[:, None, None])  # a stopped sample takes no more input
    s = spikes.astype(np.int64)
    cnt = _totals(program, src, x, s, active, ran)
    # per step: core loads and busiest link
    allsrc = sp.csr_matrix(np.concatenate([s, (x != 0).astype(np.int64)], axis=2).reshape(B * T, -1))

    def per_step(m, width=K):
        return np.asarray((allsrc @ m).todense()).reshape(B, T, width)

    core_active = np.zeros((B, T, K), np.int64)
    core_spikes = np.zeros((B, T, K), np.int64)
    for k in range(K):
        core_active[:, :, k] = active[:, :, a["neuron_core"] == k].sum(2)
        core_spikes[:, :, k] = s[:, :, a["neuron_core"] == k].sum(2)
    per_core = {"synops": per_step(src["core_syn"]), "updates_active": core_active, "spikes": core_spikes,
                "packets_out": per_step(src["pk_out"]), "packets_in": per_step(src["pk_in"]),
                "synops_sparse": per_step(src["unit_syn"][1]), "synops_conv": per_step(src["unit_syn"][2])}
    link_load = per_step(src["link"], n_links)
    return {"counters": cnt, "core_steps": per_core,
            "busiest_link": link_load.max(2) if n_links else np.zeros((B, T), np.int64),
            "link_packets": link_load.sum((0, 1))}
