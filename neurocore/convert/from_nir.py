"""Float NIR graph -> integer neurocore Graph: the converter behind :func:`neurocore.nir.from_nir`.

:mod:`neurocore.nir` reads and writes NIR (files, the exact metadata round trip); a NIR
graph *without* neurocore metadata describes continuous-time float dynamics, and this
module discretizes it at ``dt`` and quantizes it to a chip, as the "Import" section of
:mod:`neurocore.nir`'s docstring specifies. The steps, one function each:

1. :func:`_topology` -- populations (neuron nodes; an LI directly in front of one IF/LIF is
   its synapse), inputs, edges;
2. :func:`_paths` -- the chains of linear nodes between sources and populations, composed
   into one matrix (:data:`LINEAR_OPS`: one handler per NIR node type), and each
   population's shape;
3. :func:`_plan` -- per population: decays, gains and a v scale (:data:`MEMBRANE`: one
   handler per neuron type; :func:`_synapse` for the current);
4. biases and weights quantized with :mod:`neurocore.convert.quantize`'s
   :func:`~neurocore.convert.quantize.bias_exponents` (per neuron) and
   :func:`~neurocore.convert.quantize.smallest_exponent` (per projection).

The NIR import keeps its own threshold policy (:data:`NIR_VTH_BITS`,
:data:`NIR_HEADROOM_BITS`): there are no calibration data to bound a layer's input, as
:func:`~neurocore.convert.quantize.quantize_layer` has, so the threshold sets the scale.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp

from neurocore.convert.quantize import bias_exponents, smallest_exponent
from neurocore.errors import ConversionError, GraphError

__all__ = ["LINEAR_OPS", "MEMBRANE", "NIR_HEADROOM_BITS", "NIR_ROUND_EPS", "NIR_ROUND_SLACK", "NIR_VTH_BITS", "LinearOp",
           "from_float_nir"]

LINEAR_TYPES = frozenset({"Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Delay", "Scale"})
NEURON_TYPES = frozenset({"IF", "LIF", "CubaLIF"})
PORT_TYPES = frozenset({"Input", "Output"})

#: A population's largest threshold becomes a vth mantissa of ``2**NIR_VTH_BITS``: 12 bits of
#: threshold resolution (the weights' scale follows from it).
NIR_VTH_BITS = 12
#: ...or fewer, so that v keeps ``2**NIR_HEADROOM_BITS`` = 32 thresholds of range (on Loihi,
#: 24-bit v and vth_shift 6: ``(2**23 - 1) >> 6 >> 5 = 4095``, so this bound is the one that binds).
NIR_HEADROOM_BITS = 5
#: A projection's exponent is the smallest at which its peak, in mantissa units, is at most
#: ``wmax + NIR_ROUND_SLACK - NIR_ROUND_EPS`` (just under one half above the largest mantissa, so it
#: rounds to it). The converter's :data:`~neurocore.convert.quantize.ROUND_SLACK` is 0.49; the two
#: differ only for a peak in ``(wmax + 0.49, wmax + 0.5)`` mantissa units, and this one is kept so
#: NIR imports stay exactly as they were.
NIR_ROUND_SLACK = 0.5
NIR_ROUND_EPS = 1e-9


def _flat(v, n, what):
    arr = np.asarray(v, dtype=np.float64).reshape(-1)
    if arr.size == 1:
        return np.full(n, float(arr[0]))
    if arr.size != n:
        raise ConversionError(f"from_nir: {what} has {arr.size} values for {n} neurons")
    return arr


def _pair2(v):
    arr = np.asarray(v).reshape(-1)
    return (int(arr[0]), int(arr[0])) if arr.size == 1 else (int(arr[0]), int(arr[1]))


# ============================================================================ linear nodes
class LinearOp(NamedTuple):
    """One linear NIR node as an affine map of its input (flattened)."""

    matrix: sp.csr_matrix      # (n_out, n_in) float
    bias: np.ndarray           # (n_out,) float
    out_shape: tuple           # per-sample output shape
    delay_s: float             # extra delay, seconds (Delay nodes only)
    conv_meta: dict | None = None  # Conv2d / pooling: the layer meta of a ``conv2d`` projection (ConvSpec keys)


def _affine(name, node, shape, t) -> LinearOp:
    n_in = int(np.prod(shape))
    w = np.asarray(node.weight, np.float64)
    if w.ndim != 2 or w.shape[1] != n_in:
        raise ConversionError(f"from_nir: {t} '{name}' has weight shape {w.shape}; its input has {n_in} values")
    b = np.asarray(node.bias, np.float64).reshape(-1) if t == "Affine" else np.zeros(w.shape[0])
    return LinearOp(sp.csr_matrix(w), np.broadcast_to(b, (w.shape[0],)).copy(), (w.shape[0],), 0.0)


def _conv_op(name, t, k, shape, stride, padding, dilation, groups, bias) -> LinearOp:
    from neurocore.graph.layers import conv2d_matrix

    try:
        m, out_shape = conv2d_matrix(k, shape, stride, padding, dilation, groups, where=f"{t} '{name}'")
    except GraphError as exc:
        raise ConversionError(str(exc)) from None
    b = np.repeat(np.broadcast_to(bias, (out_shape[0],)), out_shape[1] * out_shape[2])
    meta = {"dense_macs": int(np.prod(out_shape)) * int(np.prod(k.shape[1:])),
            "kernel_shape": tuple(int(i) for i in k.shape), "in_shape": tuple(int(i) for i in shape),
            "out_shape": tuple(int(i) for i in out_shape), "stride": tuple(stride), "padding": tuple(padding),
            "dilation": tuple(dilation), "groups": int(groups), "pool": t in ("SumPool2d", "AvgPool2d")}
    return LinearOp(sp.csr_matrix(m, dtype=np.float64), b, out_shape, 0.0, meta)


def _conv2d(name, node, shape, t) -> LinearOp:
    n_in = int(np.prod(shape))
    k = np.asarray(node.weight, np.float64)
    groups = int(node.groups)
    stride, dilation = _pair2(node.stride), _pair2(node.dilation)
    if len(shape) != 3:
        hw = tuple(int(i) for i in np.asarray(node.input_shape).reshape(-1)) if node.input_shape is not None else None
        if hw is None or k.shape[1] * groups * hw[0] * hw[1] != n_in:
            raise ConversionError(f"from_nir: Conv2d '{name}' needs a (C, H, W) input, got shape {shape}")
        shape = (k.shape[1] * groups, *hw)
    if not isinstance(node.padding, str):
        padding = _pair2(node.padding)
    elif node.padding == "valid":
        padding = (0, 0)
    else:  # "same"
        padding = (dilation[0] * (k.shape[2] - 1) // 2, dilation[1] * (k.shape[3] - 1) // 2)
    return _conv_op(name, t, k, shape, stride, padding, dilation, groups, np.asarray(node.bias, np.float64).reshape(-1))


def _pool(name, node, shape, t) -> LinearOp:
    if len(shape) != 3:
        raise ConversionError(f"from_nir: {t} '{name}' needs a (C, H, W) input, got shape {shape}")
    kh, kw = _pair2(node.kernel_size)
    k = np.ones((shape[0], 1, kh, kw)) / (kh * kw if t == "AvgPool2d" else 1)
    return _conv_op(name, t, k, shape, _pair2(node.stride), _pair2(node.padding), (1, 1), shape[0], np.zeros(1))


def _flatten(name, node, shape, t) -> LinearOp:
    n_in = int(np.prod(shape))
    return LinearOp(sp.identity(n_in, format="csr"), np.zeros(n_in), (n_in,), 0.0)


def _scale(name, node, shape, t) -> LinearOp:
    n_in = int(np.prod(shape))
    s = np.asarray(node.scale, np.float64)
    try:
        s = np.broadcast_to(s, shape).reshape(-1)
    except ValueError:
        s = _flat(s, n_in, f"Scale '{name}'")
    return LinearOp(sp.diags(s, format="csr"), np.zeros(n_in), shape, 0.0)


def _delay(name, node, shape, t) -> LinearOp:
    n_in = int(np.prod(shape))
    d = np.asarray(node.delay, np.float64).reshape(-1)
    if d.size and np.any(d != d[0]):
        raise ConversionError(f"from_nir: Delay '{name}' has per-element delays; neurocore needs one per edge")
    return LinearOp(sp.identity(n_in, format="csr"), np.zeros(n_in), shape, float(d[0]) if d.size else 0.0)


#: NIR linear node type -> handler(name, node, input shape, type) -> LinearOp.
LINEAR_OPS: dict[str, Callable[..., LinearOp]] = {
    "Affine": _affine, "Linear": _affine, "Conv2d": _conv2d, "SumPool2d": _pool, "AvgPool2d": _pool,
    "Flatten": _flatten, "Scale": _scale, "Delay": _delay}


def linear_op(name, node, shape) -> LinearOp:
    """The affine map of one linear NIR node (see :data:`LINEAR_OPS`)."""
    t = type(node).__name__
    handler = LINEAR_OPS.get(t)
    if handler is None:  # pragma: no cover - from_nir refuses other types first
        raise ConversionError(f"from_nir: node '{name}' ({t}) is not a linear node")
    return handler(name, node, shape, t)


# ============================================================================ 1-2. topology and paths
@dataclass
class _Topology:
    """The NIR graph as neurocore sees it."""

    tname: dict[str, str]            # node -> NIR type name
    succ: dict[str, list[str]]
    pred: dict[str, list[str]]
    li_of: dict[str, str]            # population -> the LI node that is its synapse
    pops: list[str]                  # neuron nodes: the populations
    inputs: list[str]
    entry_to_pop: dict[str, str]     # node receiving a population's input -> the population


@dataclass
class _Path:
    """A chain of linear nodes from a source to a population, composed."""

    src: str
    pop: str
    matrix: sp.csr_matrix
    bias: np.ndarray
    delay_s: float
    ops: list[str]
    #: the one convolution this path is (no other linear node but Delay on it), else None
    conv_meta: dict | None = None


def _topology(g) -> _Topology:
    tname = {k: type(v).__name__ for k, v in g.nodes.items()}
    succ: dict[str, list[str]] = {k: [] for k in g.nodes}
    pred: dict[str, list[str]] = {k: [] for k in g.nodes}
    for a, b in g.edges:
        if a not in g.nodes or b not in g.nodes:
            raise ConversionError(f"from_nir: edge ({a!r}, {b!r}) names a node that is not in the graph")
        succ[a].append(b)
        pred[b].append(a)
    li_of: dict[str, str] = {}
    for k, t in tname.items():
        if t == "LI":
            nxt = succ[k]
            if len(nxt) != 1 or tname[nxt[0]] not in ("IF", "LIF") or len(pred[nxt[0]]) != 1:
                raise ConversionError(f"from_nir: node '{k}' has type LI; neurocore imports LI only directly in front "
                                      "of a single IF or LIF (as one CubaLIF population)")
            li_of[nxt[0]] = k
    pops = [k for k, t in tname.items() if t in NEURON_TYPES]
    inputs = [k for k, t in tname.items() if t == "Input"]
    entry_to_pop = {li_of.get(p, p): p for p in pops}
    return _Topology(tname, succ, pred, li_of, pops, inputs, entry_to_pop)


def _node_shape(g, k, t) -> tuple | None:
    """A source's shape from its own fields (an Input's type, a neuron's array-valued threshold)."""
    node = g.nodes[k]
    if t == "Input":
        return tuple(int(i) for i in np.asarray(node.input_type["input"]).reshape(-1))
    arr = np.asarray(node.v_threshold)
    if arr.size > 1:
        return tuple(arr.shape)
    it = getattr(node, "input_type", None) or {}
    ty = it.get("input") if isinstance(it, dict) else None
    if ty is not None and np.asarray(ty).size:
        return tuple(int(i) for i in np.asarray(ty).reshape(-1))
    return None


def _walk(g, topo: _Topology, s: str, shapes: dict, paths: list[_Path]) -> bool:
    """Follow every linear chain out of source ``s`` (depth first); returns whether a population's shape was learnt."""
    changed = False
    n = int(np.prod(shapes[s]))
    stack = [(k, sp.identity(n, format="csr"), np.zeros(n), shapes[s], 0.0, [], (s,), []) for k in topo.succ[s]]
    while stack:
        k, m, b, shape, d, ops, seen, metas = stack.pop()
        t = topo.tname[k]
        if k in seen and t in LINEAR_TYPES:
            raise ConversionError(f"from_nir: node '{k}' lies on a loop of linear nodes with no neuron")
        if t == "Output":
            continue
        if k in topo.entry_to_pop:
            p = topo.entry_to_pop[k]
            n_p = int(np.prod(shape))
            if shapes[p] is None:
                shapes[p], changed = shape, True
            elif int(np.prod(shapes[p])) != n_p:
                raise ConversionError(f"from_nir: '{k}' receives {n_p} values from '{s}' but has "
                                      f"{int(np.prod(shapes[p]))} neurons")
            paths.append(_Path(s, p, m, b, d, ops, metas[0] if len(metas) == 1 else None))
            continue
        if t in ("Input", "LI") or t in NEURON_TYPES:
            raise ConversionError(f"from_nir: edge into '{k}' ({t}) cannot be imported")
        op = linear_op(k, g.nodes[k], shape)
        nm, nb = op.matrix @ m, op.matrix @ b + op.bias
        for nxt in topo.succ[k]:
            stack.append((nxt, nm, nb, op.out_shape, d + op.delay_s, ops + [k], seen + (k,),
                          metas if t == "Delay" else metas + [op.conv_meta]))
    return changed


def _paths(g, topo: _Topology) -> tuple[dict[str, tuple], list[_Path]]:
    """Every population's shape and every source -> population path. A population whose size only its
    input tells is learnt in one walk and serves as a source in the next (a fixed point)."""
    shapes: dict[str, tuple | None] = {k: _node_shape(g, k, topo.tname[k]) for k in topo.inputs + topo.pops}
    paths: list[_Path] = []
    for _ in range(len(topo.pops) + 1):
        paths = []
        changed = False
        for s in topo.inputs + topo.pops:
            if shapes[s] is not None:
                changed |= _walk(g, topo, s, shapes, paths)
        if not changed:
            break
    for p in topo.pops:
        if shapes[p] is None:
            raise ConversionError(f"from_nir: cannot tell the size of population '{p}' (no input reaches it and its "
                                  "parameters are scalars)")
    return shapes, paths


# ============================================================================ 3. neuron parameters
@dataclass
class _Membrane:
    """Per-step voltage dynamics in neurocore terms: ``v += v_gain * I`` (+ leak), decay ``dv``."""

    dv: np.ndarray
    v_gain: np.ndarray
    leak: np.ndarray


def _membrane_if(node, n, dt, conv, full, where) -> _Membrane:
    return _Membrane(np.zeros(n), dt * _flat(node.r, n, f"{where}.r"), np.zeros(n))


def _membrane_lif(node, n, dt, conv, full, where) -> _Membrane:
    t = type(node).__name__
    r = _flat(node.r, n, f"{where}.r")
    tau = _flat(node.tau if t == "LIF" else node.tau_mem, n, f"{where}.tau") / (dt if conv.tau_times_dt else 1)
    k = 1.0 - np.exp(-dt / tau) if conv.decay == "exp" else dt / tau   # fraction of v lost per step
    return _Membrane(np.clip(np.round(full * k), 0, full - 1), k * r, k * _flat(node.v_leak, n, f"{where}.v_leak"))


#: NIR neuron type -> handler(node, n, dt, convention, 2**decay_bits, where) -> its membrane.
MEMBRANE: dict[str, Callable[..., _Membrane]] = {"IF": _membrane_if, "LIF": _membrane_lif, "CubaLIF": _membrane_lif}


@dataclass
class _Plan:
    """One population's discretized, unquantized parameters."""

    n: int
    s: float                 # neurocore v units per NIR v unit
    vth: np.ndarray
    du: np.ndarray
    dv: np.ndarray
    in_gain: np.ndarray      # u units per unit of input current
    bias_gain: np.ndarray    # steady-state fold of an Affine bias
    leak: np.ndarray
    t: str
    li: str | None


def _synapse(g, p, t, li, mem: _Membrane, n, dt, conv, full, where) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(du, in_gain, bias_gain) of the current: CubaLIF's own, an LI in front, or none (u holds one step)."""
    if t == "CubaLIF":
        node = g.nodes[p]
        tau_s = _flat(node.tau_syn, n, f"{where}.tau_syn") / (dt if conv.tau_times_dt else 1)
        w_in = tau_s / dt if conv.input_jump else _flat(node.w_in, n, f"{where}.w_in")
        du = np.clip(np.round(full * dt / tau_s) - 1, 0, full - 1)
        return du, mem.v_gain * dt * w_in / tau_s, mem.v_gain * w_in
    if li is not None:
        lnode = g.nodes[li]
        tau_s = _flat(lnode.tau, n, f"LI '{li}'.tau")
        du = np.clip(np.round(full * dt / tau_s) - 1, 0, full - 1)
        lr = _flat(lnode.r, n, f"LI '{li}'.r")
        mem.leak = mem.leak + mem.v_gain * _flat(lnode.v_leak, n, f"LI '{li}'.v_leak")
        return du, mem.v_gain * dt * lr / tau_s, mem.v_gain * lr
    return np.full(n, full - 1.0), mem.v_gain, mem.v_gain


def _vth_target(chip) -> int:
    """The vth mantissa the largest threshold maps to (see :data:`NIR_VTH_BITS`)."""
    vmax = chip.v_range[1]
    return min(1 << NIR_VTH_BITS, (1 << chip.vth_bits) - 1, max(1, (vmax >> chip.vth_shift) >> NIR_HEADROOM_BITS))


def _plan(g, topo: _Topology, p: str, n: int, chip, dt: float, conv, pow2: bool) -> _Plan:
    node, t = g.nodes[p], topo.tname[p]
    where = f"{t} '{p}'"
    full = 1 << chip.decay_bits
    theta = _flat(node.v_threshold, n, f"{where}.v_threshold")
    if np.any(theta <= 0) or not np.all(np.isfinite(theta)):
        raise ConversionError(f"from_nir: {where}: v_threshold must be positive and finite")
    v_reset = getattr(node, "v_reset", None)
    if v_reset is not None and np.any(np.asarray(v_reset) != 0):
        raise ConversionError(f"from_nir: {where}: v_reset must be 0 (neurocore resets to zero or subtracts)")
    mem = MEMBRANE[t](node, n, dt, conv, full, where)
    li = topo.li_of.get(p)
    du, in_gain, bias_gain = _synapse(g, p, t, li, mem, n, dt, conv, full, where)
    s = _vth_target(chip) * 2.0 ** chip.vth_shift / theta.max()
    if pow2:   # a power of two keeps weights on a binary grid exact (vth mantissa in [2**11, 2**12))
        s = 2.0 ** np.floor(np.log2(s))
    vth = np.round(theta * s / 2.0 ** chip.vth_shift)
    return _Plan(n, s, vth, du, mem.dv, in_gain, bias_gain, mem.leak, t, li)


# ============================================================================ 4. quantize and build
def _quantize_bias(b: np.ndarray, chip, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-neuron (mantissa, exponent) with bias = mant << exp, the finest exponent that fits."""
    lim = (1 << (chip.bias_mant_bits - 1)) - 1
    emax = (1 << chip.bias_exp_bits) - 1
    exp = bias_exponents(b, chip.bias_mant_bits, chip.bias_exp_bits)
    mant = np.rint(np.asarray(b, np.float64) / 2.0 ** exp)
    bad = np.flatnonzero(np.abs(mant) > lim)
    if bad.size:
        raise ConversionError(f"from_nir: {where}: bias {b[bad[0]]:.4g} (v units per step) exceeds the chip's bias "
                              f"range ±{lim}·2^{emax}")
    return mant.astype(np.int64), exp


def _scalar_or_array(a: np.ndarray):
    """One int if all neurons share the value, else the int64 array."""
    return int(a[0]) if np.all(a == a[0]) else a.astype(np.int64)


def _neuron(pl: _Plan, mant, exp, conv):
    from neurocore.graph.neurons import IF, CubaLIF

    one = _scalar_or_array
    if pl.t == "IF" and pl.li is None:
        v0 = 1 if conv.spike_at_threshold and conv.reset == "subtract" else 0   # '>' becomes '>='
        return IF(vth=one(pl.vth), bias_mant=one(mant), bias_exp=one(exp), reset=conv.reset, v0=v0)
    return CubaLIF(du=one(pl.du), dv=one(pl.dv), vth=one(pl.vth), bias_mant=one(mant), bias_exp=one(exp),
                   reset=conv.reset)


def _connect(out, path: _Path, pl: _Plan, topo: _Topology, chip, dt, conv, graded_inputs, scale_in,
             n_paths: int) -> None:
    """Quantize one path's weights (per-projection exponent, full mantissa range) and connect it."""
    w = sp.csr_matrix(sp.diags(pl.s * pl.in_gain) @ path.matrix)   # v (u) units per unit of input
    from_input = path.src in topo.inputs
    if from_input and graded_inputs:
        w = w / scale_in
    steps = (0 if from_input and conv.same_step_input else 1) + round(path.delay_s / dt)
    peak = float(np.abs(w.data).max()) if w.nnz else 0.0
    if peak == 0:
        return
    wlo, whi = chip.weight_range
    emin = max(chip.weight_exp_min, -chip.act_shift)
    lim = min(whi, -wlo)
    e = smallest_exponent(peak, chip.act_shift + emin, chip.act_shift + chip.weight_exp_max,
                          lim + NIR_ROUND_SLACK - NIR_ROUND_EPS) - chip.act_shift
    if peak / 2.0 ** (chip.act_shift + e) > lim + NIR_ROUND_SLACK:
        raise ConversionError(f"from_nir: the weights from '{path.src}' into '{path.pop}' ({peak:.4g} v units per "
                              f"spike at most) exceed {whi}·2^({chip.act_shift}+{chip.weight_exp_max}) even at the "
                              "largest exponent")
    q = w.copy()
    q.data = np.clip(np.round(q.data / 2.0 ** (chip.act_shift + e)), wlo, whi)
    q.eliminate_zeros()
    kind, meta = "sparse", {}
    core = [o for o in path.ops if topo.tname[o] not in ("Delay",)]
    if len(core) == 1 and topo.tname[core[0]] in ("Linear", "Affine"):
        kind, meta = "dense", {"dense_macs": int(path.matrix.shape[0] * path.matrix.shape[1])}
    elif path.conv_meta is not None:  # one Conv2d / pooling node: a conv2d projection with its ConvSpec
        kind, meta = "conv2d", dict(path.conv_meta)
    name = _unique_proj_name(out, "->".join([path.src, *path.ops, path.pop])) if n_paths > 1 else None
    out.connect(path.src, path.pop, q.astype(np.int64), weight_exp=int(e), delay=steps, name=name, kind=kind,
                meta=meta)


def _unique_proj_name(graph, name):
    out, k = name, 1
    while out in graph.nodes or out in graph.projections:
        k += 1
        out = f"{name}#{k}"
    return out


def from_float_nir(g, chip=None, dt: float = 1e-3, graded_inputs: bool = False, conv=None, scale_in: float = 1.0,
                   pow2: bool = False):
    """Discretize a float ``nir.NIRGraph`` at ``dt`` seconds and quantize it to ``chip`` (default Loihi).

    ``conv`` is the source tool's :class:`~neurocore.nir_sources.SourceConvention` (default
    neurocore's own); ``scale_in`` multiplies graded inputs before rounding; ``pow2`` makes
    each population's v scale a power of two. Called by :func:`neurocore.nir.from_nir`,
    which resolves ``dt`` and the convention first; see its docstring for the model.
    """
    from neurocore.chip import loihi
    from neurocore.graph.graph import Graph
    from neurocore.nir_sources import SOURCES

    conv = SOURCES["neurocore"] if conv is None else conv
    chip = loihi() if chip is None else chip
    if not dt > 0:
        raise ConversionError(f"from_nir: dt must be > 0 seconds, got {dt!r}")
    topo = _topology(g)
    shapes, paths = _paths(g, topo)
    out = Graph()
    for k in topo.inputs:
        shp = shapes[k]
        out.input(int(np.prod(shp)), name=k, graded=graded_inputs, shape=shp if len(shp) == 3 else None)
    plan = {p: _plan(g, topo, p, int(np.prod(shapes[p])), chip, dt, conv, pow2) for p in topo.pops}
    biases = {p: plan[p].leak * plan[p].s for p in topo.pops}   # v units per step: leak + every path's bias
    for path in paths:
        biases[path.pop] = biases[path.pop] + plan[path.pop].s * plan[path.pop].bias_gain * path.bias
    for p in topo.pops:
        pl = plan[p]
        mant, exp = _quantize_bias(biases[p], chip, f"{pl.t} '{p}'")
        shp = shapes[p]
        out.population(pl.n, _neuron(pl, mant, exp, conv), name=p, shape=shp if len(shp) == 3 else None)
    for path in paths:
        _connect(out, path, plan[path.pop], topo, chip, dt, conv, graded_inputs, scale_in, len(paths))
    out.meta["nir_import"] = {"dt": dt, "v_scale": {p: float(plan[p].s) for p in topo.pops}, "reset": conv.reset,
                              "decay": conv.decay, "input_scale": scale_in if graded_inputs else None,
                              "input_delay": 0 if conv.same_step_input else 1}
    return out
