"""Graph.validate(): nodes, projections and their CSR weight arrays checked for consistency.

A Graph is chip-independent, so the chip's widths are checked by ``compile``; this
module checks what every later stage relies on: each projection joins two nodes of
the graph and ends at a population, its weights are a canonical int64 CSR matrix of
shape (n_dst, n_src) (pointer from 0 to nnz, never decreasing; column indices in
range, sorted, no duplicates, no stored zeros), and its exponent and delay are ints
(delay >= 0, and >= 1 from a population). Neuron parameters are checked by the
neuron models themselves when they are made; per-neuron arrays must have one value
per neuron. A failure raises :class:`~neurocore.errors.FileFormatError` naming the
projection or node and the field.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocore.errors import FileFormatError

__all__ = ["validate_graph", "check_csr_arrays"]


def check_csr_arrays(data, indices, indptr, shape, where: str) -> None:
    """Check raw CSR arrays (as read from a file) before scipy sees them.

    Raises FileFormatError naming ``where`` and the array: dtypes (integer indices,
    integer-valued finite numbers), lengths, pointer monotonicity and index range.
    """
    try:
        n_dst, n_src = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise FileFormatError(f"{where}: shape {shape!r} is not (n_dst, n_src)") from None
    for name, a, kinds in (("data", data, "iuf"), ("indices", indices, "iu"), ("indptr", indptr, "iu")):
        if not isinstance(a, np.ndarray) or a.ndim != 1 or a.dtype.kind not in kinds:
            raise FileFormatError(f"{where}: weights.{name} must be a 1-D {'numeric' if kinds == 'iuf' else 'integer'}"
                                  f" array, got {getattr(a, 'dtype', type(a).__name__)} "
                                  f"shape {getattr(a, 'shape', None)}")
    if indptr.shape[0] != n_dst + 1:
        raise FileFormatError(f"{where}: weights.indptr has {indptr.shape[0]} entries; shape {(n_dst, n_src)} "
                              f"needs {n_dst + 1}")
    nnz = data.shape[0]
    if indices.shape[0] != nnz:
        raise FileFormatError(f"{where}: weights.indices has {indices.shape[0]} entries, weights.data {nnz}")
    ptr = indptr.astype(np.int64)
    if int(ptr[0]) != 0 or int(ptr[-1]) != nnz or np.any(np.diff(ptr) < 0):
        raise FileFormatError(f"{where}: weights.indptr must rise from 0 to {nnz} (the number of synapses)")
    if nnz and (int(indices.min()) < 0 or int(indices.max()) >= n_src):
        bad = int(indices.min()) if int(indices.min()) < 0 else int(indices.max())
        raise FileFormatError(f"{where}: weights.indices holds {bad}; source indices lie in [0, {n_src - 1}]")
    _check_int_values(data, where)
    if nnz:
        row = np.repeat(np.arange(n_dst), np.diff(ptr))
        same_row = row[1:] == row[:-1]
        if np.any(same_row & (indices[1:].astype(np.int64) <= indices[:-1].astype(np.int64))):
            raise FileFormatError(f"{where}: weights.indices are not sorted and unique within each row")


def _check_int_values(data: np.ndarray, where: str) -> None:
    """CSR values that must become int64 mantissas: integer-valued, finite, within int64."""
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)) or np.any(np.abs(data) >= 2**63):
            raise FileFormatError(f"{where}: weights.data holds non-integer or non-finite values")
    elif data.dtype.kind == "u" and data.shape[0] and int(data.max()) >= 2**63:
        raise FileFormatError(f"{where}: weights.data holds {int(data.max())}, beyond int64")


def _check_neuron(pop, where: str) -> None:
    for k, val in pop.neuron.__dict__.items():
        if isinstance(val, (bool, str)) or val is None:
            continue
        arr = np.asarray(val)
        if arr.dtype.kind not in "iuf":
            raise FileFormatError(f"{where}: {type(pop.neuron).__name__}.{k} = {val!r}; a number is expected")
        if arr.size and (not np.all(np.isfinite(arr)) or float(np.max(np.abs(arr))) >= 2**62):
            raise FileFormatError(f"{where}: {type(pop.neuron).__name__}.{k} holds {val!r}; integers below 2**62 "
                                  "in magnitude are expected")
        if isinstance(val, np.ndarray) and val.shape != (pop.n,):
            raise FileFormatError(f"{where}: {type(pop.neuron).__name__}.{k} has shape {val.shape}; "
                                  f"per-neuron values must have shape ({pop.n},)")


def _check_node(key, node, where: str) -> None:
    from neurocore.graph.nodes import Input, Population

    if node.name != key:
        raise FileFormatError(f"{where}: node '{key}' holds a node named {node.name!r}")
    if not isinstance(node.n, int) or node.n < 1:
        raise FileFormatError(f"{where}: node '{key}' has size {node.n!r}; a positive int is expected")
    if isinstance(node, Population):
        _check_neuron(node, f"{where}: population '{key}'")
    elif not isinstance(node, Input):
        raise FileFormatError(f"{where}: node '{key}' is a {type(node).__name__}, not an Input or Population")


def _check_ends(graph, key, p, at: str) -> None:
    """Name, endpoints, exponent, delay, kind and meta of one projection."""
    from neurocore.graph.nodes import Input, Population

    if p.name != key:
        raise FileFormatError(f"{at} holds a projection named {p.name!r}")
    if p.src not in graph.nodes or p.dst not in graph.nodes:
        raise FileFormatError(f"{at} joins {p.src!r} -> {p.dst!r}; both must be nodes of the graph")
    src, dst = graph.nodes[p.src], graph.nodes[p.dst]
    if not isinstance(dst, Population):
        raise FileFormatError(f"{at}: target {p.dst!r} is not a population")
    for k in ("weight_exp", "delay"):
        v = getattr(p, k)
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise FileFormatError(f"{at}: {k} = {v!r}; an int is expected")
    if p.delay < 0 or (p.delay == 0 and not isinstance(src, Input)):
        raise FileFormatError(f"{at}: delay = {p.delay}; it must be >= 0, and >= 1 from a population")
    if not isinstance(p.kind, str) or not isinstance(p.meta, dict):
        raise FileFormatError(f"{at}: kind must be a str and meta a dict, got {p.kind!r} and "
                              f"{type(p.meta).__name__}")


def _check_weights(graph, p, at: str) -> None:
    """One projection's weights: a canonical int64 CSR of shape (n_dst, n_src)."""
    src, dst = graph.nodes[p.src], graph.nodes[p.dst]
    w = p.weights
    if not isinstance(w, sp.csr_matrix) and not (sp.issparse(w) and w.format == "csr"):
        raise FileFormatError(f"{at}: weights must be a scipy.sparse CSR matrix, got {type(w).__name__}")
    if w.shape != (dst.n, src.n):
        raise FileFormatError(f"{at}: weights have shape {w.shape}; (n_dst, n_src) = {(dst.n, src.n)} expected")
    if w.data.dtype != np.int64:
        raise FileFormatError(f"{at}: weights have dtype {w.data.dtype}; int64 mantissas are expected")
    check_csr_arrays(w.data, w.indices, w.indptr, w.shape, at)
    if np.any(w.data == 0) and getattr(p, "learning", None) is None and p.kind != "reward":
        # plastic projections store every entry (zeros included): a zero weight can grow
        raise FileFormatError(f"{at}: weights store explicit zeros (a stored entry is a synapse)")


def validate_graph(graph, where: str = "graph") -> None:
    """Check ``graph``'s nodes and projections (see the module docstring); raises FileFormatError."""
    for key, node in graph.nodes.items():
        _check_node(key, node, where)
    for key, p in graph.projections.items():
        at = f"{where}: projection '{key}'"
        _check_ends(graph, key, p, at)
        _check_weights(graph, p, at)
