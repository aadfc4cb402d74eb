"""Save and load a Graph (versioned, checksummed ``.npz``)."""
from __future__ import annotations

from pathlib import Path

import scipy.sparse as sp

from neurocore._io import _jsonable, decode_meta, encode_meta, read_npz, write_npz
from neurocore.errors import FileFormatError, GraphError
from neurocore.graph.graph import Graph
from neurocore.graph.learning import LearningRule
from neurocore.graph.neurons import neuron_from_dict
from neurocore.graph.validate import check_csr_arrays
from neurocore.graph.nodes import Input

__all__ = ["save_graph", "load_graph", "GRAPH_FORMAT_VERSION"]

GRAPH_FORMAT_VERSION = 1


def save_graph(graph: Graph, path) -> Path:
    """Write ``graph`` to ``path`` (``.npz``)."""
    nodes, arrays = [], {}
    for node in graph.nodes.values():
        d = {"name": node.name, "n": node.n, "shape": _jsonable(node.shape)}
        if isinstance(node, Input):
            d.update(type="Input", graded=node.graded)
        else:
            d.update(type="Population", neuron=node.neuron.to_dict())
        nodes.append(d)
    projs = []
    for i, p in enumerate(graph.projections.values()):
        projs.append({"name": p.name, "src": p.src, "dst": p.dst, "weight_exp": p.weight_exp, "delay": p.delay,
                      "kind": p.kind, "meta": _jsonable(p.meta), "shape": list(p.weights.shape),
                      "learning": p.learning.to_dict() if p.learning is not None else None})
        arrays[f"p{i}_data"], arrays[f"p{i}_indices"], arrays[f"p{i}_indptr"] = (
            p.weights.data, p.weights.indices, p.weights.indptr)
    header = {"nodes": nodes, "projections": projs, "meta": encode_meta(graph.meta)}
    return write_npz(path, "graph", GRAPH_FORMAT_VERSION, header, arrays)


def load_graph(path) -> Graph:
    """Read a graph written by :func:`save_graph`; raises FileFormatError on a bad file."""
    head, arrays = read_npz(path, "graph", GRAPH_FORMAT_VERSION)
    g = Graph()
    try:
        for d in head["nodes"]:
            shape = tuple(d["shape"]) if d["shape"] is not None else None
            if d["type"] == "Input":
                g.input(d["n"], name=d["name"], graded=d["graded"], shape=shape)
            else:
                g.population(d["n"], neuron_from_dict(d["neuron"]), name=d["name"], shape=shape)
        for i, d in enumerate(head["projections"]):
            parts = [arrays[f"p{i}_{k}"] for k in ("data", "indices", "indptr")]
            check_csr_arrays(*parts, d["shape"], f"'{path}': projection {i} ({d.get('name')!r})")
            w = sp.csr_matrix(tuple(parts), shape=tuple(int(s) for s in d["shape"]))
            meta = d["meta"]
            for k in ("kernel_shape", "in_shape", "out_shape"):
                if k in meta:
                    meta[k] = tuple(meta[k])
            rule = LearningRule.from_dict(d["learning"]) if d.get("learning") else None
            g.connect(d["src"], d["dst"], w.toarray() if rule is not None else w, weight_exp=d["weight_exp"],
                      delay=d["delay"], name=d["name"], kind=d["kind"], meta=meta, learning=rule,
                      reward=d["kind"] == "reward")
    except FileFormatError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, GraphError) as exc:
        raise FileFormatError(f"'{path}': graph description is inconsistent ({type(exc).__name__}: {exc})") \
            from None
    n_arrays = 3 * len(head["projections"])
    if len(arrays) != n_arrays:
        raise FileFormatError(f"'{path}': holds {len(arrays)} arrays; its {len(head['projections'])} projections "
                              f"account for {n_arrays}")
    g.meta = decode_meta(head.get("meta", {}))
    return g.validate(f"'{path}'")
