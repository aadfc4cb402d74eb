"""Partition each population into core-sized pieces that respect every per-core limit.

Per-core limits checked (all from :class:`~neurocore.chip.ChipSpec`):

* ``neurons_per_core``: neurons in the piece;
* ``axons_in_per_core``: input axons = synapse rows the core holds, one per
  (presynaptic source, projection) that reaches any neuron of the piece (for a
  convolution piece: its input window with the halo, per incoming projection);
* ``syn_mem_bits_per_core``: synapse memory, see *memory model* below;
* ``axons_out_per_core``: output routes = (neuron, destination core) pairs, which
  depend on how the *destination* populations are split. The cut is a search
  (:func:`_search`): each round packs with every neuron's routes from the previous
  round's partition as a fourth cumulative resource, then counts the true routes,
  until every core meets the limit (a fixed point over the layers). Splitting
  offending cores (the old repair) only finishes a search that does not converge.

A proven lower bound on the cores (:mod:`neurocore.mapping.bound`) ends the search
early when a packing comes within 1 % of it.

Memory model
------------
``expanded`` (default; any projection): each row (input axon) stores its
entries, ``weight_bits + index_bits`` each, plus a ``syn_row_header_bits``
header, rounded up to whole ``syn_word_bits`` words (as nengo-loihi accounts
Loihi's synapse memory). A delivery reads the whole row.

``shared`` (``compile(..., conv_storage="shared")``; conv2d projections only,
others stay expanded): the core holds one copy of the kernel slice of every
output channel it hosts, ``(C_in/groups) * kh * kw * weight_bits`` bits per
channel, plus per input axon a ``syn_row_header_bits`` header (the axon's
window position, from which the core's address generator derives the targets)
and per neuron ``index_bits`` (its output position). A delivery of a row with
``k`` targets reads ``ceil((header + k * weight_bits) / syn_word_bits)`` words:
the weights it uses, no target indices. Results never depend on the storage.

Partitioning is greedy and vectorized: from the first unplaced neuron, the
largest run that fits is found from cumulative needs computed for a window of
candidate neurons at once (first occurrence of each source gives the axon and
header counts; the rank of an entry within its row gives the word increments).
Convolution outputs are packed in one of a few neuron orders (channels-first as
stored, or position-major / spatially tiled with channels innermost, so a piece
sees a small input window); the order that gives the fewest pieces is kept.

Packing
-------
``stream`` lays the populations end to end in graph order and cuts the stream
into cores. Each core then fills only along the resource that binds for its
layer: a convolution with few input channels fills the neurons and leaves most
synapse memory empty, the next, wider one fills the memory and leaves neurons
idle (LeNet-5 expanded on Loihi: 11 cores where 8 is the lower bound).
``balanced`` (:func:`_balanced`) fills each core from the head of the stream and
from a few later layers with complementary needs, so both resources fill (9
cores). ``auto`` (default) runs both and keeps the one with fewer cores (the
stream cut, whose cores hold consecutive layers only, on a tie). Every run any
core gets of a population is a contiguous range of that population's packing
order, and each core holds at most one run per population.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Population

__all__ = ["CONV_STORAGE", "PACKINGS", "Partition", "is_shared", "partition", "row_words", "shared_row_words"]

#: Storage modes of convolution weights.
CONV_STORAGE = ("expanded", "shared")


def row_words(nnz: np.ndarray, chip: ChipSpec) -> np.ndarray:
    """Synapse-memory words a row of ``nnz`` entries occupies: header + entries, rounded up to words."""
    bits = chip.syn_row_header_bits + np.asarray(nnz, np.int64) * chip.synapse_bits
    return -(-bits // chip.syn_word_bits)


def shared_row_words(nnz: np.ndarray, chip: ChipSpec) -> np.ndarray:
    """Words one delivery of a shared-kernel row reads: header + the ``nnz`` weights it applies."""
    bits = chip.syn_row_header_bits + np.asarray(nnz, np.int64) * chip.weight_bits
    return -(-bits // chip.syn_word_bits)


def is_shared(proj, conv_storage: str) -> bool:
    """Whether ``proj`` is stored as a shared kernel under ``conv_storage``."""
    return conv_storage == "shared" and proj.kind == "conv2d" and getattr(proj, "conv", None) is not None


def kernel_channel_bits(proj, chip: ChipSpec) -> int:
    """Bits of one output channel's kernel slice: (C_in/groups) * kh * kw weights."""
    return int(np.prod(proj.conv.kernel_shape[1:])) * chip.weight_bits


@dataclass
class Partition:
    """How the network is split into cores.

    The neurons are laid out in a *stream*: a sequence of ``segments``, each a run
    of packing positions ``lo .. hi`` of one population, and the stream is cut into
    cores, so one core may hold runs of several populations (small layers share
    cores; a neuron-heavy and a memory-heavy layer may share one). Every
    population's runs appear in increasing position order.

    orders : {population: (n,) int64 or None}
        Packing order of each population: position -> neuron index (None: identity).
    order_names : {population: str}
        "chw" (as stored), "hwc" or "tile<T>" (position-major, channels innermost).
    starts : {population: int}
        Global index of each population's first neuron (graph order).
    sizes : {population: int}
    segments : [(population, lo, hi), ...]
        The stream, in order.
    bounds : (K + 1,) int64
        Core ``k`` holds stream positions ``bounds[k] .. bounds[k + 1]``.
    packing : str
        "stream" or "balanced": which packer produced it.
    """

    orders: dict
    order_names: dict
    starts: dict
    sizes: dict
    segments: list
    bounds: np.ndarray
    packing: str = "stream"

    @property
    def n_cores(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def core_of_stream(self) -> np.ndarray:
        """(N,) core of every stream position."""
        return np.repeat(np.arange(self.n_cores), np.diff(self.bounds))

    def stream_neurons(self) -> np.ndarray:
        """(N,) global neuron index of every stream position."""
        parts = []
        for name, lo, hi in self.segments:
            order = self.orders[name]
            idx = np.arange(lo, hi, dtype=np.int64) if order is None else np.asarray(order[lo:hi], np.int64)
            parts.append(idx + self.starts[name])
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def neuron_core(self) -> np.ndarray:
        """(N,) core of every neuron, neurons numbered population by population in graph order."""
        cs = self.core_of_stream()
        out = np.empty_like(cs)
        out[self.stream_neurons()] = cs
        return out

    def pieces(self, name: str) -> list[tuple[int, int, int]]:
        """(core, start, stop) of a population, in positions of its packing order (one run per core)."""
        out: list[list[int]] = []
        s = 0
        bounds = self.bounds
        for nm, lo, hi in self.segments:
            if nm == name:
                a = s
                k = int(np.searchsorted(bounds, a, "right")) - 1
                while a < s + hi - lo:
                    b = min(int(bounds[k + 1]), s + hi - lo)
                    p0, p1 = lo + a - s, lo + b - s
                    if out and out[-1][0] == k and out[-1][2] == p0:
                        out[-1][2] = p1
                    else:
                        out.append([k, p0, p1])
                    a, k = b, k + 1
            s += hi - lo
        return [tuple(p) for p in out]


@dataclass
class _Incoming:
    indptr: np.ndarray
    indices: np.ndarray
    shared: bool
    oc_of_row: np.ndarray | None  # output channel of each destination neuron (shared only)
    oc_bits: int                  # kernel bits of one output channel (shared only)


# ---- neuron orders for (C, H, W) populations ---------------------------------------------
def _orders(shape) -> dict[str, np.ndarray | None]:
    out: dict[str, np.ndarray | None] = {"chw": None}
    if shape is None or len(shape) != 3:
        return out
    c, h, w = (int(i) for i in shape)
    if c == 1 or h * w == 1:
        return out
    idx = np.arange(c * h * w).reshape(c, h, w)
    out["hwc"] = idx.transpose(1, 2, 0).ravel()
    for t in (2, 4):
        if h > t or w > t:
            tx = -(-w // t)
            yy, xx = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
            tile_id = (yy // t) * tx + (xx // t)
            within = (yy % t) * t + (xx % t)
            pos_rank = np.lexsort((within.ravel(), tile_id.ravel()))  # positions in tile order
            out[f"tile{t}"] = idx.reshape(c, h * w)[:, pos_rank].T.ravel()
    return out


# ---- cumulative needs of a window of candidate neurons ----------------------------------
def _window_needs(incoming: list[_Incoming], rows: np.ndarray, chip: ChipSpec) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative (input axons, synapse bits) of the pieces ``rows[:1], rows[:2], ...``."""
    L = rows.shape[0]
    d_ax = np.zeros(L, np.int64)
    d_bits = np.zeros(L, np.int64)
    any_shared = False
    h, b, wb = chip.syn_row_header_bits, chip.synapse_bits, chip.syn_word_bits
    for inc in incoming:
        starts, ends = inc.indptr[rows], inc.indptr[rows + 1]
        lens = ends - starts
        tot = int(lens.sum())
        if inc.shared:
            any_shared = True
            oc = inc.oc_of_row[rows]
            _, first = np.unique(oc, return_index=True)
            d_bits += np.bincount(first, minlength=L) * inc.oc_bits
        if tot == 0:
            continue
        pos = np.repeat(np.arange(L), lens)
        idx = np.arange(tot) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
        cols = inc.indices[idx]
        o = np.argsort(cols, kind="stable")
        sc = cols[o]
        first = np.empty(tot, bool)
        first[0] = True
        np.not_equal(sc[1:], sc[:-1], out=first[1:])
        p_sorted = pos[o]
        p_first = p_sorted[first]
        d_ax += np.bincount(p_first, minlength=L)
        if inc.shared:
            d_bits += np.bincount(p_first, minlength=L) * h
        else:
            gstart = np.maximum.accumulate(np.where(first, np.arange(tot), 0))
            rank = np.arange(tot) - gstart + 1
            # words(k) - words(k-1), with words(0) = 0
            inc_words = -(-(h + rank * b) // wb) - np.where(rank > 1, -(-(h + (rank - 1) * b) // wb), 0)
            d_bits += np.bincount(p_sorted, weights=inc_words, minlength=L).astype(np.int64) * wb
    if any_shared:
        d_bits += chip.index_bits
    return np.cumsum(d_ax), np.cumsum(d_bits)


def _needs(incoming: list[_Incoming], rows: np.ndarray, chip: ChipSpec,
           routes: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative (input axons, synapse bits, output routes) of the pieces ``rows[:1], rows[:2], ...``.

    ``routes``: estimated output routes of each neuron of the population (None: not counted).
    """
    L = rows.shape[0]
    if incoming:
        cum_ax, cum_bits = _window_needs(incoming, rows, chip)
    else:
        cum_ax = cum_bits = np.zeros(L, np.int64)
    cum_r = np.cumsum(routes[rows]) if routes is not None else np.zeros(L, np.int64)
    return cum_ax, cum_bits, cum_r


def _split_in(pop: Population, incoming: list[_Incoming], order: np.ndarray | None, chip: ChipSpec,
              used: tuple[int, int, int, int], raise_errors: bool, run_cap: int | None = None,
              routes: np.ndarray | None = None):
    """Greedy cuts meeting the neuron, input-axon, memory and (estimated) output-route limits.

    ``used`` = (neurons, axons, bits, routes) already taken on the open core by earlier
    populations; runs hold at most ``run_cap`` neurons; ``routes`` estimates each neuron's
    output routes (see :func:`_search`). A neuron whose estimate alone exceeds the limit
    still gets a core (the route check after partitioning reports it).
    Returns (cuts, used_after, closed) where ``cuts`` are the population positions at which
    a new core starts (0 included if the population does not continue the open core), or
    None if a neuron cannot fit a core.
    """
    n, cap, run_cap = pop.n, chip.neurons_per_core, max(1, int(run_cap or chip.neurons_per_core))
    A, M, R = chip.axons_in_per_core, chip.syn_mem_bits_per_core, chip.axons_out_per_core
    cuts: list[int] = []
    lo, guess = 0, min(cap, run_cap)
    un, ua, ub, ur = used
    while lo < n:
        room = min(cap - un, run_cap, n - lo)
        L = min(room, max(8, guess))
        while True:
            pos = np.arange(lo, lo + L)
            rows = pos if order is None else order[pos]
            cum_ax, cum_bits, cum_r = _needs(incoming, rows, chip, routes)
            m_in = min(L, int(np.searchsorted(cum_ax, A - ua, "right")),
                       int(np.searchsorted(cum_bits, M - ub, "right")))
            m = min(m_in, int(np.searchsorted(cum_r, R - ur, "right")))
            if m < L or L == room:
                break
            L = min(room, 2 * L)
        if m == 0:
            if un > 0:  # the open core is full for this population: start a fresh core
                un, ua, ub, ur = 0, 0, 0, 0
                cuts.append(lo)
                continue
            if m_in > 0:  # routes alone: one neuron per core, the route check decides
                m = 1
            elif not raise_errors:
                return None
            else:
                _neuron_too_big(pop, int(rows[0]), int(cum_ax[0]), int(cum_bits[0]), chip)
        lo += m
        if lo < n or m == cap - un:
            # the core is full (or this population ends exactly at its neuron limit)
            if lo < n:
                cuts.append(lo)
            un, ua, ub, ur = 0, 0, 0, 0
            if lo >= n:
                return cuts, (un, ua, ub, ur), True
        else:
            un, ua, ub, ur = un + m, ua + int(cum_ax[m - 1]), ub + int(cum_bits[m - 1]), ur + int(cum_r[m - 1])
        guess = 2 * m
    return cuts, (un, ua, ub, ur), False


def _neuron_too_big(pop: Population, neuron: int, ax: int, bits: int, chip: ChipSpec) -> None:
    A, M = chip.axons_in_per_core, chip.syn_mem_bits_per_core
    if ax > A:
        need = f"{ax:,} input axons; a core has {A:,}"
        fix = "split its fan-in over more neurons or use a chip with more input axons per core"
    else:
        need = f"{bits:,} synapse bits; a core has {M:,}"
        fix = ("lower weight_bits, use conv_storage='shared' for convolutions, or use a chip with more "
               "synapse memory per core")
    raise MappingError(f"layer '{pop.name}': neuron {neuron} alone needs {need}: {fix}")


def _incoming(graph: Graph, chip: ChipSpec, conv_storage: str) -> dict[str, list[_Incoming]]:
    into: dict[str, list[_Incoming]] = {p.name: [] for p in graph.populations}
    for proj in graph.projections.values():
        w = proj.weights
        shared = is_shared(proj, conv_storage)
        oc = oc_bits = None
        if shared:
            _, ho, wo = proj.meta["out_shape"]
            oc = np.arange(w.shape[0]) // (int(ho) * int(wo))
            oc_bits = kernel_channel_bits(proj, chip)
        into[proj.dst].append(_Incoming(w.indptr.astype(np.int64), w.indices.astype(np.int64), shared, oc,
                                        oc_bits or 0))
    return into


def partition(graph: Graph, chip: ChipSpec, conv_storage: str = "expanded", packing: str = "auto",
              caps: dict | int | None = None, search: bool = True, bound: int | None = None) -> Partition:
    """Split the network into core-sized pieces; see :class:`Partition`.

    ``packing``: "stream" cuts the populations, laid end to end in graph order, into
    cores; "balanced" fills each core from the next population in stream order *and*
    from a few later populations with complementary needs (see :func:`_balanced`);
    "auto" (default) computes both and keeps the one with fewer cores (the stream
    cut on a tie).

    ``caps`` limits the neurons of one population in one core (an int for every
    population, or ``{population: int}``); the chip's limit by default. With
    ``search`` (default) the caps are only a starting point: :func:`_search` lowers
    the cap of a population whose cores exceed the output-route limit until every
    core meets it (a fixed point over the layers). Without it, the old repair
    splits the offending cores instead (kept as the oracle the tests compare with).
    ``bound``: a lower bound on cores (:func:`neurocore.mapping.bound.core_bound`); a
    packing within 1 % of it ends the search (the others could gain at most that).

    Raises :class:`MappingError` naming the layer, the limit, the need and the
    budget when one neuron alone does not fit a core.
    """
    if conv_storage not in CONV_STORAGE:
        raise MappingError(f"conv_storage = {conv_storage!r}; choose one of {CONV_STORAGE}")
    if packing not in PACKINGS:
        raise MappingError(f"packing = {packing!r}; choose one of {PACKINGS}")
    pops = graph.populations
    N = chip.neurons_per_core
    if isinstance(caps, (int, np.integer)):
        caps = {p.name: int(caps) for p in pops}
    caps = {p.name: max(1, min(N, int((caps or {}).get(p.name, N)))) for p in pops}
    into = _incoming(graph, chip, conv_storage)
    first = _stream(graph, chip, into, caps)  # picks each population's packing order; raises if a neuron
    makers = {}                                 # alone does not fit a core
    if packing != "balanced":
        makers["stream"] = lambda c, r: _stream(graph, chip, into, c, r)
    if packing == "balanced" or (packing == "auto" and len(pops) > 1):
        for i, u in enumerate(_neuron_values(graph, chip, into)):
            makers[f"balanced{i}"] = (lambda c, r, u=u: _balanced(graph, chip, into, first.orders,
                                                                  first.order_names, u, c, r))
    best = None
    for name, make in makers.items():
        start = first if name == "stream" else None
        part = _search(graph, chip, make, caps, start) if search else _repaired(graph, chip, start or make(caps, None))
        if best is None or part.n_cores < best.n_cores:
            best = part
        if bound is not None and best.n_cores <= bound * _CLOSE_ENOUGH:
            break  # at most 1 % above the bound: no other packing can gain more than that
    return best


def _neuron_values(graph: Graph, chip: ChipSpec, into: dict[str, list[_Incoming]]) -> list[np.ndarray]:
    """Per-neuron values of each population for :func:`_balanced`: binding resources only, then all."""
    caps = np.array([chip.neurons_per_core, chip.axons_in_per_core, chip.syn_mem_bits_per_core], float)
    need = np.array([_intrinsic(p, into[p.name], chip) for p in graph.populations])
    ratio = need.sum(0) / caps  # per-resource lower bound on cores
    out, tried = [], []
    for w in (np.where(ratio >= 0.5 * ratio.max(), ratio, 0.0) ** 2, ratio):
        if any(np.allclose(w / w.sum(), t / t.sum()) for t in tried):
            continue
        tried.append(w)
        out.append((need / caps) @ w / np.maximum(need[:, 0], 1))
    return out


def _repaired(graph: Graph, chip: ChipSpec, part: Partition) -> Partition:
    _repair_out_axons(graph, chip, part)
    return part


#: A packing within this factor of the lower bound ends the search.
_CLOSE_ENOUGH = 1.01

#: Rounds of the output-route fixed point before the repair takes over.
_SEARCH_ROUNDS = 40


def _search(graph: Graph, chip: ChipSpec, make, caps: dict, start: Partition | None = None) -> Partition:
    """Cut every population against all four per-core limits at once: a fixed point over the layers.

    Neurons, input axons and synapse memory depend on the piece only, so every cut meets
    them exactly. Output routes depend on how the *destination* populations are cut, so
    each round packs with the routes every neuron needed in the previous round's partition
    as a fourth cumulative resource (the packers cut a run where its estimated routes
    would pass the limit), then counts the true routes. A round whose cores all meet the
    limit is the answer. Estimates only grow (the maximum over rounds), so rounds stop;
    after ``_SEARCH_ROUNDS`` without a fixed point the old repair (splitting offending
    cores) finishes the job.
    """
    part = start if start is not None else make(caps, None)
    R = chip.axons_out_per_core
    est = None
    for _ in range(_SEARCH_ROUNDS):
        r = out_routes(graph, part)
        if np.bincount(part.core_of_stream(), weights=r, minlength=part.n_cores).max(initial=0) <= R:
            return part
        per = np.zeros(r.shape[0], np.int64)
        per[part.stream_neurons()] = r
        new = {p.name: per[part.starts[p.name]: part.starts[p.name] + p.n] for p in graph.populations}
        est = new if est is None else {k: np.maximum(est[k], v) for k, v in new.items()}
        part = make(caps, est)
    return _repaired(graph, chip, part)


def _offsets(graph: Graph) -> tuple[dict, dict]:
    starts, sizes, off = {}, {}, 0
    for pop in graph.populations:
        starts[pop.name], sizes[pop.name] = off, pop.n
        off += pop.n
    return starts, sizes


def _stream(graph: Graph, chip: ChipSpec, into: dict[str, list[_Incoming]], caps: dict | None = None,
            routes: dict | None = None) -> Partition:
    """Populations end to end in graph order, each in the packing order that gives the fewest cuts.

    ``caps``: {population: most neurons of it in one core} (default: the chip's limit);
    ``routes``: {population: (n,) estimated output routes per neuron} (default: not counted).
    """
    orders, names, bounds = {}, {}, [0]
    starts, sizes = _offsets(graph)
    used, start = (0, 0, 0, 0), 0
    caps, routes = caps or {}, routes or {}
    for pop in graph.populations:
        best = None
        for name, order in _orders(pop.shape).items():
            res = _split_in(pop, into[pop.name], order, chip, used, raise_errors=best is None,
                            run_cap=caps.get(pop.name), routes=routes.get(pop.name))
            if res is not None and (best is None or len(res[0]) < len(best[1][0])):
                best = (name, res, order)
        name, (cuts, used_after, closed), order = best
        orders[pop.name], names[pop.name] = order, name
        for c in cuts:
            if start + c != bounds[-1]:
                bounds.append(start + c)
        start += pop.n
        if closed and bounds[-1] != start:
            bounds.append(start)
        used = used_after
    if bounds[-1] != start:
        bounds.append(start)
    segments = [(p.name, 0, p.n) for p in graph.populations]
    return Partition(orders, names, starts, sizes, segments, np.asarray(bounds, np.int64))


# ---- balanced packing ----------------------------------------------------------------------
#: Partition strategies.
PACKINGS = ("auto", "stream", "balanced")
_LOOKAHEAD_POPS = 4   # later populations a core may take runs from besides the stream head
_STEPS = 8            # amounts tried per refinement pass
_TOL = 0.005         # scores this close to the best count as ties (ties keep the stream order)


def _intrinsic(pop: Population, incoming: list[_Incoming], chip: ChipSpec) -> np.ndarray:
    """(neurons, input axons, synapse bits) of the whole population on one unbounded core."""
    ax = bits = 0
    any_shared = False
    for inc in incoming:
        nnz = np.bincount(inc.indices, minlength=1) if inc.indices.size else np.zeros(1, np.int64)
        used = nnz[nnz > 0]
        ax += int(used.size)
        if inc.shared:
            any_shared = True
            bits += int(np.unique(inc.oc_of_row).size) * inc.oc_bits + int(used.size) * chip.syn_row_header_bits
        else:
            bits += int(row_words(used, chip).sum()) * chip.syn_word_bits
    if any_shared:
        bits += pop.n * chip.index_bits
    return np.array([pop.n, ax, bits], float)


class _Cursor:
    """The unplaced tail of one population, with cumulative needs of a run from its head (cached)."""

    def __init__(self, pop: Population, incoming: list[_Incoming], order, chip: ChipSpec, cap: int | None = None,
                 routes: np.ndarray | None = None):
        self.name, self.n, self.inc, self.order, self.chip = pop.name, pop.n, incoming, order, chip
        self.cap = max(1, int(cap or chip.neurons_per_core))
        self.routes = routes
        self.pos, self.hint = 0, 8
        self.ax = self.bits = self.rt = np.zeros(0, np.int64)

    @property
    def left(self) -> int:
        return self.n - self.pos

    def _extend(self, L: int) -> None:
        pos = np.arange(self.pos, self.pos + L)
        rows = pos if self.order is None else self.order[pos]
        self.ax, self.bits, self.rt = _needs(self.inc, rows, self.chip, self.routes)

    def fit(self, rn: int, ra: int, rb: int, rr: int) -> int:
        """Longest run from the head within ``rn`` neurons, ``ra`` axons, ``rb`` bits and ``rr`` routes."""
        rn = min(rn, self.left, self.cap)
        if rn <= 0 or ra < 0 or rb < 0 or rr < 0:
            return 0
        while True:
            L = self.ax.shape[0]
            m = min(L, rn, int(np.searchsorted(self.ax, ra, "right")), int(np.searchsorted(self.bits, rb, "right")),
                    int(np.searchsorted(self.rt, rr, "right")))
            if m < L or L >= rn:
                return m
            self._extend(min(self.left, max(2 * L, self.hint, 8, min(rn, 64))))

    def fits_alone(self) -> bool:
        """Whether the head neuron fits an empty core on neurons, axons and memory (routes aside)."""
        if self.ax.shape[0] == 0:
            self._extend(1)
        return bool(self.ax[0] <= self.chip.axons_in_per_core and self.bits[0] <= self.chip.syn_mem_bits_per_core)

    def need(self, m: int) -> tuple[int, int, int]:
        return (int(self.ax[m - 1]), int(self.bits[m - 1]), int(self.rt[m - 1])) if m else (0, 0, 0)

    def take(self, m: int) -> None:
        self.pos += m
        self.hint = max(8, m)
        self.ax = self.bits = self.rt = np.zeros(0, np.int64)


def _best_run(curs: list[_Cursor], u: np.ndarray, i: int, others: list[int],
              res: tuple[int, int, int, int]) -> tuple[float, int] | None:
    """(score, length) of the best run of population ``i`` in the room ``res``, or None if none fits.

    A run of ``a`` neurons scores ``a * u[i]`` plus the best score of a single maximal
    run of one of ``others`` in the room it leaves. Lengths are searched on a grid of
    ``_STEPS`` refined around the best; among scores within ``_TOL`` of the best the
    longest run wins (keeps layers together).
    """
    c = curs[i]
    mmax = c.fit(*res)
    if mmax == 0:
        return None

    def score(a: int) -> float:
        ax, bits, rt = c.need(a)
        r = (res[0] - a, res[1] - ax, res[2] - bits, res[3] - rt)
        return a * u[i] + max((curs[d].fit(*r) * u[d] for d in others), default=0.0)

    lo, hi, tried = 1, mmax, {}
    while True:
        step = max(1, (hi - lo) // _STEPS)
        for a in range(hi, lo - 1, -step):
            if a not in tried:
                tried[a] = score(a)
        top = max(tried.values())
        ab = max(a for a, s in tried.items() if s >= top * (1 - _TOL))
        if step == 1 or not others:
            return tried[ab], ab
        lo, hi = max(1, ab - step), min(mmax, ab + step)


def _balanced(graph: Graph, chip: ChipSpec, into: dict[str, list[_Incoming]], orders: dict,
              order_names: dict, u: np.ndarray, caps: dict | None = None, routes: dict | None = None) -> Partition:
    """Fill cores one at a time from several populations so that no resource is left idle.

    A stream cut fills a core along its binding resource only: a convolution with few
    inputs fills the neurons and leaves most synapse memory empty, the next one fills the
    memory and leaves neurons idle. Here each core takes a run from the head of the stream
    (the first population with neurons left) and runs from up to ``_LOOKAHEAD_POPS`` later
    populations, choosing the run lengths that place the most *work*: a run of ``m``
    neurons of population ``p`` is worth ``m * u[p]``, where ``u[p]`` is ``p``'s intrinsic
    need per neuron (neurons, input axons, synapse bits, each over its per-core budget)
    weighted by how binding that resource is for the whole network (:func:`partition`
    tries the binding resources only, then all of them, weighted by total need / budget).
    Overheads of splitting a layer (row headers, halos) therefore cost room but earn
    nothing. Run lengths are searched on a coarse grid refined around the best, with a
    one-step lookahead (the best single run of another population in what remains).
    Needs are exact (cumulative over the run, as in the stream cut) and additive across
    populations (rows are per projection), so every core meets its limits.
    """
    pops = graph.populations
    caps, routes = caps or {}, routes or {}
    curs = [_Cursor(p, into[p.name], orders[p.name], chip, caps.get(p.name), routes.get(p.name)) for p in pops]
    N, A, M, R = chip.neurons_per_core, chip.axons_in_per_core, chip.syn_mem_bits_per_core, chip.axons_out_per_core

    segments, bounds, head = [], [0], 0
    while True:
        while head < len(curs) and curs[head].left == 0:
            head += 1
        if head == len(curs):
            break
        window = [i for i in range(head, len(curs)) if curs[i].left > 0][: _LOOKAHEAD_POPS + 1]
        res = (N, A, M, R)
        takes: dict[int, int] = {}
        while res[0] > 0:
            choosers = [head] if not takes else [i for i in window if i not in takes]
            cand = []  # (score, amount, population), populations in graph order
            for i in choosers:
                others = [d for d in window if d != i and d not in takes]
                best = _best_run(curs, u, i, others, res)
                if best is not None:
                    cand.append((*best, i))
            if not cand and not takes and curs[head].fits_alone():
                cand = [(0.0, 1, head)]  # its routes alone exceed the estimate: one neuron, the route check decides
            if not cand:
                break
            top = max(s for s, _, _ in cand)
            _, a, i = next(c for c in cand if c[0] >= top * (1 - _TOL))  # the earliest population near the best
            ax, bits, rt = curs[i].need(a)
            res = (res[0] - a, res[1] - ax, res[2] - bits, res[3] - rt)
            takes[i] = a
            curs[i].take(a)
        if not takes:  # pragma: no cover - the stream cut has checked that every neuron fits a core
            raise MappingError(f"layer '{curs[head].name}': balanced packing made no progress; report this as a bug")
        for i in sorted(takes):
            c = curs[i]
            segments.append((c.name, c.pos - takes[i], c.pos))
        bounds.append(bounds[-1] + sum(takes.values()))
    starts, sizes = _offsets(graph)
    merged: list[tuple[str, int, int]] = []
    for s in segments:
        if merged and merged[-1][0] == s[0] and merged[-1][2] == s[1]:
            merged[-1] = (s[0], merged[-1][1], s[2])
        else:
            merged.append(s)
    return Partition(dict(orders), dict(order_names), starts, sizes, merged, np.asarray(bounds, np.int64),
                     "balanced")


# ---- output axons ------------------------------------------------------------------------
def _core_pairs(w, dst_core: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (source column, destination core) pairs of one projection, sorted, without a per-synapse sort.

    Destination rows are put in core order (a stable sort over neurons), then scipy's CSR -> CSC
    conversion (a counting sort by column) lists each column's entries in that order, so a pair
    starts wherever the column or the core changes.
    """
    n_dst, n_src = w.shape
    m = sp.csr_matrix((np.ones(w.indices.shape[0], np.int8), w.indices, w.indptr), shape=w.shape)
    if n_dst > 1 and np.any(dst_core[1:] < dst_core[:-1]):
        perm = np.argsort(dst_core, kind="stable")
        m, dst_core = m[perm], dst_core[perm]
    c = m.tocsc()
    ecore = dst_core[c.indices]
    new = np.ones(ecore.shape[0], bool)
    if ecore.shape[0]:
        np.not_equal(ecore[1:], ecore[:-1], out=new[1:])
        new[c.indptr[:-1][np.diff(c.indptr) > 0]] = True
    first = np.flatnonzero(new)
    col = np.searchsorted(c.indptr, first, "right") - 1
    return col.astype(np.int64), ecore[first].astype(np.int64)


def out_routes(graph: Graph, part: Partition) -> np.ndarray:
    """(N,) output routes of every stream position = distinct destination cores its neuron reaches."""
    nc = part.neuron_core().astype(np.int64)
    K = max(1, part.n_cores)
    pops = {p.name: p for p in graph.populations}
    per_neuron = np.zeros(nc.shape[0], np.int64)
    by_src: dict[str, list] = {}
    for proj in graph.projections.values():
        if proj.src in pops and proj.weights.nnz:
            by_src.setdefault(proj.src, []).append(proj)
    for src, projs in by_src.items():
        pairs = [_core_pairs(p.weights, nc[part.starts[p.dst]: part.starts[p.dst] + p.weights.shape[0]])
                 for p in projs]
        if len(pairs) == 1:
            cols = pairs[0][0]
        else:
            cols = np.unique(np.concatenate([c * K + k for c, k in pairs])) // K
        s0, n = part.starts[src], pops[src].n
        per_neuron[s0: s0 + n] += np.bincount(cols, minlength=n)
    return per_neuron[part.stream_neurons()]


def _stream_owner(part: Partition, k: int) -> tuple[str, int]:
    """(population, neuron index) at stream position ``k``."""
    s = 0
    for name, lo, hi in part.segments:
        if k < s + hi - lo:
            pos = lo + k - s
            order = part.orders[name]
            return name, pos if order is None else int(order[pos])
        s += hi - lo
    raise IndexError(k)  # pragma: no cover


def _repair_out_axons(graph: Graph, chip: ChipSpec, part: Partition) -> None:
    """Split cores whose output routes exceed the limit (a subset of a core never needs more inputs)."""
    limit = chip.axons_out_per_core
    for _ in range(64):
        r = out_routes(graph, part)
        if r.max(initial=0) > limit:
            k = int(np.argmax(r))
            name, neuron = _stream_owner(part, k)
            raise MappingError(f"layer '{name}': neuron {neuron} alone needs {int(r[k]):,} output axons "
                               f"(routes to distinct cores); a core has {limit:,}: reduce its fan-out or use a "
                               "chip with more output axons per core")
        cum = np.concatenate([[0], np.cumsum(r)])
        new = [0]
        for lo, hi in zip(part.bounds[:-1].tolist(), part.bounds[1:].tolist()):
            a = lo
            while cum[hi] - cum[a] > limit:
                a = int(np.searchsorted(cum, cum[a] + limit, "right")) - 1
                new.append(a)
            new.append(hi)
        if len(new) == part.bounds.shape[0]:
            return
        part.bounds = np.asarray(new, np.int64)
    raise MappingError("output-axon repair did not converge; report this network as a bug")  # pragma: no cover


def piece_binding(graph: Graph, chip: ChipSpec, part: Partition, conv_storage: str = "expanded") -> dict:
    """{population: (resource, fraction)}: the per-core limit its fullest piece fills most, and how full.

    For error messages: neurons, input axons and synapse bits of each piece (alone, as if it had
    its core to itself) and the output routes of its neurons, over the chip's budgets.
    """
    into = _incoming(graph, chip, conv_storage)
    routes = out_routes(graph, part)
    per = np.zeros(routes.shape[0], np.int64)
    per[part.stream_neurons()] = routes
    names = ("neurons", "input axons", "synapse memory bits", "output routes")
    budget = np.array([chip.neurons_per_core, chip.axons_in_per_core, chip.syn_mem_bits_per_core,
                       chip.axons_out_per_core], float)
    out = {}
    for pop in graph.populations:
        order, best = part.orders[pop.name], np.zeros(4)
        for _, lo, hi in part.pieces(pop.name):
            rows = np.arange(lo, hi) if order is None else np.asarray(order[lo:hi])
            ax, bits, rt = _needs(into[pop.name], rows, chip, per[part.starts[pop.name]:][: pop.n])
            use = np.array([hi - lo, ax[-1], bits[-1], rt[-1]], float) / budget
            best = np.maximum(best, use)
        j = int(np.argmax(best))
        out[pop.name] = (names[j], float(best[j]))
    return out
