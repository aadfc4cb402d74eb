"""Checks that share nothing with the Program's tables.

``neurocore.kernels.reference.count`` derives the routing and memory counters from the same
Program arrays the kernel reads, and both lower neurons through ``NeuronModel.lowered``, so a
bug in partitioning, the tables, the routes or the lowering passes every kernel-vs-reference
test. The checks here are written from the Graph (its weight matrices and neuron models), the
partition (``Program.populations`` pieces), the placement (``Program.core_ids``) and the chip's
documented geometry and arithmetic (README, "Fixed-point semantics") only:

* a direct dense-integer simulation of the un-partitioned Graph, written here, gives the
  spikes of every neuron in every step, whatever the partitioning, placement or chip;
* synops = sum over sources of (non-zero values or spikes) x fan-out from the Graph's weights;
* hops = sum over spikes of the XY distance to every core holding one of the neuron's targets,
  and the sum of per-link packets equals the hops;
* the compiler's estimated hops (``program.mapping.est_hops``, every neuron firing once) equal
  the hops of a run in which every neuron fires exactly once.

Graphs: several seeded families of ``tests/mapping/netgen.py`` on small random chips, and a
converted network.
"""
from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.graph.nodes import Input
from tests.mapping.netgen import FAMILIES, small_chip


# ---- the chip's arithmetic, from the README's "Fixed-point semantics" -----------------------------
def _trunc(p: np.ndarray, k: int) -> np.ndarray:
    return np.where(p >= 0, p >> k, -((-p) >> k))  # toward zero


def _limit(x: np.ndarray, bits: int, rule: str) -> np.ndarray:
    h = 1 << (bits - 1)
    if rule == "saturate":
        return np.minimum(np.maximum(x, -(h - 1)), h - 1)
    return x - (1 << bits) * np.ceil((x - h) / (1 << bits)).astype(np.int64)  # into (-h, h]


def _params(model, n: int, unity: int) -> dict[str, np.ndarray]:
    """The documented meaning of each neuron model's fields (IF: du = unity - 1, dv = 0, no refractory)."""
    get = {f: np.broadcast_to(np.asarray(getattr(model, f, 0), np.int64), (n,))
           for f in ("vth", "bias_mant", "bias_exp", "v0")}
    if isinstance(model, nc.IF):
        get.update(du=np.full(n, unity - 1), dv=np.zeros(n, np.int64), refractory=np.zeros(n, np.int64),
                   u0=np.zeros(n, np.int64))
    else:
        get.update({f: np.broadcast_to(np.asarray(getattr(model, f), np.int64), (n,))
                    for f in ("du", "dv", "refractory", "u0")})
    get["subtract"] = np.full(n, model.reset == "subtract")
    return get


def dense_simulation(g: nc.Graph, chip, x: np.ndarray) -> np.ndarray:
    """Spikes (batch, n_steps, N) of ``g`` on ``chip``: one dense int64 matrix per projection, no Program."""
    pops, ins = g.populations, g.inputs
    off = dict(zip([p.name for p in pops], np.cumsum([0] + [p.n for p in pops])))
    chan = dict(zip([i.name for i in ins], np.cumsum([0] + [i.n for i in ins])))
    N, (B, T, _) = sum(p.n for p in pops), x.shape
    unity = 1 << chip.decay_bits
    prm = [_params(p.neuron, p.n, unity) for p in pops]
    P = {k: np.concatenate([q[k] for q in prm]) for k in prm[0]}
    bias, vth = P["bias_mant"] << P["bias_exp"], P["vth"] << chip.vth_shift
    D = max([pr.delay for pr in g.projections.values()], default=0) + 1
    arriving = np.zeros((T + D, B, N), np.int64)   # input arriving at each step
    u, v = np.broadcast_to(P["u0"], (B, N)).copy(), np.broadcast_to(P["v0"], (B, N)).copy()
    held = np.zeros((B, N), np.int64)
    spikes = np.zeros((B, T, N), bool)

    def send(pr, values, t):
        w = pr.weights.toarray().astype(np.int64) * (1 << (chip.act_shift + pr.weight_exp))   # (n_dst, n_src)
        d0 = off[pr.dst]
        arriving[t + pr.delay, :, d0: d0 + w.shape[0]] += values.astype(np.int64) @ w.T

    for t in range(T):
        for pr in g.projections.values():
            if isinstance(g.nodes[pr.src], Input):
                c0 = chan[pr.src]
                send(pr, x[:, t, c0: c0 + pr.weights.shape[1]], t)
        u = _limit(_trunc(u * (unity - (P["du"] + 1)), chip.decay_bits) + arriving[t], chip.u_bits, chip.u_overflow)
        vn = _limit(_trunc(v * (unity - P["dv"]), chip.decay_bits) + u + bias, chip.v_bits, chip.v_overflow)
        fire = (vn > vth) & (held == 0)
        v = np.where(held > 0, v, np.where(fire, np.where(P["subtract"], vn - vth, 0), vn))
        held = np.where(held > 0, held - 1, np.where(fire, P["refractory"], 0))
        spikes[:, t] = fire
        for pr in g.projections.values():
            if not isinstance(g.nodes[pr.src], Input):
                s0 = off[pr.src]
                send(pr, fire[:, s0: s0 + pr.weights.shape[1]], t)
    return spikes


# ---- routes and fan-out, from the Graph and the placement -----------------------------------------
def fan_out(g: nc.Graph) -> tuple[np.ndarray, np.ndarray]:
    """Synapses per source neuron (N,) and per input channel (C,), from the Graph's weight matrices."""
    pops, ins = g.populations, g.inputs
    off = dict(zip([p.name for p in pops], np.cumsum([0] + [p.n for p in pops])))
    chan = dict(zip([i.name for i in ins], np.cumsum([0] + [i.n for i in ins])))
    out_n, out_c = np.zeros(sum(p.n for p in pops), np.int64), np.zeros(sum(i.n for i in ins), np.int64)
    for pr in g.projections.values():
        per_src = np.bincount(pr.weights.indices, minlength=pr.weights.shape[1])   # stored synapses per column
        target, base = (out_c, chan[pr.src]) if isinstance(g.nodes[pr.src], Input) else (out_n, off[pr.src])
        target[base: base + per_src.size] += per_src
    return out_n, out_c


def neuron_slots(program) -> np.ndarray:
    """Core slot of every neuron, from the partition's pieces (not the Program's arrays)."""
    slot = np.full(program.n_neurons, -1, np.int64)
    for pm in program.populations.values():
        for i, (s, _, _) in enumerate(pm.pieces):
            slot[pm.offset + pm.piece_neurons(i)] = s
    assert (slot >= 0).all()
    return slot


def hops_per_neuron(g: nc.Graph, program) -> np.ndarray:
    """Per source neuron: the XY hops of one packet to every core that holds one of its targets."""
    chip, slot = program.chip, neuron_slots(program)
    xy = np.array([chip.core_xy(int(c)) for c in program.core_ids])
    off = {pm.name: pm.offset for pm in program.populations.values()}
    dest: dict[int, set[int]] = {}
    for pr in g.projections.values():
        if isinstance(g.nodes[pr.src], Input):
            continue
        coo = pr.weights.tocoo()
        for s, d in zip(coo.col + off[pr.src], coo.row + off[pr.dst]):
            dest.setdefault(int(s), set()).add(int(slot[d]))
    hops = np.zeros(program.n_neurons, np.int64)
    for s, cores in dest.items():
        hops[s] = sum(int(np.abs(xy[slot[s]] - xy[c]).sum()) for c in cores)
    return hops


def _spikes(result, program) -> np.ndarray:
    return np.concatenate([result.probes[p]["spikes"] for p in program.populations], axis=2).astype(bool)


def check_independently(g: nc.Graph, chip, x: np.ndarray, samples=None, **compile_kw):
    """Compile and run ``g``; check spikes, synops, hops and link packets against the Graph alone.

    ``x`` is the (batch, n_steps, channels) integer input; a converted graph's Simulator takes the
    float ``samples`` its codec encodes into ``x``.
    """
    program = nc.compile(g, chip, **compile_kw)
    r = nc.Simulator(program).run(x if samples is None else samples, n_steps=x.shape[1],
                                  probes={p: ["spikes"] for p in program.populations}, n_threads=1)
    spikes = _spikes(r, program)
    assert_array_equal(spikes, dense_simulation(g, chip, x), err_msg="spikes differ from the dense Graph run")
    fo_n, fo_c = fan_out(g)
    counts = spikes.sum(axis=1)
    assert_array_equal(r.counters["synops"], counts @ fo_n + (x != 0).sum(axis=1) @ fo_c, err_msg="synops")
    hops = r.counters["hops_ew"] + r.counters["hops_ns"]
    assert_array_equal(hops, counts @ hops_per_neuron(g, program), err_msg="hops")
    assert int(r.link_packets.sum()) == int(hops.sum()), "per-link packets must add up to the hops"
    return program, r


def _inputs(rng, g, T=10, B=2, p=0.4):
    return (rng.random((B, T, g.n_inputs)) < p).astype(np.int32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_random_graphs_against_the_graph_alone(family, seed):
    rng = np.random.default_rng(100 + seed)
    chip = small_chip(rng)
    g = FAMILIES[family](rng)
    placement = ("in_order", "greedy", "anneal")[seed]
    program, r = check_independently(g, chip, _inputs(rng, g), placement=placement, seed=seed)
    assert r.counters["spikes"].sum() > 0, "the check needs spikes to mean anything"


@pytest.mark.parametrize("family", ["dense_chain", "conv_stack", "residual"])
def test_result_does_not_depend_on_partitioning_or_chip(family):
    """The same Graph on three chips (different core sizes, meshes, boards) spikes identically."""
    rng = np.random.default_rng(7)
    g = FAMILIES[family](rng)
    x = _inputs(rng, g, T=8)
    want = dense_simulation(g, nc.chip.loihi(), x)
    assert want.any()
    seen = set()
    for chip, kw in ((nc.chip.loihi(), {}), (small_chip(rng), {"placement": "anneal", "seed": 3}),
                     (small_chip(rng, neurons_per_core=24, syn_mem_bits_per_core=64 * 512, axons_in_per_core=256),
                      {"packing": "stream"})):
        program, r = check_independently(g, chip, x, **kw)
        assert_array_equal(_spikes(r, program), want)
        seen.add(program.n_cores_used)
    assert len(seen) > 1, "the chips should partition the graph differently"


def fire_once(g: nc.Graph, refractory: int) -> nc.Graph:
    """``g``'s topology with neurons that fire in step 0 (bias above threshold) and are then held."""
    out = nc.Graph()
    for node in g.nodes.values():
        if isinstance(node, Input):
            out.input(node.n, name=node.name)
        else:
            out.population(node.n, nc.CubaLIF(du=0, dv=0, vth=1, bias_mant=100, refractory=refractory),
                           name=node.name)
    for name, pr in g.projections.items():
        out.connect(pr.src, pr.dst, weights=pr.weights, weight_exp=pr.weight_exp, delay=pr.delay, name=name)
    return out


@pytest.mark.parametrize("placement", ["in_order", "greedy", "anneal"])
@pytest.mark.parametrize("family", ["recurrent_delays", "fan_out", "residual"])
def test_estimated_hops_are_the_hops_when_every_neuron_fires_once(family, placement):
    rng = np.random.default_rng(11)
    chip = small_chip(rng)
    g = fire_once(FAMILIES[family](rng), refractory=20)
    x = np.zeros((1, 6, g.n_inputs), np.int32)
    program, r = check_independently(g, chip, x, placement=placement, seed=5)
    assert_array_equal(r.counters["spikes"], [program.n_neurons])   # each neuron exactly once
    est = program.mapping.est_hops
    assert est > 0
    assert int(r.counters["hops_ew"][0] + r.counters["hops_ns"][0]) == est
    assert int(hops_per_neuron(g, program).sum()) == est


def test_converted_network_against_the_graph_alone():
    rng = np.random.default_rng(5)
    layers = [{"type": "conv2d", "weight": rng.normal(0, 0.4, (3, 1, 3, 3)), "bias": np.zeros(3), "padding": 1},
              {"type": "relu"}, {"type": "avgpool2d", "kernel_size": 2}, {"type": "flatten"},
              {"type": "dense", "weight": rng.normal(0, 0.3, (5, 48)), "bias": rng.normal(0, 0.05, 5)}]
    X = rng.random((30, 1, 8, 8))
    snn = nc.convert(layers, calibration=X)
    chip = small_chip(rng, neurons_per_core=32, syn_mem_bits_per_core=64 * 1024, axons_in_per_core=256)
    x = snn.meta["codec"].encode(X[:3], 12)
    for storage in ("expanded", "shared"):
        program, r = check_independently(snn, chip, x, X[:3], placement="anneal", conv_storage=storage)
        assert r.counters["spikes"].min() > 0 and program.n_cores_used > 1
