"""Splitter neurons: give every neuron exactly one target (TrueNorth).

On a chip with ``single_target=True`` (TrueNorth: each neuron's spike packet names one
axon on one core, Merolla et al., Science 345:668, 2014) a neuron whose synapses need
more than one physical axon -- targets on several cores, or one core's targets needing
several axon types (:mod:`neurocore.mapping.axontypes`) -- sends its spikes through
splitter (relay) neurons instead:

* the source neuron's only target is one axon of a core holding its relays; that axon
  reaches one relay per physical target (type 0, weight 1);
* relay ``r`` of target (projection j, destination core c, axon type t) carries exactly
  the synapses of j from this source onto core c that have type t: one target each;
* a relay is ``IF(vth=0, reset="zero")``: it fires in the step its source's spike
  arrives, once per spike, so it adds one step of latency and nothing else.

Timing: the source -> relay projection has delay 1; the relay -> destination projection
keeps the original delay ``d`` less one when ``d >= 2`` (the path's delay is then
unchanged and the network's function is preserved exactly); when ``d == 1`` it stays 1
and the path arrives **one step later** than in the original graph. When every
projection out of a layer is delayed alike (a converted feed-forward network) the
whole downstream network shifts by whole steps and the codec's ``latency`` is raised by
the shift of its output layer; paths of different shifts meeting at one population
(residual joins, recurrent loops through a split layer) change the network's dynamics,
and :attr:`SplitterInfo.shifted` lists them. The transformed Graph is what the chip
runs: the compiled program equals its NumPy reference bit for bit.

Populations are split whole: if any neuron of a population needs more than one
physical target, every projection out of it goes through relays (so its outgoing
paths stay aligned). Input channels are exempt (the host writes each input spike into
every axon that needs it). A projection that needs no relays but whose synapses use
several axon types is cut into one projection per type (same source, target, delay:
the same function), so its rows are the physical axons the partitioner counts.

Which core a destination neuron lands on depends on the partition of the transformed
graph, so :func:`neurocore.mapping.compile`
iterates: partition, insert relays for that partition, partition again, until every
neuron has one target (``SingleTargetError`` otherwise). The relay populations come
last in graph order and :func:`align_relays` cuts them into cores at source boundaries,
so all relays of one source share a core (the source's one target).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec
from neurocore.graph.graph import Graph
from neurocore.graph.neurons import IF
from neurocore.graph.nodes import Input, Population, Projection
from neurocore.errors import GraphError, SingleTargetError
from neurocore.mapping.axontypes import assign_axon_types
from neurocore.mapping.partition import Partition, partition, row_words

__all__ = ["SPLITTER_SUFFIX", "SplitterInfo", "align_relays", "graph_synapse_types", "insert_splitters"]

#: Name of the relay population of population P: ``P + SPLITTER_SUFFIX``.
SPLITTER_SUFFIX = ".splitter"


@dataclass
class SplitterInfo:
    """What :func:`insert_splitters` added.

    Attributes
    ----------
    relays : dict[str, int]
        Splitter neurons per split population (keyed by the source population).
    added_delay : dict[str, int]
        Steps each original projection's path gained (0 or 1).
    latency_shift : dict[str, int]
        Steps by which each population's input arrives later than in the original graph
        (longest shift over its incoming paths; recurrent projections not followed).
    shifted : list[str]
        Populations whose incoming paths gained different delays (their dynamics change).
    """

    relays: dict[str, int] = field(default_factory=dict)
    added_delay: dict[str, int] = field(default_factory=dict)
    latency_shift: dict[str, int] = field(default_factory=dict)
    shifted: list[str] = field(default_factory=list)

    @property
    def n_splitters(self) -> int:
        return int(sum(self.relays.values()))

    def to_dict(self) -> dict:
        return {"relays": dict(self.relays), "n_splitters": self.n_splitters, "added_delay": dict(self.added_delay),
                "latency_shift": dict(self.latency_shift), "shifted": list(self.shifted)}


def graph_synapse_types(graph: Graph, chip: ChipSpec) -> dict[str, np.ndarray]:
    """Axon type of every synapse, per projection, aligned with ``proj.weights.data`` (CSR order).

    A synapse's type depends only on its target neuron's set of distinct weights
    (:mod:`neurocore.mapping.axontypes`), never on the partition. Raises ``AxonTypeError``.
    """
    offs, off = {}, 0
    for pop in graph.populations:
        offs[pop.name], off = off, off + pop.n
    n_neurons = off
    soff, coff = dict(offs), n_neurons
    for node in graph.inputs:
        soff[node.name], coff = coff, coff + node.n
    names = [(soff[n.name], n.name) for n in list(graph.populations) + graph.inputs]
    tg, vals, srcs, sizes = [], [], [], []
    for proj in graph.projections.values():
        w = proj.weights
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        tg.append(offs[proj.dst] + rows)
        vals.append(w.data.astype(np.int64) << (chip.act_shift + proj.weight_exp))
        srcs.append(soff[proj.src] + w.indices.astype(np.int64))
        sizes.append(w.nnz)
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    n_syn = int(sum(sizes))
    arr = {"row_ptr": np.arange(n_syn + 1), "target": cat(tg), "wscaled": cat(vals), "row_src": cat(srcs)}

    def name_of(i: int) -> str:
        base, nm = max((b, nm) for b, nm in names if b <= i)
        return f"'{nm}'[{i - base}]"

    typing = assign_axon_types(arr, n_neurons, chip, name_of)
    out, k = {}, 0
    for proj, m in zip(graph.projections.values(), sizes):
        out[proj.name] = typing.syn_type[k: k + m].astype(np.int64)
        k += m
    return out


def insert_splitters(graph: Graph, chip: ChipSpec, core_of: dict[str, np.ndarray],
                     types: dict[str, np.ndarray] | None = None) -> tuple[Graph, SplitterInfo]:
    """The graph with splitter neurons, for destination neurons placed on cores ``core_of``.

    Parameters
    ----------
    graph : Graph
        The original network (no splitters).
    chip : ChipSpec
    core_of : dict
        Population name -> (n,) core slot of each of its neurons (from a compiled program).
    types : dict, optional
        :func:`graph_synapse_types` (computed if omitted).

    Returns
    -------
    (Graph, SplitterInfo)
        A new Graph sharing the original's node objects; ``meta["splitters"]`` holds the info
        and a codec's ``latency`` is raised by its output layer's shift.
    """
    types = graph_synapse_types(graph, chip) if types is None else types
    out_of: dict[str, list[Projection]] = {}
    for proj in graph.projections.values():
        out_of.setdefault(proj.src, []).append(proj)
    g = Graph()
    info = SplitterInfo()
    new_proj: list[Projection] = []
    replaced: dict[str, list[Projection]] = {}
    relay_nodes = []
    for node in graph.nodes.values():
        g.nodes[node.name] = node
    for node in graph.nodes.values():
        projs = out_of.get(node.name, [])
        if isinstance(node, Input) or not projs:
            continue
        relay = _relays(node, projs, core_of, types)
        if relay is None:
            continue
        r_name, n_r, into_r, outs = relay
        if r_name in graph.nodes:
            raise GraphError(f"population '{node.name}' needs splitter neurons, named '{r_name}', but the graph "
                             "already has a node of that name; rename it")
        r_pop = Population(r_name, n_r, neuron=IF(vth=0, reset="zero"))
        relay_nodes.append(r_pop)
        info.relays[node.name] = n_r
        new_proj.append(Projection(f"{r_name}.in", node.name, r_name, into_r, 0, 1, "sparse",
                                   {"dense_macs": n_r, "splitter_of": node.name}))
        replaced[node.name] = outs
    for r_pop in relay_nodes:  # last in graph order: the stream packer puts them at its tail (align_relays)
        g.nodes[r_pop.name] = r_pop
    for proj in graph.projections.values():
        if proj.src in replaced:
            continue
        new_proj.extend(_by_type(proj, types[proj.name]))
        info.added_delay[proj.name] = 0
    for outs in replaced.values():
        for proj, added in outs:
            new_proj.append(proj)
            info.added_delay[proj.name] = added
    g.projections = {p.name: p for p in new_proj}
    _shifts(graph, info)
    g.meta = dict(graph.meta)
    codec = graph.meta.get("codec")
    if codec is not None and dataclasses.is_dataclass(codec):
        shift = info.latency_shift.get(getattr(codec, "output", ""), 0)
        g.meta["codec"] = dataclasses.replace(codec, latency=codec.latency + shift)
    g.meta["splitters"] = info.to_dict()
    return g, info


def _relays(pop: Population, projs: list[Projection], core_of: dict, types: dict):
    """(name, n_relays, src->relay weights, [(relay->dst projection, added delay)]) or None if none needed."""
    keys = []
    for j, proj in enumerate(projs):
        w = proj.weights
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        core = np.asarray(core_of[proj.dst], np.int64)[rows]
        keys.append(np.stack([w.indices.astype(np.int64), np.full(w.nnz, j), core, types[proj.name]], axis=1))
    allk = np.concatenate(keys) if keys else np.zeros((0, 4), np.int64)
    uk, inv = np.unique(allk, axis=0, return_inverse=True)
    inv = inv.ravel()
    per_src = np.bincount(uk[:, 0], minlength=pop.n)
    if per_src.max(initial=0) <= 1:
        return None
    n_r = uk.shape[0]
    r_name = pop.name + SPLITTER_SUFFIX
    into = sp.csr_matrix((np.ones(n_r, np.int64), (np.arange(n_r), uk[:, 0])), shape=(n_r, pop.n))
    outs, k = [], 0
    for j, proj in enumerate(projs):
        w = proj.weights
        rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
        relay = inv[k: k + w.nnz]
        k += w.nnz
        m = sp.csr_matrix((w.data.copy(), (rows, relay)), shape=(w.shape[0], n_r))
        m.sort_indices()
        macs = int(proj.meta.get("dense_macs", w.shape[0] * w.shape[1] if proj.kind == "dense" else w.nnz))
        delay, added = (proj.delay - 1, 0) if proj.delay >= 2 else (1, 1)
        outs.append((Projection(proj.name, r_name, proj.dst, m, proj.weight_exp, delay, "sparse",
                                {"dense_macs": macs, "splitter_of": pop.name}), added))
    return r_name, n_r, into, outs


def _by_type(proj: Projection, types: np.ndarray) -> list[Projection]:
    """``proj`` cut into one projection per axon type its synapses use (the first keeps the name).

    Rows are per (source, core, projection), so each part's rows are the physical axons
    and the partitioner counts them; the sum of the parts is the original projection.
    """
    present = np.unique(types)
    if present.size <= 1:
        return [proj]
    w = proj.weights
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    parts = []
    for i, t in enumerate(present):
        keep = types == t
        m = sp.csr_matrix((w.data[keep], (rows[keep], w.indices[keep])), shape=w.shape)
        m.sort_indices()
        meta = dict(proj.meta) if i == 0 else {"dense_macs": 0, "type_part_of": proj.name}
        kind = "sparse" if proj.kind == "conv2d" else proj.kind
        meta.pop("kernel_shape", None)
        parts.append(Projection(proj.name if i == 0 else f"{proj.name}.type{int(t)}", proj.src, proj.dst, m,
                                proj.weight_exp, proj.delay, kind, meta))
    return parts


def _shifts(graph: Graph, info: SplitterInfo) -> None:
    recurrent = graph.recurrent_projections()
    shift = {n: 0 for n in graph.nodes}
    projs = [p for p in graph.projections.values() if p.name not in recurrent]
    for _ in range(len(graph.nodes)):
        changed = False
        for p in projs:
            s = shift[p.src] + info.added_delay.get(p.name, 0)
            if s > shift[p.dst]:
                shift[p.dst], changed = s, True
        if not changed:
            break
    info.latency_shift = {p.name: shift[p.name] for p in graph.populations}
    mixed = set()
    for p in graph.projections.values():
        s = shift[p.src] + info.added_delay.get(p.name, 0) if p.name not in recurrent else None
        if s is None or s != shift[p.dst]:
            if s is not None or info.added_delay.get(p.name, 0):
                mixed.add(p.dst)
    info.shifted = sorted(mixed)


def align_relays(parts: Partition, graph: Graph, chip: ChipSpec, conv_storage: str = "expanded",
                 packing: str = "auto", bound: int | None = None) -> Partition:
    """Re-cut the relay populations so that every source's relays share one core.

    The relay populations (``meta["splitters"]``, last in graph order) form the tail of a
    stream partition; their cores are cut again greedily at source boundaries only,
    within every per-core limit (neurons, input axons = distinct sources, output routes =
    one per relay, synapse memory by the row model of :mod:`.partition`). Raises
    ``SingleTargetError`` when one source needs more relays than a core holds.
    """
    relay_names = [r + SPLITTER_SUFFIX for r in graph.meta.get("splitters", {}).get("relays", {})]
    if not relay_names:
        return parts
    tail = [nm for nm, _, _ in parts.segments[-len(relay_names):]]
    if parts.packing != "stream" or sorted(tail) != sorted(relay_names):
        parts = partition(graph, chip, conv_storage, "stream", bound=bound)
    t0 = sum(hi - lo for nm, lo, hi in parts.segments[:-len(relay_names)])
    core = parts.neuron_core()
    srcs = []
    for nm, lo, hi in parts.segments[-len(relay_names):]:
        into = graph.projections[nm + ".in"].weights
        order = parts.orders[nm]
        pos = np.arange(lo, hi) if order is None else np.asarray(order[lo:hi])
        srcs.append((nm, into.indices[pos].astype(np.int64), _routes(graph, nm, core, parts)[pos]))
    cuts = _relay_cuts(srcs, chip)
    bounds = np.concatenate([parts.bounds[parts.bounds < t0], [t0], t0 + np.asarray(cuts[1:], np.int64)])
    return dataclasses.replace(parts, bounds=np.unique(bounds))


def _routes(graph: Graph, relay: str, core: np.ndarray, parts: Partition) -> np.ndarray:
    """(n_relay,) destination cores each relay reaches under ``parts`` (1 once the relays are settled)."""
    pairs = []
    for proj in graph.projections.values():
        if proj.src == relay:
            w = proj.weights.tocoo()
            pairs.append(np.stack([w.col.astype(np.int64), core[parts.starts[proj.dst] + w.row]], axis=1))
    n = graph[relay].n
    if not pairs:
        return np.zeros(n, np.int64)
    u = np.unique(np.concatenate(pairs), axis=0)
    return np.bincount(u[:, 0], minlength=n)


def _relay_cuts(srcs: list[tuple[str, np.ndarray, np.ndarray]], chip: ChipSpec) -> list[int]:
    """Greedy cut positions (0 .. total) of the relay stream, at source-run boundaries only."""
    runs = []  # (population, source, length, routes), in stream order
    for nm, s, r in srcs:
        if s.size:
            start = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
            lens = np.diff(np.append(start, s.size))
            rsum = np.add.reduceat(r, start)
            runs.extend((nm, int(s[a]), int(n), int(q)) for a, n, q in zip(start, lens, rsum))
    lim_n = chip.neurons_per_core
    cuts, n, ax, bits, rt, pos = [0], 0, 0, 0, 0, 0
    for nm, src, m, q in runs:
        b = int(row_words(np.asarray([m]), chip)[0]) * chip.syn_word_bits
        if m > lim_n or q > chip.axons_out_per_core or b > chip.syn_mem_bits_per_core:
            raise SingleTargetError(f"neuron '{nm[:-len(SPLITTER_SUFFIX)]}'[{src}] needs {m} splitter neurons, more "
                                    f"than one core holds ({lim_n}); a tree of splitters is not implemented: lower "
                                    "its fan-out")
        if (n + m > lim_n or ax + 1 > chip.axons_in_per_core or bits + b > chip.syn_mem_bits_per_core
                or rt + q > chip.axons_out_per_core):
            cuts.append(pos)
            n, ax, bits, rt = 0, 0, 0, 0
        n, ax, bits, rt, pos = n + m, ax + 1, bits + b, rt + q, pos + m
    cuts.append(pos)
    return cuts
