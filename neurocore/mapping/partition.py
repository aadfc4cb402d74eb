"""Partition each population into core-sized pieces that respect every per-core limit.

Per-core limits checked (all from :class:`~neurocore.chip.ChipSpec`):

* ``neurons_per_core``: neurons in the piece;
* ``axons_in_per_core``: input axons = synapse rows the core holds, one per
  (presynaptic source, projection) that reaches any neuron of the piece (for a
  convolution piece: its input window with the halo, per incoming projection);
* ``syn_mem_bits_per_core``: synapse memory, see *memory model* below;
* ``axons_out_per_core``: output routes = (neuron, destination core) pairs, which
  depend on how the *destination* populations are split; checked after the
  in-constraints and repaired by splitting source pieces further (repeated until
  nothing changes, since splitting a piece can only add routes upstream).

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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Population

__all__ = ["CONV_STORAGE", "Partition", "is_shared", "partition", "row_words", "shared_row_words"]

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
    return (conv_storage == "shared" and proj.kind == "conv2d" and "kernel_shape" in proj.meta
            and "out_shape" in proj.meta)


def kernel_channel_bits(proj, chip: ChipSpec) -> int:
    """Bits of one output channel's kernel slice: (C_in/groups) * kh * kw weights."""
    return int(np.prod(proj.meta["kernel_shape"][1:])) * chip.weight_bits


@dataclass
class Partition:
    """How the network is split into cores.

    Populations are laid end to end in a *stream* (in graph order, each in its
    packing order) and the stream is cut into cores, so one core may hold the end
    of one population and the start of the next (small layers share cores).

    orders : {population: (n,) int64 or None}
        Packing order of each population: position -> neuron index (None: identity).
    order_names : {population: str}
        "chw" (as stored), "hwc" or "tile<T>" (position-major, channels innermost).
    starts : {population: int}
        Stream position of each population's first neuron.
    bounds : (K + 1,) int64
        Core ``k`` holds stream positions ``bounds[k] .. bounds[k + 1]``.
    """

    orders: dict
    order_names: dict
    starts: dict
    sizes: dict
    bounds: np.ndarray

    @property
    def n_cores(self) -> int:
        return int(self.bounds.shape[0] - 1)

    def core_of_stream(self) -> np.ndarray:
        """(N,) core of every stream position."""
        return np.repeat(np.arange(self.n_cores), np.diff(self.bounds))

    def neuron_core(self) -> np.ndarray:
        """(N,) core of every neuron, neurons numbered population by population in graph order."""
        cs = self.core_of_stream()
        out = np.empty_like(cs)
        for name, start in self.starts.items():
            n, order = self.sizes[name], self.orders[name]
            seg = cs[start: start + n]
            if order is None:
                out[start: start + n] = seg
            else:
                out[start + order] = seg
        return out

    def pieces(self, name: str) -> list[tuple[int, int, int]]:
        """(core, start, stop) of a population, in positions of its packing order."""
        start, n = self.starts[name], self.sizes[name]
        k0 = int(np.searchsorted(self.bounds, start, "right")) - 1
        out = []
        k = k0
        while k < self.n_cores and self.bounds[k] < start + n:
            lo, hi = max(int(self.bounds[k]), start), min(int(self.bounds[k + 1]), start + n)
            if hi > lo:
                out.append((k, lo - start, hi - start))
            k += 1
        return out


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


def _split_in(pop: Population, incoming: list[_Incoming], order: np.ndarray | None, chip: ChipSpec,
              used: tuple[int, int, int], raise_errors: bool):
    """Greedy cuts meeting the neuron, input-axon and memory limits.

    ``used`` = (neurons, axons, bits) already taken on the open core by earlier populations.
    Returns (cuts, used_after) where ``cuts`` are the population positions at which a new core
    starts (0 included if the population does not continue the open core), or None if a
    neuron cannot fit a core.
    """
    n, cap = pop.n, chip.neurons_per_core
    A, M = chip.axons_in_per_core, chip.syn_mem_bits_per_core
    cuts: list[int] = []
    lo, guess = 0, cap
    un, ua, ub = used
    while lo < n:
        room = min(cap - un, n - lo)
        L = min(room, max(8, guess))
        while True:
            if L <= 0:
                cum_ax = cum_bits = np.zeros(0, np.int64)
                m = 0
                break
            pos = np.arange(lo, lo + L)
            rows = pos if order is None else order[pos]
            if incoming:
                cum_ax, cum_bits = _window_needs(incoming, rows, chip)
            else:
                cum_ax = cum_bits = np.zeros(L, np.int64)
            m = min(L, int(np.searchsorted(cum_ax, A - ua, "right")), int(np.searchsorted(cum_bits, M - ub, "right")))
            if m < L or L == room:
                break
            L = min(room, 2 * L)
        if m == 0:
            if un > 0:  # the open core is full for this population: start a fresh core
                un, ua, ub = 0, 0, 0
                cuts.append(lo)
                continue
            if not raise_errors:
                return None
            neuron = int(rows[0])
            if cum_ax[0] > A:
                need = f"{int(cum_ax[0]):,} input axons; a core has {A:,}"
                fix = "split its fan-in over more neurons or use a chip with more input axons per core"
            else:
                need = f"{int(cum_bits[0]):,} synapse bits; a core has {M:,}"
                fix = ("lower weight_bits, use conv_storage='shared' for convolutions, or use a chip with more "
                       "synapse memory per core")
            raise MappingError(f"layer '{pop.name}': neuron {neuron} alone needs {need}: {fix}")
        lo += m
        if lo < n or m == room == cap - un:
            # the core is full (or this population ends exactly at its neuron limit)
            if lo < n:
                cuts.append(lo)
            un, ua, ub = 0, 0, 0
            if lo >= n:
                return cuts, (un, ua, ub), True
        else:
            un, ua, ub = un + m, ua + int(cum_ax[m - 1]), ub + int(cum_bits[m - 1])
        guess = 2 * m
    return cuts, (un, ua, ub), False


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


def partition(graph: Graph, chip: ChipSpec, conv_storage: str = "expanded") -> Partition:
    """Split the network into core-sized pieces; see :class:`Partition`.

    Raises :class:`MappingError` naming the layer, the limit, the need and the
    budget when one neuron alone does not fit a core.
    """
    if conv_storage not in CONV_STORAGE:
        raise MappingError(f"conv_storage = {conv_storage!r}; choose one of {CONV_STORAGE}")
    into = _incoming(graph, chip, conv_storage)
    orders, names, starts, sizes, bounds = {}, {}, {}, {}, [0]
    used, start = (0, 0, 0), 0
    for pop in graph.populations:
        best = None
        for name, order in _orders(pop.shape).items():
            res = _split_in(pop, into[pop.name], order, chip, used, raise_errors=best is None)
            if res is not None and (best is None or len(res[0]) < len(best[1][0])):
                best = (name, res, order)
        name, (cuts, used_after, closed), order = best
        orders[pop.name], names[pop.name], starts[pop.name], sizes[pop.name] = order, name, start, pop.n
        for c in cuts:
            if start + c != bounds[-1]:
                bounds.append(start + c)
        start += pop.n
        if closed and bounds[-1] != start:
            bounds.append(start)
        used = used_after
    if bounds[-1] != start:
        bounds.append(start)
    part = Partition(orders, names, starts, sizes, np.asarray(bounds, np.int64))
    _repair_out_axons(graph, chip, part)
    return part


# ---- output axons ------------------------------------------------------------------------
def out_routes(graph: Graph, part: Partition) -> np.ndarray:
    """(N,) output routes of every stream position = distinct destination cores its neuron reaches."""
    nc = part.neuron_core().astype(np.int64)
    K = part.n_cores
    pops = {p.name: p for p in graph.populations}
    keys = []
    for proj in graph.projections.values():
        if proj.src not in pops or proj.weights.nnz == 0:
            continue
        coo = proj.weights.tocoo()
        s0, d0 = part.starts[proj.src], part.starts[proj.dst]
        keys.append((coo.col.astype(np.int64) + s0) * K + nc[coo.row.astype(np.int64) + d0])
    N = nc.shape[0]
    if not keys:
        return np.zeros(N, np.int64)
    u = np.unique(np.concatenate(keys))
    per_neuron = np.bincount(u // K, minlength=N)  # by global neuron index
    out = np.empty(N, np.int64)
    for name, start in part.starts.items():
        n, order = part.sizes[name], part.orders[name]
        seg = per_neuron[start: start + n]
        out[start: start + n] = seg if order is None else seg[order]
    return out


def _repair_out_axons(graph: Graph, chip: ChipSpec, part: Partition) -> None:
    limit = chip.axons_out_per_core
    owner = {}
    for name, start in part.starts.items():
        owner[start] = name
    for _ in range(64):
        r = out_routes(graph, part)
        if r.max(initial=0) > limit:
            k = int(np.argmax(r))
            name = max((s, nm) for s, nm in owner.items() if s <= k)[1]
            pos = k - part.starts[name]
            neuron = pos if part.orders[name] is None else int(part.orders[name][pos])
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
