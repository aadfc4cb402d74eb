"""Lava bridge: a neurocore Graph from a Lava process network of ``LIF`` and ``Dense``, and back.

Lava (PyPI ``lava-nc``, 0.10 needs Python 3.10) is imported lazily and is in no install
extra. The bridge goes through a plain *spec* dict (NumPy arrays and ints only), so the half
that reads Lava objects (:func:`lava_spec`) runs in a Lava environment, and the half that
builds the Graph (:func:`graph_from_spec`) runs wherever neurocore does:

* ``from_lava(processes)`` = ``graph_from_spec(lava_spec(processes))``;
* ``to_lava(graph)`` = ``lava_from_spec(graph_spec(graph))`` (needs Lava).

Semantics (Lava 0.10's bit-accurate models ``PyLifModelBitAcc``, ``PyDenseModelBitAcc``):

* ``LIF(du, dv, vth, bias_mant, bias_exp, u, v)`` is neurocore's
  ``CubaLIF(du, dv, vth, bias_mant, bias_exp, u0=u, v0=v, reset="zero")`` bit for bit (both
  shift ``a_in`` by ``<< 6`` and spike when ``v > vth << 6``; Loihi's ``act_shift`` and
  ``vth_shift`` are 6).
* ``Dense(weights, weight_exp, num_weight_bits, sign_mode)``: Lava truncates the weights
  (``(w >> k) << k`` with ``k = 8 - num_weight_bits + (sign_mode == MIXED)``, so 8-bit mixed
  weights lose their lowest bit), and buffers its output one step: a projection with the
  truncated weights, ``weight_exp`` and ``delay = 1``. A negative ``weight_exp`` (Lava shifts
  the *sum* right, flooring) is exact only when every weight is a multiple of
  ``2**-weight_exp``; it is then folded into the weights, otherwise refused.
* A ``Dense`` whose ``s_in`` is driven by anything but a ``LIF`` is fed by a neurocore
  ``Input`` (graded when ``num_message_bits > 0``).

Refused with :class:`LavaBridgeError` (a ConversionError): other process types in the
network (``LearningDense`` is not translated: neurocore's ``LearningRule`` landed on main while
this bridge was written, and mapping Lava's learning-rule strings onto it is not done), a Dense between
two non-LIF processes, an inexact negative weight exponent, a Graph population that is not a
``CubaLIF`` with zero-reset and no refractory period, a non-dense projection (exported as
Dense anyway: its matrix is written dense) with ``delay != 1``.
"""
from __future__ import annotations

import numpy as np

from neurocore.errors import ConversionError

__all__ = ["LavaBridgeError", "from_lava", "graph_from_spec", "graph_spec", "lava_from_spec", "lava_spec",
           "to_lava"]


class LavaBridgeError(ConversionError):
    """A Lava network or neurocore Graph the bridge cannot translate exactly."""


_LIF_VARS = ("du", "dv", "vth", "bias_mant", "bias_exp", "u", "v")


def _val(var):
    """The initial value of a Lava Var (its ``init``), as a NumPy array."""
    return np.asarray(var.init if hasattr(var, "init") else var)


def _peers(port, outgoing: bool):
    """Processes connected to a Lava port (through any number of port hops)."""
    conns = port.out_connections if outgoing else port.in_connections
    return [c.process for c in conns]


def _truncate(w: np.ndarray, num_weight_bits: int, mixed: bool) -> np.ndarray:
    k = 8 - int(num_weight_bits) + int(mixed)
    return np.floor_divide(w.astype(np.int64), 1 << k) * (1 << k)


def lava_spec(processes) -> dict:
    """Read Lava ``LIF`` and ``Dense`` processes into a plain spec dict (runs beside Lava).

    ``processes``: every LIF and Dense of the network (sources feeding a Dense become inputs).
    Raises LavaBridgeError for another process type or a Dense that touches no LIF.
    """
    procs = list(processes)
    lifs = [p for p in procs if type(p).__name__ == "LIF"]
    dense = [p for p in procs if type(p).__name__ == "Dense"]
    other = [p for p in procs if p not in lifs and p not in dense]
    if other:
        raise LavaBridgeError(f"lava_spec: {type(other[0]).__name__} '{other[0].name}' is not a LIF or Dense "
                              "(the bridge reads those two; LearningDense is not translated yet)")
    names = {id(p): p.name for p in lifs}
    spec = {"populations": [], "inputs": [], "projections": []}
    for p in lifs:
        rec = {"name": p.name, "n": int(np.prod(p.a_in.shape))}
        for k in _LIF_VARS:
            rec[k] = _val(getattr(p, k)).astype(np.int64)
        spec["populations"].append(rec)
    for d in dense:
        pp = d.proc_params
        w = _val(d.weights)
        sign = pp.get("sign_mode", None)
        mixed = sign is None or getattr(sign, "name", str(sign)) == "MIXED" or int(getattr(sign, "value", 1)) == 1
        w = _truncate(w, pp.get("num_weight_bits", 8), mixed)
        dst = [q for q in _peers(d.a_out, True) if id(q) in names]
        srcs = _peers(d.s_in, False)
        if len(dst) != 1:
            raise LavaBridgeError(f"lava_spec: Dense '{d.name}' must drive exactly one LIF's a_in, drives {len(dst)}")
        src = [q for q in srcs if id(q) in names]
        if src:
            src_name = names[id(src[0])]
        else:
            src_name = f"{d.name}.in"
            spec["inputs"].append({"name": src_name, "n": int(w.shape[1]),
                                   "graded": int(_val(d.num_message_bits).reshape(-1)[0]) > 0})
        spec["projections"].append({"name": d.name, "src": src_name, "dst": names[id(dst[0])], "weights": w,
                                    "weight_exp": int(pp.get("weight_exp", 0)), "delay": 1})
    return spec


def graph_from_spec(spec: dict):
    """Build the neurocore Graph of a spec (see the module docstring for the mapping)."""
    from neurocore.graph.graph import Graph
    from neurocore.graph.neurons import CubaLIF

    g = Graph()
    for i in spec["inputs"]:
        g.input(int(i["n"]), name=i["name"], graded=bool(i.get("graded", False)))
    one = lambda a: int(np.asarray(a).reshape(-1)[0]) if np.all(np.asarray(a) == np.asarray(a).reshape(-1)[0]) \
        else np.asarray(a, np.int64).reshape(-1)
    for p in spec["populations"]:
        g.population(int(p["n"]), CubaLIF(du=one(p["du"]), dv=one(p["dv"]), vth=one(p["vth"]),
                                          bias_mant=one(p["bias_mant"]), bias_exp=one(p["bias_exp"]),
                                          u0=one(p["u"]), v0=one(p["v"]), reset="zero"), name=p["name"])
    for q in spec["projections"]:
        w = np.asarray(q["weights"], np.int64)
        e = int(q["weight_exp"])
        if e < 0:
            if np.any(w % (1 << -e)):
                raise LavaBridgeError(f"graph_from_spec: Dense '{q['name']}' has weight_exp {e}: Lava floors the "
                                      f"shifted sum, exact in neurocore only when every weight is a multiple of "
                                      f"{1 << -e}")
            w, e = w // (1 << -e), 0
        g.connect(q["src"], q["dst"], w, weight_exp=e, delay=int(q["delay"]), name=q["name"], kind="dense")
    return g


def from_lava(processes):
    """A neurocore Graph from Lava LIF and Dense processes (bit-exact; see the module docstring)."""
    return graph_from_spec(lava_spec(processes))


def graph_spec(graph) -> dict:
    """The spec of a neurocore Graph that Lava can express (CubaLIF populations, delay-1 projections)."""
    from neurocore.graph.neurons import CubaLIF
    from neurocore.graph.nodes import Input

    spec = {"populations": [], "inputs": [], "projections": []}
    for node in graph.nodes.values():
        if isinstance(node, Input):
            spec["inputs"].append({"name": node.name, "n": node.n, "graded": bool(node.graded)})
            continue
        nr = node.neuron
        if not isinstance(nr, CubaLIF) or nr.reset != "zero" or np.any(np.asarray(nr.refractory) != 0):
            raise LavaBridgeError(f"graph_spec: population '{node.name}' is {nr!r}; Lava's LIF is a CubaLIF with "
                                  "reset='zero' and no refractory period")
        rec = {"name": node.name, "n": node.n}
        for k, attr in zip(_LIF_VARS, ("du", "dv", "vth", "bias_mant", "bias_exp", "u0", "v0")):
            rec[k] = np.broadcast_to(np.asarray(getattr(nr, attr), np.int64), (node.n,)).copy()
        spec["populations"].append(rec)
    for p in graph.projections.values():
        if p.delay != 1:
            raise LavaBridgeError(f"graph_spec: projection '{p.name}' has delay {p.delay}; Lava's Dense is delay 1")
        w = p.weights.toarray().astype(np.int64)
        if np.any(w % 2) or np.any(w > 254) or np.any(w < -256):
            raise LavaBridgeError(f"graph_spec: projection '{p.name}' needs even weights in [-256, 254] (Lava's "
                                  "8-bit mixed-sign Dense drops the lowest bit)")
        spec["projections"].append({"name": p.name, "src": p.src, "dst": p.dst, "weights": w,
                                    "weight_exp": int(p.weight_exp), "delay": 1})
    return spec


def lava_from_spec(spec: dict):
    """Lava processes of a spec: (dict name -> LIF, dict name -> Dense, dict input name -> list of
    the Dense processes whose ``s_in`` the caller connects to a source). Needs Lava."""
    try:
        from lava.proc.dense.process import Dense
        from lava.proc.lif.process import LIF
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("to_lava needs Lava: pip install lava-nc==0.10.0 (Python 3.10)") from exc
    lifs = {p["name"]: LIF(shape=(int(p["n"]),), **{k: np.asarray(p[k]) for k in _LIF_VARS}, name=p["name"])
            for p in spec["populations"]}
    dense, feeds = {}, {i["name"]: [] for i in spec["inputs"]}
    graded = {i["name"]: bool(i.get("graded")) for i in spec["inputs"]}
    for q in spec["projections"]:
        d = Dense(weights=np.asarray(q["weights"]), weight_exp=int(q["weight_exp"]), name=q["name"],
                  num_message_bits=16 if graded.get(q["src"]) else 0)
        d.a_out.connect(lifs[q["dst"]].a_in)
        if q["src"] in lifs:
            lifs[q["src"]].s_out.connect(d.s_in)
        else:
            feeds[q["src"]].append(d)
        dense[q["name"]] = d
    return lifs, dense, feeds


def to_lava(graph):
    """Lava processes for a neurocore Graph (see :func:`lava_from_spec`)."""
    return lava_from_spec(graph_spec(graph))
