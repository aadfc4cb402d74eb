"""Synapse tables (CSR rows per destination core) and routes (packets per source).

Two steps, because rows and packets depend only on which core *slot* holds each
neuron, while hops depend on where each slot is placed:

* :func:`build_tables` groups synapses into rows and packets;
* :func:`build_routes` gives every packet its source and destination tile and
  its hops on the board's mesh (XY routing) for a placement ``core_ids``.
"""
from __future__ import annotations

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.mapping.partition import row_words, shared_row_words

__all__ = ["build_routes", "build_tables"]


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
    tile_of_slot = core_ids.astype(np.int64) // chip.cores_per_tile
    dst_tile = tile_of_slot[pk_core]
    src_slot = np.full(pk_src.shape, -1, np.int64)
    from_neuron = pk_src < n_neurons
    src_slot[from_neuron] = neuron_core[pk_src[from_neuron]]
    if chan_core is not None:
        src_slot[~from_neuron] = np.asarray(chan_core, np.int64)[pk_src[~from_neuron] - n_neurons]
    from_neuron = src_slot >= 0  # every packet sent from a core (neurons, inputs placed on cores)
    src_tile = np.where(from_neuron, tile_of_slot[np.maximum(src_slot, 0)], -1) if pk_src.size else src_slot
    mx = chip.mesh_x
    sx, sy, dx, dy = src_tile % mx, src_tile // mx, dst_tile % mx, dst_tile // mx
    hops_ew = np.where(from_neuron, np.abs(sx - dx), 0)
    hops_ns = np.where(from_neuron, np.abs(sy - dy), 0)
    hops_chip = np.where(from_neuron, np.abs(sx // chip.tiles_x - dx // chip.tiles_x)
                         + np.abs(sy // chip.tiles_y - dy // chip.tiles_y), 0)
    i32 = np.int32
    return {"pk_src_tile": src_tile.astype(i32), "pk_dst_tile": dst_tile.astype(i32),
            "pk_hops_ew": hops_ew.astype(i32), "pk_hops_ns": hops_ns.astype(i32),
            "pk_hops_chip": hops_chip.astype(i32)}
