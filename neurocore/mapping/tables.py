"""Synapse tables (CSR rows per destination core) and routes (packets per source)."""
from __future__ import annotations

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.mapping.partition import row_words

__all__ = ["build_tables"]


def build_tables(src: np.ndarray, dst: np.ndarray, w: np.ndarray, proj: np.ndarray, proj_shift: np.ndarray,
                 proj_delay: np.ndarray, neuron_core: np.ndarray, n_sources: int, chip: ChipSpec,
                 core_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Group synapses into rows and packets.

    Parameters
    ----------
    src, dst, w, proj : (n_syn,) arrays
        Source index (neurons first, then input channels), target neuron, weight mantissa, projection.
    proj_shift, proj_delay : (n_proj,) arrays
        ``act_shift + weight_exp`` and delay of each projection.
    neuron_core : (N,) core slot of each neuron.
    core_ids : (n_cores_used,) physical core of each slot.

    A row is one (source, destination core, projection); a packet one (source,
    destination core). Rows of a packet, and packets of a source, are contiguous.
    """
    n_neurons = neuron_core.shape[0]
    core = neuron_core[dst].astype(np.int64)
    order = np.lexsort((dst, proj, core, src))
    src, dst, w, proj, core = src[order], dst[order], w[order], proj[order], core[order]
    n = src.shape[0]
    new_row = np.ones(n, bool)
    if n:
        new_row[1:] = (src[1:] != src[:-1]) | (core[1:] != core[:-1]) | (proj[1:] != proj[:-1])
    row_first = np.flatnonzero(new_row)
    row_ptr = np.append(row_first, n).astype(np.int64)
    nnz = np.diff(row_ptr)
    r_src, r_core, r_proj = src[row_first], core[row_first], proj[row_first]
    first_t, last_t = dst[row_first], dst[row_ptr[1:] - 1] if n else dst[:0]
    row_start = np.where(last_t - first_t == nnz - 1, first_t, -1)

    new_pk = np.ones(row_first.shape[0], bool)
    if row_first.size:
        new_pk[1:] = (r_src[1:] != r_src[:-1]) | (r_core[1:] != r_core[:-1])
    pk_first = np.flatnonzero(new_pk)
    pk_row_ptr = np.append(pk_first, row_first.shape[0]).astype(np.int64)
    pk_src, pk_core = r_src[pk_first], r_core[pk_first]
    src_pk_ptr = np.zeros(n_sources + 1, np.int64)
    np.cumsum(np.bincount(pk_src, minlength=n_sources), out=src_pk_ptr[1:])

    # routes on the board's tile mesh
    tile_of_slot = core_ids.astype(np.int64) // chip.cores_per_tile
    dst_tile = tile_of_slot[pk_core]
    from_neuron = pk_src < n_neurons
    src_tile = np.full(pk_src.shape, -1, np.int64)
    src_tile[from_neuron] = tile_of_slot[neuron_core[pk_src[from_neuron]]]
    mx = chip.mesh_x
    sx, sy, dx, dy = src_tile % mx, src_tile // mx, dst_tile % mx, dst_tile // mx
    hops_ew = np.where(from_neuron, np.abs(sx - dx), 0)
    hops_ns = np.where(from_neuron, np.abs(sy - dy), 0)
    hops_chip = np.where(from_neuron, np.abs(sx // chip.tiles_x - dx // chip.tiles_x)
                         + np.abs(sy // chip.tiles_y - dy // chip.tiles_y), 0)
    i32 = np.int32
    return {
        "row_ptr": row_ptr, "target": dst.astype(i32), "weight": w.astype(np.int32),
        "wscaled": (w.astype(np.int64) << proj_shift[r_proj].repeat(nnz)).astype(i32),
        "row_shift": proj_shift[r_proj].astype(i32), "row_delay": proj_delay[r_proj].astype(i32),
        "row_core": r_core.astype(i32), "row_words": row_words(nnz, chip).astype(i32),
        "row_start": row_start.astype(i32), "row_proj": r_proj.astype(i32), "row_src": r_src.astype(i32),
        "src_pk_ptr": src_pk_ptr, "pk_core": pk_core.astype(i32), "pk_row_ptr": pk_row_ptr,
        "pk_rows": np.arange(row_first.shape[0], dtype=i32),
        "pk_src_tile": src_tile.astype(i32), "pk_dst_tile": dst_tile.astype(i32),
        "pk_hops_ew": hops_ew.astype(i32), "pk_hops_ns": hops_ns.astype(i32), "pk_hops_chip": hops_chip.astype(i32),
    }
