"""Place pieces (core slots) on the board's cores so heavy traffic travels few hops.

The traffic between slots is a weighted graph: ``W[a, b]`` = expected packets
per step from slot ``a`` to slot ``b`` (one per (source neuron, destination
core) pair, weighted by the source's spike rate or, for ``traffic="synapses"``,
by the synapses the packet reaches). A placement's cost is
``sum W[a, b] * (hops(a, b) + interchip_cost * chip_hops(a, b))`` with hops the
XY (Manhattan) distance between the slots' tiles on the board mesh and
chip_hops the chip boundaries crossed. Cores of one tile are 0 hops apart.

Methods
-------
``in_order``  slot i on physical core i (cores numbered tile by tile, row-major over the board).
``greedy``    slots in order, each on the free tile that minimises its cost to the slots already placed.
``anneal``    the greedy placement improved by simulated annealing (moves to free cores and swaps).

``greedy`` and ``anneal`` are deterministic for a seed and never return a
placement whose cost exceeds in-order placement (they fall back to it).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError

__all__ = ["PLACEMENTS", "place", "place_in_order", "placement_cost"]

PLACEMENTS = ("in_order", "greedy", "anneal")


def place_in_order(n_pieces: int, chip: ChipSpec, names: list[str]) -> np.ndarray:
    """Piece i on physical core i (cores numbered tile by tile, row-major over the mesh)."""
    if n_pieces > chip.n_cores:
        raise MappingError(f"the network needs {n_pieces:,} cores ({', '.join(names)}); chip '{chip.name}' has "
                           f"{chip.n_cores:,}: use a board with more chips (chips_x, chips_y), lower "
                           f"weight_bits, use conv_storage='shared' for convolutions, or shrink the network")
    return np.arange(n_pieces, dtype=np.int32)


def placement_cost(W: sp.spmatrix, core_ids: np.ndarray, chip: ChipSpec) -> tuple[float, float]:
    """(hops, inter-chip hops) of the directed traffic ``W`` for the placement ``core_ids``."""
    coo = sp.coo_matrix(W)
    tile = chip.tile_of(core_ids)
    ew, ns, chops = chip.tile_hops(tile[coo.row], tile[coo.col])
    return float(coo.data @ (ew + ns)), float(coo.data @ chops)


def place(W: sp.spmatrix, chip: ChipSpec, method: str = "anneal", seed: int = 0, interchip_cost: float = 4.0,
          names: list[str] | None = None, moves: int | None = None) -> tuple[np.ndarray, dict]:
    """Physical core of every slot, and a report of the estimated hops.

    Parameters
    ----------
    W : (K, K) sparse, directed traffic between slots (packets per step).
    method : "in_order", "greedy" or "anneal".
    seed : seed of the annealer's random moves.
    interchip_cost : weight of one chip-to-chip hop relative to an on-chip hop in the objective.
    moves : annealing moves (default ``min(30_000, 150 * K)``).

    Returns
    -------
    core_ids : (K,) int32
    info : dict with ``method``, ``est_hops``, ``est_hops_chip``, ``est_hops_in_order``,
        ``est_hops_chip_in_order`` (all per step, for the traffic ``W``).
    """
    if method not in PLACEMENTS:
        raise MappingError(f"placement = {method!r}; choose one of {PLACEMENTS}")
    K = W.shape[0]
    base = place_in_order(K, chip, names or [])
    h0, c0 = placement_cost(W, base, chip)
    info = {"method": method, "seed": int(seed), "interchip_cost": float(interchip_cost),
            "est_hops_in_order": h0, "est_hops_chip_in_order": c0}
    best, best_cost = base, h0 + interchip_cost * c0
    if method != "in_order" and K > 1 and chip.n_cores > chip.cores_per_tile:
        S = sp.csr_matrix(W + W.T)
        S.setdiag(0)
        S.eliminate_zeros()
        cand = _greedy(S, chip, interchip_cost)
        if method == "anneal":
            cand = _anneal(S, chip, cand, interchip_cost, seed, moves if moves is not None else min(30_000, 150 * K))
        h, c = placement_cost(W, cand, chip)
        if h + interchip_cost * c < best_cost:
            best, best_cost = cand, h + interchip_cost * c
    h, c = placement_cost(W, best, chip)
    info.update(est_hops=h, est_hops_chip=c)
    return best.astype(np.int32), info


def _greedy(S: sp.csr_matrix, chip: ChipSpec, ic: float) -> np.ndarray:
    """Slots in order; each onto the free tile nearest (traffic-weighted) to its placed neighbours."""
    K = S.shape[0]
    tx, ty = chip.tile_grid()
    cx, cy = chip.chip_xy_of_tile(np.arange(tx.shape[0]))
    n_tiles = tx.shape[0]
    free = np.full(n_tiles, chip.cores_per_tile, np.int64)
    tile_of = np.full(K, -1, np.int64)
    core_ids = np.empty(K, np.int64)
    prev = 0
    for s in range(K):
        lo, hi = S.indptr[s], S.indptr[s + 1]
        nb, wt = S.indices[lo:hi], S.data[lo:hi]
        placed = tile_of[nb] >= 0
        nb_t, wt = tile_of[nb[placed]], wt[placed]
        # tie-break: nearest to the previous slot's tile, then lowest tile index
        cost = (np.abs(tx - tx[prev]) + np.abs(ty - ty[prev])) * 1e-6
        if nb_t.size:
            cost = cost + (np.abs(tx[:, None] - tx[nb_t]) + np.abs(ty[:, None] - ty[nb_t])
                           + ic * (np.abs(cx[:, None] - cx[nb_t]) + np.abs(cy[:, None] - cy[nb_t]))) @ wt
        cost[free == 0] = np.inf
        t = int(np.argmin(cost))
        core_ids[s] = t * chip.cores_per_tile + (chip.cores_per_tile - free[t])
        free[t] -= 1
        tile_of[s] = t
        prev = t
    return core_ids


def _anneal(S: sp.csr_matrix, chip: ChipSpec, start: np.ndarray, ic: float, seed: int, moves: int) -> np.ndarray:
    """Simulated annealing over tiles: move a slot to a free core, or swap two slots."""
    K = S.shape[0]
    if moves <= 0 or S.nnz == 0:
        return start
    rng = np.random.default_rng(seed)
    cpt, mx, my = chip.cores_per_tile, chip.mesh_x, chip.mesh_y
    tx, ty = chip.tile_grid()
    txl, tyl = tx.tolist(), ty.tolist()
    cxl, cyl = (c.tolist() for c in chip.chip_xy_of_tile(np.arange(tx.shape[0])))
    n_tiles = mx * my
    indptr, indices, data = S.indptr.tolist(), S.indices.tolist(), S.data.astype(float).tolist()
    adj = [list(zip(indices[indptr[s]:indptr[s + 1]], data[indptr[s]:indptr[s + 1]])) for s in range(K)]
    tile = (start // cpt).tolist()
    occupants: list[list[int]] = [[] for _ in range(n_tiles)]
    for s in range(K):
        occupants[tile[s]].append(s)

    def dist(a: int, b: int) -> float:
        return (abs(txl[a] - txl[b]) + abs(tyl[a] - tyl[b])
                + ic * (abs(cxl[a] - cxl[b]) + abs(cyl[a] - cyl[b])))

    def gain(s: int, t_new: int) -> float:
        t_old, d = tile[s], 0.0
        for nb, w in adj[s]:
            tn = tile[nb]
            d += w * (dist(t_new, tn) - dist(t_old, tn))
        return d

    # temperature: a fraction of the mean weighted edge length, cooled geometrically to ~0
    total = sum(w * dist(tile[s], tile[nb]) for s in range(K) for nb, w in adj[s]) / 2
    t0 = max(1e-9, 0.5 * total / max(1, S.nnz / 2))
    t_end = t0 * 1e-3
    alpha = (t_end / t0) ** (1.0 / moves)
    temp = t0
    r_slot = rng.integers(0, K, moves).tolist()
    r_kind = rng.random(moves).tolist()
    r_acc = rng.random(moves).tolist()
    r_off = rng.integers(-2, 3, (moves, 2)).tolist()
    r_any = rng.integers(0, n_tiles, moves).tolist()
    r_pick = rng.random(moves).tolist()
    cur = total
    best_cost, best_tile = cur, list(tile)
    for i in range(moves):
        a = r_slot[i]
        if r_kind[i] < 0.7 and adj[a]:
            nb = adj[a][int(r_pick[i] * len(adj[a]))][0]
            x = min(mx - 1, max(0, txl[tile[nb]] + r_off[i][0]))
            y = min(my - 1, max(0, tyl[tile[nb]] + r_off[i][1]))
            t = y * mx + x
        else:
            t = r_any[i]
        ta = tile[a]
        if t == ta:
            temp *= alpha
            continue
        occ = occupants[t]
        if len(occ) < cpt:
            b = -1
            delta = gain(a, t)
        else:
            b = occ[int(r_pick[i] * len(occ)) % len(occ)]
            delta = gain(a, t) + gain(b, ta)
            for nb, w in adj[a]:
                if nb == b:
                    delta += 2 * w * dist(ta, t)
                    break
        if delta <= 0 or r_acc[i] < math.exp(-delta / temp):
            occupants[ta].remove(a)
            occupants[t].append(a)
            tile[a] = t
            if b >= 0:
                occ.remove(b)
                occupants[ta].append(b)
                tile[b] = ta
            cur += delta
            if cur < best_cost - 1e-9:
                best_cost, best_tile = cur, list(tile)
        temp *= alpha
    # cores within each tile in slot order
    core_ids = np.empty(K, np.int64)
    fill = [0] * n_tiles
    for s in range(K):
        t = best_tile[s]
        core_ids[s] = t * cpt + fill[t]
        fill[t] += 1
    return core_ids
