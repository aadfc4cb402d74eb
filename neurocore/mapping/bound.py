"""A proven lower bound on the cores a network needs, from the resources that bind.

Every core has four budgets (:class:`~neurocore.chip.ChipSpec`): neurons, input
axons, output routes and synapse memory in bits. Whatever the partition, the
whole network needs at least

* every neuron once: ``sum n``;
* every input axon once: one row per (source, projection) with a synapse, on at
  least one core;
* every row's memory once, unsplit: splitting a row over cores repeats its
  header and its rounding to words, so the unsplit size (``row_words``, or for a
  shared-kernel convolution one copy of each output channel's kernel slice plus
  the row headers and per-neuron index) never overstates;
* every sending neuron ``ceil(d / neurons_per_core)`` output routes, with ``d``
  its largest out-degree in one projection (its targets span at least that many
  cores).

So ``cores >= max over resources of ceil(total need / per-core budget)``: the
bound :func:`core_bound` returns, with the resource that sets it and each
layer's share, so an error can name the layers and limits that bind.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurocore.chip.spec import ChipSpec
from neurocore.graph.graph import Graph

__all__ = ["RESOURCES", "CoreBound", "LayerNeed", "core_bound"]

#: Per-core resources, in the order of :attr:`LayerNeed.need` (name, ChipSpec field).
RESOURCES = (("neurons", "neurons_per_core"), ("input axons", "axons_in_per_core"),
             ("output routes", "axons_out_per_core"), ("synapse memory bits", "syn_mem_bits_per_core"))


@dataclass(frozen=True)
class LayerNeed:
    """What one population needs at least, summed over its cores.

    need : (neurons, input axons, output routes, synapse bits), each a lower bound.
    cores : the same over the per-core budgets (fractional cores per resource).
    """

    name: str
    need: tuple[int, int, int, int]
    cores: tuple[float, float, float, float]

    @property
    def binding(self) -> str:
        """The resource this layer fills most."""
        return RESOURCES[int(np.argmax(self.cores))][0]


@dataclass(frozen=True)
class CoreBound:
    """``cores``: no partition uses fewer; ``binding``: the resource that sets it."""

    cores: int
    binding: str
    totals: tuple[int, int, int, int]
    layers: tuple[LayerNeed, ...]

    def per_layer(self, top: int = 4) -> str:
        """The ``top`` layers by cores on their binding resource, e.g. ``'d1' 82.1 cores of synapse memory bits``."""
        ranked = sorted(self.layers, key=lambda la: -max(la.cores))[:top]
        return ", ".join(f"'{la.name}' {max(la.cores):,.1f} cores of {la.binding}" for la in ranked)


def _routes_lb(graph: Graph, chip: ChipSpec) -> dict[str, int]:
    """Per population: sum over its neurons of ceil(largest out-degree in one projection / neurons_per_core)."""
    deg: dict[str, np.ndarray] = {p.name: np.zeros(p.n, np.int64) for p in graph.populations}
    for proj in graph.projections.values():
        if proj.src in deg and proj.weights.nnz:
            d = np.bincount(proj.weights.indices, minlength=deg[proj.src].shape[0])
            np.maximum(deg[proj.src], d, out=deg[proj.src])
    N = chip.neurons_per_core
    return {k: int((-(-d // N)).sum()) for k, d in deg.items()}


def _intrinsic(pop, projections: list, chip: ChipSpec, conv_storage: str) -> tuple[int, int, int]:
    """(neurons, input axons, synapse bits) of the whole population on one unbounded core: rows unsplit."""
    from neurocore.mapping.partition import is_shared, kernel_channel_bits, row_words

    ax = bits = 0
    any_shared = False
    for proj in projections:
        w = proj.weights
        nnz = np.bincount(w.indices, minlength=1) if w.nnz else np.zeros(1, np.int64)
        used = nnz[nnz > 0]
        ax += int(used.size)
        if is_shared(proj, conv_storage):
            any_shared = True
            bits += int(proj.meta["out_shape"][0]) * kernel_channel_bits(proj, chip)
            bits += int(used.size) * chip.syn_row_header_bits
        else:
            bits += int(row_words(used, chip).sum()) * chip.syn_word_bits
    if any_shared:
        bits += pop.n * chip.index_bits
    return pop.n, ax, bits


def core_bound(graph: Graph, chip: ChipSpec, conv_storage: str = "expanded") -> CoreBound:
    """The lower bound on cores described in the module docstring (linear time in synapses)."""
    routes = _routes_lb(graph, chip)
    budget = np.array([getattr(chip, f) for _, f in RESOURCES], float)
    into = {p.name: [] for p in graph.populations}
    for proj in graph.projections.values():
        into[proj.dst].append(proj)
    layers = []
    tot = np.zeros(4, np.int64)
    for pop in graph.populations:
        n, ax, bits = _intrinsic(pop, into[pop.name], chip, conv_storage)
        need = np.array([n, ax, routes[pop.name], bits], np.int64)
        tot += need
        layers.append(LayerNeed(pop.name, tuple(int(v) for v in need), tuple(float(v) for v in need / budget)))
    per = -(-tot // budget.astype(np.int64))
    j = int(np.argmax(per))
    return CoreBound(max(1, int(per[j])), RESOURCES[j][0], tuple(int(v) for v in tot), tuple(layers))
