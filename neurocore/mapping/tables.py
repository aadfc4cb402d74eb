"""Synapse tables (CSR rows per destination core) and routes (packets per source).

Two steps, because rows and packets depend only on which core *slot* holds each
neuron, while hops depend on where each slot is placed:

* :func:`build_tables` groups synapses into rows and packets;
* :func:`build_routes` gives every packet its source and destination tile and
  its hops on the board's mesh (XY routing) for a placement ``core_ids``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec
from neurocore.mapping.partition import row_words, shared_row_words

__all__ = ["build_routes", "build_tables", "build_tables_csr"]


def build_tables(src: np.ndarray, dst: np.ndarray, w: np.ndarray, proj: np.ndarray, proj_shift: np.ndarray,
                 proj_delay: np.ndarray, neuron_core: np.ndarray, n_sources: int, chip: ChipSpec,
                 proj_shared: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Group synapses into rows and packets.

    Parameters
    ----------
    src, dst, w, proj : (n_syn,) arrays
        Source index (neurons first, then input channels), target neuron, weight mantissa, projection.
        Within one projection, synapses must come in ascending ``dst`` order (CSR order).
    proj_shift, proj_delay : (n_proj,) arrays
        ``act_shift + weight_exp`` and delay of each projection.
    neuron_core : (N,) core slot of each neuron.
    proj_shared : (n_proj,) bool, optional
        Projections stored as shared kernels (changes ``row_words``, see :mod:`.partition`).

    A row is one (source, destination core, projection); a packet one (source,
    destination core). Rows of a packet, and packets of a source, are contiguous.
    """
    n_proj = proj_shift.shape[0]
    k = int(neuron_core.max()) + 1 if neuron_core.size else 1
    core = neuron_core[dst].astype(np.int64)
    key = (src.astype(np.int64) * k + core) * max(n_proj, 1) + proj
    order = np.argsort(key, kind="stable")  # stable: keeps ascending dst within a row
    src, dst, w, proj, core = src[order], dst[order], w[order], proj[order], core[order]
    key = key[order]
    n = src.shape[0]
    new_row = np.ones(n, bool)
    if n:
        new_row[1:] = key[1:] != key[:-1]
    row_first = np.flatnonzero(new_row)
    row_ptr = np.append(row_first, n).astype(np.int64)
    nnz = np.diff(row_ptr)
    r_src, r_core, r_proj = src[row_first], core[row_first], proj[row_first]
    first_t, last_t = dst[row_first], dst[row_ptr[1:] - 1] if n else dst[:0]
    row_start = np.where(last_t - first_t == nnz - 1, first_t, -1)
    shared = np.zeros(max(n_proj, 1), bool) if proj_shared is None else np.asarray(proj_shared, bool)
    r_shared = shared[r_proj] if r_proj.size else np.zeros(0, bool)
    words = np.where(r_shared, shared_row_words(nnz, chip), row_words(nnz, chip))

    new_pk = np.ones(row_first.shape[0], bool)
    if row_first.size:
        new_pk[1:] = (r_src[1:] != r_src[:-1]) | (r_core[1:] != r_core[:-1])
    pk_first = np.flatnonzero(new_pk)
    pk_row_ptr = np.append(pk_first, row_first.shape[0]).astype(np.int64)
    pk_src, pk_core = r_src[pk_first], r_core[pk_first]
    src_pk_ptr = np.zeros(n_sources + 1, np.int64)
    np.cumsum(np.bincount(pk_src, minlength=n_sources), out=src_pk_ptr[1:])
    i32 = np.int32
    return {
        "row_ptr": row_ptr, "target": dst.astype(i32), "weight": w.astype(i32),
        "wscaled": (w.astype(np.int64) << proj_shift[r_proj].repeat(nnz)).astype(i32),
        "row_shift": proj_shift[r_proj].astype(i32), "row_delay": proj_delay[r_proj].astype(i32),
        "row_core": r_core.astype(i32), "row_words": words.astype(i32),
        "row_start": row_start.astype(i32), "row_proj": r_proj.astype(i32), "row_src": r_src.astype(i32),
        "row_shared": r_shared.astype(np.uint8),
        "src_pk_ptr": src_pk_ptr, "pk_core": pk_core.astype(i32), "pk_row_ptr": pk_row_ptr,
        "pk_rows": np.arange(row_first.shape[0], dtype=i32),
    }


def packet_sources(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """(P,) source index of every packet."""
    ptr = arrays["src_pk_ptr"]
    return np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr))


def build_routes(arrays: dict[str, np.ndarray], neuron_core: np.ndarray, core_ids: np.ndarray,
                 chip: ChipSpec, chan_core: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Tiles and hops of every packet for the placement ``core_ids`` (slot -> physical core).

    ``chan_core`` (C,) gives the core slot each input channel is sent from, -1 (the
    default for all) when the host injects it at its destination: source tile -1, no hops.
    """
    n_neurons = neuron_core.shape[0]
    pk_src, pk_core = packet_sources(arrays), arrays["pk_core"].astype(np.int64)
    tile_of_slot = chip.tile_of(core_ids)
    dst_tile = tile_of_slot[pk_core]
    src_slot = np.full(pk_src.shape, -1, np.int64)
    from_neuron = pk_src < n_neurons
    src_slot[from_neuron] = neuron_core[pk_src[from_neuron]]
    if chan_core is not None:
        src_slot[~from_neuron] = np.asarray(chan_core, np.int64)[pk_src[~from_neuron] - n_neurons]
    from_neuron = src_slot >= 0  # every packet sent from a core (neurons, inputs placed on cores)
    src_tile = np.where(from_neuron, tile_of_slot[np.maximum(src_slot, 0)], -1) if pk_src.size else src_slot
    ew, ns, chip_hops = chip.tile_hops(src_tile, dst_tile)
    hops_ew, hops_ns, hops_chip = (np.where(from_neuron, h, 0) for h in (ew, ns, chip_hops))
    i32 = np.int32
    return {"pk_src_tile": src_tile.astype(i32), "pk_dst_tile": dst_tile.astype(i32),
            "pk_hops_ew": hops_ew.astype(i32), "pk_hops_ns": hops_ns.astype(i32),
            "pk_hops_chip": hops_chip.astype(i32)}


def _projection_rows(w, dst_core: np.ndarray, src_off: int, dst_off: int, shift: int, out: tuple, at: int):
    """Group one projection's synapses by (source, destination core), targets ascending within a group.

    ``w`` (n_dst, n_src) CSR; ``dst_core`` (n_dst,) core slot of each destination neuron. The
    targets, weights and scaled weights are written into ``out`` = (target, weight, wscaled)
    from position ``at``; returns (row_first, row_src, row_core) of its rows, in (source, core)
    order: a counting sort by column (scipy's CSR -> CSC) after a stable sort of the
    destination rows by core, so nothing is sorted per synapse.
    """
    n_dst, n_src = w.shape
    perm = None
    if n_dst > 1 and np.any(dst_core[1:] < dst_core[:-1]):
        perm = np.argsort(dst_core, kind="stable")
    m = sp.csr_matrix((w.data.astype(np.int32), w.indices, w.indptr), shape=w.shape)
    if perm is not None:
        m = m[perm]
    sorted_core = dst_core if perm is None else dst_core[perm]
    c = m.tocsc()
    del m
    n = c.indices.shape[0]
    target, weight, wscaled = (x[at: at + n] for x in out)
    ecore = sorted_core[c.indices]
    new_row = np.ones(n, bool)
    if n:
        np.not_equal(ecore[1:], ecore[:-1], out=new_row[1:])
        new_row[c.indptr[:-1][np.diff(c.indptr) > 0]] = True
    row_first = np.flatnonzero(new_row)
    del new_row
    r_core = ecore[row_first].astype(np.int64)
    del ecore
    r_src = np.searchsorted(c.indptr, row_first, "right").astype(np.int64) - 1 + src_off
    if perm is None:
        np.add(c.indices, dst_off, out=target, casting="unsafe")
    else:
        np.take(perm, c.indices, out=target, mode="clip")  # int64 -> int32 per chunk
        target += np.int32(dst_off)
    weight[:] = c.data
    np.left_shift(c.data, np.int32(shift), out=wscaled)
    return row_first + at, r_src, r_core


def build_tables_csr(projections: list, neuron_core: np.ndarray, n_sources: int, chip: ChipSpec) -> dict:
    """:func:`build_tables` straight from the projections' CSR matrices, in linear memory.

    ``projections``: per projection ``(w, src_offset, dst_offset, shift, delay, shared)`` with ``w``
    the (n_dst, n_src) CSR weights. Gives the same arrays as :func:`build_tables` on the same
    synapses (tested), but never forms per-synapse source, projection or sort-key arrays: each
    projection is grouped by a counting sort straight into the output arrays, and only the
    *rows* of different projections are merged, by a sort on their (source, core, projection)
    keys (a gather of the synapses follows only if projections interleave in source order).
    """
    n_proj = len(projections)
    k = int(neuron_core.max()) + 1 if neuron_core.size else 1
    n_tot = int(sum(p[0].nnz for p in projections))
    out = tuple(np.empty(n_tot, np.int32) for _ in range(3))
    rs, rc, rj, rp, at = [], [], [], [], 0
    shift = np.array([p[3] for p in projections] or [0], np.int64)
    delay = np.array([p[4] for p in projections] or [0], np.int64)
    shared = np.array([bool(p[5]) for p in projections] or [False], bool)
    for j, (w, s0, d0, sh, _, _) in enumerate(projections):
        first, r_src, r_core = _projection_rows(w, neuron_core[d0: d0 + w.shape[0]], s0, d0, sh, out, at)
        at += w.nnz
        rp.append(first)
        rs.append(r_src)
        rc.append(r_core)
        rj.append(np.full(r_src.shape[0], j, np.int64))
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64))
    r_src, r_core, r_proj, r_first = cat(rs), cat(rc), cat(rj), cat(rp)
    del rs, rc, rj, rp
    nnz = np.diff(np.append(r_first, n_tot))
    key = (r_src * k + r_core) * max(n_proj, 1) + r_proj
    target, weight, wscaled = out
    if key.shape[0] > 1 and np.any(key[1:] < key[:-1]):
        order = np.argsort(key, kind="stable")
        r_src, r_core, r_proj, r_first, nnz = r_src[order], r_core[order], r_proj[order], r_first[order], nnz[order]
        idx = np.repeat(r_first - (np.cumsum(nnz) - nnz), nnz) + np.arange(n_tot)  # gather the rows in order
        target, weight, wscaled = target[idx], weight[idx], wscaled[idx]
        del idx
    del key
    row_ptr = np.zeros(nnz.shape[0] + 1, np.int64)
    np.cumsum(nnz, out=row_ptr[1:])
    return _finish_tables(target, weight, wscaled, row_ptr, r_src, r_core, r_proj, shift, delay, shared,
                          n_sources, chip)


def _finish_tables(target, weight, wscaled, row_ptr, r_src, r_core, r_proj, shift, delay, shared, n_sources,
                   chip: ChipSpec) -> dict:
    nnz = np.diff(row_ptr)
    n = target.shape[0]
    first_t = target[row_ptr[:-1]] if n else target[:0]
    last_t = target[row_ptr[1:] - 1] if n else target[:0]
    row_start = np.where(last_t.astype(np.int64) - first_t == nnz - 1, first_t, -1)
    r_shared = shared[r_proj] if r_proj.size else np.zeros(0, bool)
    words = np.where(r_shared, shared_row_words(nnz, chip), row_words(nnz, chip))
    R = r_src.shape[0]
    new_pk = np.ones(R, bool)
    if R:
        new_pk[1:] = (r_src[1:] != r_src[:-1]) | (r_core[1:] != r_core[:-1])
    pk_first = np.flatnonzero(new_pk)
    pk_row_ptr = np.append(pk_first, R).astype(np.int64)
    pk_src, pk_core = r_src[pk_first], r_core[pk_first]
    src_pk_ptr = np.zeros(n_sources + 1, np.int64)
    np.cumsum(np.bincount(pk_src, minlength=n_sources), out=src_pk_ptr[1:])
    i32 = np.int32
    return {
        "row_ptr": row_ptr, "target": target, "weight": weight, "wscaled": wscaled,
        "row_shift": shift[r_proj].astype(i32), "row_delay": delay[r_proj].astype(i32),
        "row_core": r_core.astype(i32), "row_words": words.astype(i32),
        "row_start": row_start.astype(i32), "row_proj": r_proj.astype(i32), "row_src": r_src.astype(i32),
        "row_shared": r_shared.astype(np.uint8),
        "src_pk_ptr": src_pk_ptr, "pk_core": pk_core.astype(i32), "pk_row_ptr": pk_row_ptr,
        "pk_rows": np.arange(R, dtype=i32),
    }
