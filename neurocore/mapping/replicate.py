"""Several copies of a small network on one chip, each simulated on a different sample.

``nc.compile(graph, chip, replicas=k)`` (or ``replicas="fill"``: as many copies as the
chip's cores hold; copies may share a core when the partitioner packs small layers together,
so "fill" grows the count until the cores are used or the copies stop fitting) compiles :func:`replicate` ``(graph, k)``: the graph's inputs,
populations and projections copied ``k`` times, replica 0 under the original names,
replica ``i`` under ``name@i``. The copies are placed like any network, so they share
the mesh's links and one barrier per step: congestion and sync are simulated, not
divided out afterwards.

Batch semantics (see :meth:`neurocore.sim.Simulator.run`): sample ``i`` of a batch of
``B`` runs on replica ``i % k`` in chip run ``i // k``; a run is one row of the kernel's
batch, so ``RunResult.counters`` and ``core_steps`` have ``ceil(B / k)`` rows, the last
run's spare replicas get zero input (and still cost their idle updates), and
``result.meta["samples"] = B``. ``result.predictions`` (a converted network) has one
entry per sample, in sample order; ``sample_spike_counts(result)`` gives each original
population's spike counts per sample. :func:`neurocore.energy.estimate` divides each
run's energy by the samples it carried.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import MappingError, SimulationError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Input

__all__ = ["replica_name", "replicate", "pack_inputs", "sample_spike_counts", "sample_view"]


def replica_name(name: str, i: int) -> str:
    """Name of ``name`` in replica ``i`` (replica 0 keeps the original)."""
    return name if i == 0 else f"{name}@{i}"


def replicate(graph: Graph, k: int) -> Graph:
    """``k`` independent copies of ``graph`` in one Graph; ``meta["replicas"]`` records the names.

    Raises
    ------
    MappingError
        ``k`` is not a positive int, or a name already contains ``@``.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise MappingError(f"replicas must be a positive int or 'fill', got {k!r}")
    clash = [n for n in list(graph.nodes) + list(graph.projections) if "@" in n]
    if k > 1 and clash:
        raise MappingError(f"cannot replicate: names {clash[:3]} contain '@', which marks replicas")
    g = Graph()
    g.meta = dict(graph.meta)
    for i in range(int(k)):
        for node in graph.nodes.values():
            name = replica_name(node.name, i)
            if isinstance(node, Input):
                g.input(node.n, name=name, graded=node.graded, shape=node.shape)
            else:
                g.population(node.n, node.neuron, name=name, shape=node.shape)
        for pr in graph.projections.values():
            g.connect(replica_name(pr.src, i), replica_name(pr.dst, i), pr.weights, weight_exp=pr.weight_exp,
                      delay=pr.delay, name=replica_name(pr.name, i), kind=pr.kind, meta=dict(pr.meta))
    g.meta["replicas"] = {
        "k": int(k),
        "populations": [[replica_name(p.name, i) for p in graph.populations] for i in range(k)],
        "inputs": [[replica_name(n.name, i) for n in graph.inputs] for i in range(k)],
        "projections": [[replica_name(n, i) for n in graph.projections] for i in range(k)],
        "channels_per_replica": int(sum(n.n for n in graph.inputs)),
    }
    return g


def fill_count(cores_one: int, chip) -> int:
    """Copies of a network needing ``cores_one`` cores that fit on ``chip`` (at least 1)."""
    return max(1, chip.n_cores // max(1, cores_one))


def pack_inputs(x: NDArray, reps: dict) -> NDArray[np.int32]:
    """(B, T, C) per-sample inputs -> (ceil(B / k), T, k C): sample i into replica i % k of run i // k."""
    k, c = reps["k"], reps["channels_per_replica"]
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != c:
        raise SimulationError(f"inputs of a program with {k} replicas must have shape (batch, n_steps, {c}): one "
                              f"replica's channels per sample; got {x.shape}")
    B, T = x.shape[0], x.shape[1]
    runs = math.ceil(B / k)
    out = np.zeros((runs, T, k * c), x.dtype)
    for i in range(B):
        out[i // k, :, (i % k) * c: (i % k + 1) * c] = x[i]
    return out


def sample_view(result, population: str) -> tuple[NDArray, NDArray]:
    """(spike counts (B, n), final v (B, n)) of an original population, one row per sample."""
    reps = result.program.meta["replicas"]
    B = int(result.meta.get("samples", result.batch_size * reps["k"]))
    counts, v = [], []
    for i in range(B):
        name = replica_name(population, i % reps["k"])
        pm = result.program.populations[name]
        counts.append(result.spike_counts[name][i // reps["k"]])
        v.append(result.final_state["v"][i // reps["k"], pm.offset: pm.offset + pm.n])
    return np.asarray(counts), np.asarray(v)


def sample_spike_counts(result) -> dict[str, NDArray]:
    """Spike counts of every original population per sample, (B, n) each."""
    reps = result.program.meta.get("replicas")
    if not reps:
        return dict(result.spike_counts)
    return {name: sample_view(result, name)[0] for name in reps["populations"][0]}


def compile_replicas(compile_fn, graph: Graph, chip, replicas, **kwargs):
    """Compile ``replicas`` copies of ``graph`` (``"fill"``: as many as the chip's cores hold).

    ``"fill"`` compiles one copy to learn its cores (input cores included), then
    ``n_cores // cores`` copies, one fewer each time the copies do not fit.
    """
    if "replicas" in graph.meta:
        raise MappingError("this graph is already replicated; compile it with replicas=1")
    if isinstance(replicas, str) and replicas != "fill":
        raise MappingError(f"replicas = {replicas!r}; give a positive int or 'fill'")
    if replicas != "fill":
        return compile_fn(replicate(graph, replicas), chip, **kwargs)
    k = fill_count(compile_fn(graph, chip, **kwargs).n_cores_used, chip)
    best = None
    for _ in range(4):  # copies may share cores (the partitioner packs small layers): grow while cores remain
        try:
            program = compile_fn(replicate(graph, k), chip, **kwargs)
        except MappingError:
            if best is not None:
                break
            if k == 1:
                raise
            k = max(1, k * 3 // 4)
            continue
        best = program
        used = program.n_cores_used
        grown = k * chip.n_cores // max(used, 1)
        if used >= chip.n_cores or grown <= k:
            break
        k = grown
    return best
