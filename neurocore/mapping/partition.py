"""Partition each population into core-sized pieces that respect every per-core limit."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec
from neurocore.errors import MappingError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Population

__all__ = ["partition", "row_words"]


def row_words(nnz: np.ndarray, chip: ChipSpec) -> np.ndarray:
    """Synapse-memory words a row of ``nnz`` entries occupies: header + entries, rounded up to words."""
    bits = chip.syn_row_header_bits + np.asarray(nnz, np.int64) * chip.synapse_bits
    return -(-bits // chip.syn_word_bits)


def _piece_needs(incoming: list[sp.csr_matrix], lo: int, hi: int, chip: ChipSpec) -> tuple[int, int]:
    """(input axons, synapse bits) a piece holding neurons lo..hi of a population needs."""
    axons, words = 0, 0
    for w in incoming:
        sub = w[lo:hi]
        if sub.nnz == 0:
            continue
        counts = np.bincount(sub.indices, minlength=w.shape[1])
        counts = counts[counts > 0]
        axons += counts.size
        words += int(row_words(counts, chip).sum())
    return axons, words * chip.syn_word_bits


def partition(graph: Graph, chip: ChipSpec) -> dict[str, list[tuple[int, int]]]:
    """Split every population into pieces ``(start, stop)`` that fit one core each.

    Each piece is as large as the neuron, input-axon and synapse-memory limits
    allow (largest fitting size found by bisection). Raises :class:`MappingError`
    when even one neuron does not fit a core.
    """
    into: dict[str, list[sp.csr_matrix]] = {p.name: [] for p in graph.populations}
    for proj in graph.projections.values():
        into[proj.dst].append(proj.weights)
    pieces: dict[str, list[tuple[int, int]]] = {}
    for pop in graph.populations:
        pieces[pop.name] = _split(pop, into[pop.name], chip)
    return pieces


def _split(pop: Population, incoming: list[sp.csr_matrix], chip: ChipSpec) -> list[tuple[int, int]]:
    def fits(lo: int, hi: int) -> tuple[bool, str]:
        axons, bits = _piece_needs(incoming, lo, hi, chip)
        if axons > chip.axons_in_per_core:
            return False, f"{axons:,} input axons; a core has {chip.axons_in_per_core:,}"
        if bits > chip.syn_mem_bits_per_core:
            return False, f"{bits:,} synapse bits; a core has {chip.syn_mem_bits_per_core:,}"
        return True, ""

    out, lo = [], 0
    while lo < pop.n:
        hi = min(pop.n, lo + chip.neurons_per_core)
        ok, why = fits(lo, hi)
        if not ok:
            ok1, why1 = fits(lo, lo + 1)
            if not ok1:
                raise MappingError(
                    f"layer '{pop.name}': neuron {lo} alone needs {why1}: lower weight_bits, split its "
                    f"fan-in over more neurons, or use a chip with larger cores")
            good, bad = lo + 1, hi  # fits(good) holds, fits(bad) does not
            while bad - good > 1:
                mid = (good + bad) // 2
                if fits(lo, mid)[0]:
                    good = mid
                else:
                    bad = mid
            hi = good
        out.append((lo, hi))
        lo = hi
    return out
