"""Lava bridge: a neurocore Graph from a Lava process network of ``LIF``, ``Dense`` and
``LearningDense``, and back.

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
* ``LearningDense(weights, learning_rule, sign_mode, num_weight_bits, weight_exp)`` with a
  two-factor rule (``Loihi2FLearningRule``, ``STDPLoihi``; its post LIF's ``s_out`` wired to
  ``s_in_bap``) under ``Loihi2SimCfg(select_tag="fixed_pt")`` (Lava's
  ``PyLearningDenseModelBitApproximate``) is a plastic projection (``g.connect(...,
  learning=LearningRule(mode="lava", ...))``) with the *untruncated* initial weights (neurocore's
  ``mode="lava"`` truncates them once, as Lava does), the rule strings, impulses, taus,
  ``t_epoch``, ``rng_seed`` and the decay factors ``exp(-1/tau)`` as Lava's numpy computes them
  (read beside Lava, see :func:`lava_spec`). neurocore's learning engine in ``mode="lava"`` is
  Lava 0.10's bit-approximate model bit for bit (tests/learning), so the bridge is too.

Refused with :class:`LavaBridgeError` (a ConversionError): other process types in the
network, a Dense between two non-LIF processes, an inexact negative weight exponent, a Graph
population that is not a ``CubaLIF`` with zero-reset and no refractory period, a non-dense
projection (exported as Dense anyway: its matrix is written dense) with ``delay != 1``; and for
learning (:data:`LEARNING_REFUSALS`): three-factor rules (``Loihi3FLearningRule``,
``RewardModulatedSTDP``: Lava 0.10 ships no fixed-point neuron that sends the y traces, its
``LearningLIF`` model sends none), graded pre spikes (``num_message_bits > 0`` or a
``graded_spike_cfg`` other than ``USE_REGULAR_IMPULSE``), nonzero initial ``tag_1``/``tag_2``
(neurocore starts tags at 0), a negative ``weight_exp`` (Lava floors the shifted sum of
weights that learning changes), a ``LearningDense`` whose post LIF's ``s_out`` does not reach its
``s_in_bap``, and rule strings that Lava parses with a silent change of meaning (neurocore's
:func:`~neurocore.graph.learning.parse_rule` refuses those: e.g. ``(-y2)``, whose sign Lava
drops, or ``(x1 - 3 + 5)``, which Lava reads as ``x1 - 3``). From a neurocore Graph:
``mode="chip"`` rules (not Lava's arithmetic), three-factor rules and reward projections.
"""
from __future__ import annotations

import numpy as np

from neurocore.errors import ConversionError

__all__ = ["LEARNING_REFUSALS", "LavaBridgeError", "from_lava", "graph_from_spec", "graph_spec", "lava_from_spec",
           "lava_spec", "to_lava"]


class LavaBridgeError(ConversionError):
    """A Lava network or neurocore Graph the bridge cannot translate exactly."""


_LIF_VARS = ("du", "dv", "vth", "bias_mant", "bias_exp", "u", "v")
_TRACES = ("x1", "x2", "y1", "y2", "y3")

#: What a Lava learning network may not contain, and why (the LavaBridgeError says which).
LEARNING_REFUSALS = {
    "three_factor": "three-factor rules (Loihi3FLearningRule / RewardModulatedSTDP) need a post neuron that sends "
                    "y1..y3; Lava 0.10 has no fixed-point one (its LearningLIF model sends no traces)",
    "graded": "learning from graded pre spikes (num_message_bits > 0 or graded_spike_cfg other than "
              "USE_REGULAR_IMPULSE): neurocore's plastic projections learn from binary spikes",
    "tags": "nonzero initial tag_1 / tag_2: neurocore's tags start at 0",
    "weight_exp": "a negative weight_exp on a LearningDense: Lava floors the shifted sum of weights that learning "
                  "changes, which neurocore's per-synapse scaling does not",
    "bap": "the post LIF's s_out must be connected to the LearningDense's s_in_bap (two-factor rules see the post "
           "spikes there)",
}


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


def _lava_decay_factors(taus: tuple[float, ...]) -> list[float]:
    """``exp(-1/tau)`` per trace as Lava's model computes it (x and y rows separately, 0 for tau = 0)."""
    out = []
    for group in (taus[:2], taus[2:]):
        t = np.array(group)
        f = np.zeros(len(group))
        nz = t != 0
        if nz.any():
            f[nz] = np.exp(-1 / t[nz][:, np.newaxis])[:, 0]
        out += [float(v) for v in f]
    return out


def _rule_spec(d) -> dict:
    """A LearningDense's learning rule as neurocore LearningRule keywords (mode="lava")."""
    pp = d.proc_params
    rule = pp.get("learning_rule")
    if rule is None:
        raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}' has no learning_rule")
    kind = type(rule).__name__
    if "Loihi3FLearningRule" in {c.__name__ for c in type(rule).__mro__}:     # RewardModulatedSTDP is one
        raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}' uses {kind}: {LEARNING_REFUSALS['three_factor']}")
    graded = pp.get("graded_spike_cfg")
    if int(_val(d.num_message_bits).reshape(-1)[0]) > 0 or (graded is not None and
                                                             getattr(graded, "name", "") != "USE_REGULAR_IMPULSE"):
        raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}': {LEARNING_REFUSALS['graded']}")
    for tag in ("tag_1", "tag_2"):
        if np.any(_val(getattr(d, tag)) != 0):
            raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}': {LEARNING_REFUSALS['tags']}")
    if int(pp.get("weight_exp", 0)) < 0:
        raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}' has weight_exp {int(pp['weight_exp'])}: "
                              f"{LEARNING_REFUSALS['weight_exp']}")
    sign = pp.get("sign_mode", None)
    spec = {"dw": rule.dw_str or "", "dd": rule.dd_str or "", "dt": rule.dt_str or "", "t_epoch": int(rule.t_epoch),
            "rng_seed": int(rule.rng_seed), "mode": "lava",
            "sign_mode": "mixed" if sign is None else getattr(sign, "name", str(sign)).lower(),
            "num_weight_bits": int(pp.get("num_weight_bits", 8)), "name": d.name}
    taus = []
    for tr in _TRACES:
        spec[f"{tr}_impulse"] = float(getattr(rule, f"{tr}_impulse"))
        spec[f"{tr}_tau"] = float(getattr(rule, f"{tr}_tau"))
        taus.append(getattr(rule, f"{tr}_tau"))
    spec["decay_factors"] = _lava_decay_factors(tuple(taus))
    return spec


def _read_lif(p, names, spec) -> None:
    rec = {"name": p.name, "n": int(np.prod(p.a_in.shape))}
    for k in _LIF_VARS:
        rec[k] = _val(getattr(p, k)).astype(np.int64)
    spec["populations"].append(rec)


def _source(d, names, spec, n_in: int) -> str:
    """The neurocore source of a Dense's s_in: its LIF, or a new Input."""
    src = [q for q in _peers(d.s_in, False) if id(q) in names]
    if src:
        return names[id(src[0])]
    name = f"{d.name}.in"
    spec["inputs"].append({"name": name, "n": n_in, "graded": int(_val(d.num_message_bits).reshape(-1)[0]) > 0})
    return name


def _target(d, names) -> str:
    dst = [q for q in _peers(d.a_out, True) if id(q) in names]
    if len(dst) != 1:
        raise LavaBridgeError(f"lava_spec: {type(d).__name__} '{d.name}' must drive exactly one LIF's a_in, drives "
                              f"{len(dst)}")
    return names[id(dst[0])]


def _read_dense(d, names, spec) -> None:
    pp = d.proc_params
    w = _val(d.weights)
    sign = pp.get("sign_mode", None)
    mixed = sign is None or getattr(sign, "name", str(sign)) == "MIXED" or int(getattr(sign, "value", 1)) == 1
    w = _truncate(w, pp.get("num_weight_bits", 8), mixed)
    dst = _target(d, names)
    spec["projections"].append({"name": d.name, "src": _source(d, names, spec, int(w.shape[1])), "dst": dst,
                                "weights": w, "weight_exp": int(pp.get("weight_exp", 0)), "delay": 1})


def _read_learning_dense(d, names, spec) -> None:
    rule = _rule_spec(d)
    w = _val(d.weights).astype(np.int64)          # untruncated: mode="lava" truncates once, as Lava
    dst = _target(d, names)
    post = [q for q in _peers(d.s_in_bap, False)]
    if not any(names.get(id(q)) == dst for q in post):
        raise LavaBridgeError(f"lava_spec: LearningDense '{d.name}': {LEARNING_REFUSALS['bap']}")
    spec["projections"].append({"name": d.name, "src": _source(d, names, spec, int(w.shape[1])), "dst": dst,
                                "weights": w, "weight_exp": int(d.proc_params.get("weight_exp", 0)), "delay": 1,
                                "learning": rule})


#: Lava process type -> reader (LIFs first: the connection readers look their names up).
_READERS = {"LIF": _read_lif, "Dense": _read_dense, "LearningDense": _read_learning_dense}


def lava_spec(processes) -> dict:
    """Read Lava ``LIF``, ``Dense`` and ``LearningDense`` processes into a plain spec dict (runs beside Lava).

    ``processes``: every LIF, Dense and LearningDense of the network (sources feeding a Dense
    become inputs). Raises LavaBridgeError for another process type, a Dense that touches no
    LIF, or a learning setup neurocore cannot express (:data:`LEARNING_REFUSALS`).
    """
    procs = list(processes)
    other = [p for p in procs if type(p).__name__ not in _READERS]
    if other:
        raise LavaBridgeError(f"lava_spec: {type(other[0]).__name__} '{other[0].name}' is not a LIF, Dense or "
                              "LearningDense (the processes the bridge reads)")
    names = {id(p): p.name for p in procs if type(p).__name__ == "LIF"}
    spec = {"populations": [], "inputs": [], "projections": []}
    for kind in _READERS:
        for p in procs:
            if type(p).__name__ == kind:
                _READERS[kind](p, names, spec)
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
        if q.get("learning") is not None:
            _connect_learning(g, q, w, e)
            continue
        if e < 0:
            if np.any(w % (1 << -e)):
                raise LavaBridgeError(f"graph_from_spec: Dense '{q['name']}' has weight_exp {e}: Lava floors the "
                                      f"shifted sum, exact in neurocore only when every weight is a multiple of "
                                      f"{1 << -e}")
            w, e = w // (1 << -e), 0
        g.connect(q["src"], q["dst"], w, weight_exp=e, delay=int(q["delay"]), name=q["name"], kind="dense")
    return g


def _connect_learning(g, q: dict, w: np.ndarray, e: int) -> None:
    from neurocore.errors import LearningRuleError
    from neurocore.graph.learning import LearningRule

    if e < 0:
        raise LavaBridgeError(f"graph_from_spec: LearningDense '{q['name']}' has weight_exp {e}: "
                              f"{LEARNING_REFUSALS['weight_exp']}")
    kw = dict(q["learning"])
    if kw.get("decay_factors") is not None:
        kw["decay_factors"] = tuple(kw["decay_factors"])
    try:
        rule = LearningRule(**kw)
    except LearningRuleError as exc:
        raise LavaBridgeError(f"graph_from_spec: LearningDense '{q['name']}': neurocore cannot express its rule "
                              f"exactly: {exc}") from exc
    if rule.three_factor:
        raise LavaBridgeError(f"graph_from_spec: LearningDense '{q['name']}': {LEARNING_REFUSALS['three_factor']}")
    g.connect(q["src"], q["dst"], w, weight_exp=e, delay=int(q["delay"]), name=q["name"], learning=rule)


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
        if p.kind in ("plastic", "reward"):
            spec["projections"].append(_learning_spec(p, w))
            continue
        if np.any(w % 2) or np.any(w > 254) or np.any(w < -256):
            raise LavaBridgeError(f"graph_spec: projection '{p.name}' needs even weights in [-256, 254] (Lava's "
                                  "8-bit mixed-sign Dense drops the lowest bit)")
        spec["projections"].append({"name": p.name, "src": p.src, "dst": p.dst, "weights": w,
                                    "weight_exp": int(p.weight_exp), "delay": 1})
    return spec


def _learning_spec(p, w: np.ndarray) -> dict:
    """The spec of a plastic projection Lava's LearningDense can run (a two-factor mode="lava" rule)."""
    rule = p.learning
    if p.kind == "reward" or rule is None or rule.three_factor:
        raise LavaBridgeError(f"graph_spec: projection '{p.name}' is part of a three-factor rule: "
                              f"{LEARNING_REFUSALS['three_factor']}")
    if rule.mode != "lava":
        raise LavaBridgeError(f"graph_spec: projection '{p.name}' learns with mode={rule.mode!r}; Lava's "
                              "LearningDense is neurocore's mode='lava' (make the rule with mode='lava')")
    if p.weight_exp < 0:
        raise LavaBridgeError(f"graph_spec: projection '{p.name}' has weight_exp {p.weight_exp}: "
                              f"{LEARNING_REFUSALS['weight_exp']}")
    return {"name": p.name, "src": p.src, "dst": p.dst, "weights": w, "weight_exp": int(p.weight_exp), "delay": 1,
            "learning": rule.to_dict()}


def _learning_dense(q: dict, graded: bool):
    """A Lava LearningDense (and its Loihi2FLearningRule) for a spec projection with "learning"."""
    from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
    from lava.proc.dense.process import LearningDense
    from lava.utils.weightutils import SignMode

    r = q["learning"]
    if graded:
        raise LavaBridgeError(f"lava_from_spec: projection '{q['name']}': {LEARNING_REFUSALS['graded']}")
    kw = {f"{tr}_{k}": float(r[f"{tr}_{k}"]) for tr in _TRACES for k in ("impulse", "tau")}
    rule = Loihi2FLearningRule(dw=r["dw"] or None, dd=r["dd"] or None, dt=r["dt"] or None, t_epoch=int(r["t_epoch"]),
                               rng_seed=int(r["rng_seed"]), **kw)
    if r.get("decay_factors") is not None:
        lava_f = _lava_decay_factors(tuple(kw[f"{tr}_tau"] for tr in _TRACES))
        if [float(x) for x in r["decay_factors"]] != lava_f:
            raise LavaBridgeError(f"lava_from_spec: projection '{q['name']}': the rule's decay_factors "
                                  f"{list(r['decay_factors'])} are not exp(-1/tau) as this numpy computes it "
                                  f"({lava_f}); Lava cannot be given other factors")
    return LearningDense(weights=np.asarray(q["weights"]), learning_rule=rule, weight_exp=int(q["weight_exp"]),
                         num_weight_bits=int(r["num_weight_bits"]), sign_mode=SignMode[str(r["sign_mode"]).upper()],
                         name=q["name"])


def lava_from_spec(spec: dict):
    """Lava processes of a spec: (dict name -> LIF, dict name -> Dense or LearningDense, dict input
    name -> list of the Dense processes whose ``s_in`` the caller connects to a source). A
    projection with ``"learning"`` becomes a LearningDense with a ``Loihi2FLearningRule`` (its post
    LIF's ``s_out`` wired to ``s_in_bap``). Needs Lava."""
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
        if q.get("learning") is not None:
            d = _learning_dense(q, graded.get(q["src"], False))
            lifs[q["dst"]].s_out.connect(d.s_in_bap)
        else:
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
