"""Fold an ANN (a list of :class:`~neurocore.convert._ir.Op`) into spiking layers.

Every tensor of the ANN is held as an *affine expression* over the spiking
populations built so far: ``x = sum_s M_s @ a_s + b`` (``M_s`` sparse). Linear
ops (Linear, Conv2d, BatchNorm, AvgPool, Flatten, Dropout, constant adds) only
rewrite the expression, so BatchNorm and average pooling fold into the layer
next to them, wherever they sit, and a residual addition is the sum of two
expressions. A ReLU *materializes* the expression: it becomes a population of
IF neurons with one projection per source ``s`` and a bias ``b``.

Max-pooling is converted exactly, not approximated in the ANN: the max of a
window is a tournament of pairwise maxima, ``max(a, b) = b + relu(a - b)``, and
each round of the tournament is one population of IF neurons computing
``relu(a - b)`` from spikes (a 2x2 window: two rounds, two extra populations).
The result is again an affine expression and folds into the next layer. The
spiking version is exact in the rate limit and costs two extra steps of latency
per 2x2 pool; the accuracy test is ``tests/convert/test_torch.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurocore.convert._ir import Op
from neurocore.errors import ConversionError, GraphError
from neurocore.graph.layers import conv2d_matrix

__all__ = ["Expr", "SpikingLayer", "Term", "build_layers", "forward"]


@dataclass
class Term:
    """``matrix`` (n_dst, n_src) float; ``kind``: identity | diag | dense | conv2d | sparse; ``meta`` for Graph."""

    matrix: sp.csr_matrix
    kind: str = "identity"
    meta: dict = field(default_factory=dict)


@dataclass
class Expr:
    terms: dict[str, Term]
    bias: np.ndarray
    shape: tuple
    ops: list[tuple[str, str]] = field(default_factory=list)  # (name, source_type) folded since last layer
    nonneg: bool = False
    anchor: str | None = None  # the weighted ANN layer (Linear/Conv) that names the population

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    def is_pure(self) -> bool:
        """A spiking population's own output, untouched."""
        return (len(self.terms) == 1 and next(iter(self.terms.values())).kind == "identity"
                and not np.any(self.bias) and self.nonneg)


@dataclass
class SpikingLayer:
    """One population of IF neurons: ``z = sum_s M_s @ a_s + bias``, ``a = relu(z)`` (or ``z`` if ``none``).

    A QCFS layer (``levels`` set) has ``a = scale * clip(floor(z * levels / scale + 1/2) / levels, 0, 1)``.
    """

    name: str
    shape: tuple
    terms: dict[str, Term]
    bias: np.ndarray
    activation: str = "relu"
    ops: list[tuple[str, str]] = field(default_factory=list)
    scale: float | None = None   # a QCFS layer's trained threshold lambda (else None: calibrated)
    levels: int | None = None    # a QCFS layer's quantization levels L

    @property
    def n(self) -> int:
        return int(np.prod(self.shape))

    @property
    def type(self) -> str:
        kinds = [t for _, t in self.ops]
        return "+".join(kinds) if kinds else "IF"


def _ident(src: str, shape: tuple, nonneg: bool) -> Expr:
    n = int(np.prod(shape))
    return Expr({src: Term(sp.identity(n, format="csr", dtype=np.float64))}, np.zeros(n), tuple(shape), [], nonneg)


def _linear(e: Expr, a: sp.csr_matrix, b, shape: tuple, kind: str, meta: dict, op: Op) -> Expr:
    terms = {}
    for src, t in e.terms.items():
        m = sp.csr_matrix(a @ t.matrix)
        if t.kind in ("identity", "diag") and kind != "sparse":
            terms[src] = Term(m, kind, dict(meta))
        else:
            macs = t.meta.get("dense_macs", t.matrix.nnz) + meta.get("dense_macs", a.nnz)
            terms[src] = Term(m, "sparse", {"dense_macs": int(macs)})
    bias = a @ e.bias + (0.0 if b is None else b)
    anchor = op.name if kind in ("dense", "conv2d") else e.anchor
    return Expr(terms, np.asarray(bias, np.float64), tuple(shape), e.ops + [(op.name, op.source_type)], False,
                anchor)


def _scale(e: Expr, scale: np.ndarray, shift: np.ndarray, op: Op, nonneg: bool = False) -> Expr:
    d = sp.diags(scale, format="csr")
    terms = {s: Term(sp.csr_matrix(d @ t.matrix), "diag" if t.kind == "identity" else t.kind, dict(t.meta))
             for s, t in e.terms.items()}
    return Expr(terms, scale * e.bias + shift, e.shape, e.ops + [(op.name, op.source_type)], nonneg, e.anchor)


def _add(e1: Expr, e2: Expr, op: Op | None) -> Expr:
    terms = dict(e1.terms)
    for s, t in e2.terms.items():
        if s in terms:
            u = terms[s]
            macs = u.meta.get("dense_macs", u.matrix.nnz) + t.meta.get("dense_macs", t.matrix.nnz)
            terms[s] = Term(sp.csr_matrix(u.matrix + t.matrix), "sparse", {"dense_macs": int(macs)})
        else:
            terms[s] = t
    ops = e1.ops + [o for o in e2.ops if o not in e1.ops] + ([(op.name, op.source_type)] if op else [])
    return Expr(terms, e1.bias + e2.bias, e1.shape, ops, e1.nonneg and e2.nonneg, e1.anchor or e2.anchor)


def _neg(e: Expr) -> Expr:
    terms = {s: Term(-t.matrix, "sparse" if t.kind == "identity" else t.kind, dict(t.meta)) for s, t in e.terms.items()}
    return Expr(terms, -e.bias, e.shape, list(e.ops), False)


def _vstack(exprs: list[Expr], shape: tuple) -> Expr:
    srcs = []
    for e in exprs:
        srcs += [s for s in e.terms if s not in srcs]
    terms = {}
    for s in srcs:
        n_src = next(e.terms[s].matrix.shape[1] for e in exprs if s in e.terms)
        blocks = [e.terms[s].matrix if s in e.terms else sp.csr_matrix((e.n, n_src)) for e in exprs]
        terms[s] = Term(sp.csr_matrix(sp.vstack(blocks)), "sparse", {})
    ops = []
    for e in exprs:
        ops += [o for o in e.ops if o not in ops]
    return Expr(terms, np.concatenate([e.bias for e in exprs]), shape, ops, False)


def _rows(e: Expr, lo: int, hi: int, shape: tuple) -> Expr:
    terms = {s: Term(t.matrix[lo:hi], "sparse" if t.kind == "identity" else t.kind, dict(t.meta))
             for s, t in e.terms.items()}
    return Expr(terms, e.bias[lo:hi].copy(), shape, list(e.ops), e.nonneg)


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.ndim(v) == 0 else (int(v[0]), int(v[1]))


class _Builder:
    def __init__(self) -> None:
        self.layers: list[SpikingLayer] = []
        self.names: set[str] = set()
        self.in_name: str | None = None          # set by the input op
        self.in_shape: tuple | None = None

    def unique(self, name: str) -> str:
        base, i = name, 1
        while name in self.names:
            name = f"{base}_{i}"
            i += 1
        self.names.add(name)
        return name

    def materialize(self, e: Expr, name: str, activation: str = "relu", extra: tuple[str, str] | None = None,
                    scale: float | None = None, levels: int | None = None) -> Expr:
        if e.is_pure() and activation == "relu":
            return e
        ops = list(e.ops) + ([extra] if extra else [])
        first = e.anchor or next((nm for nm, _ in e.ops), name)
        layer = SpikingLayer(self.unique(first), e.shape, e.terms, e.bias, activation, ops, scale, levels)
        self.layers.append(layer)
        return _ident(layer.name, e.shape, activation == "relu")


def _maxpool(b: _Builder, e: Expr, op: Op) -> Expr:
    if len(e.shape) != 3:
        raise ConversionError(f"layer '{op.name}' ({op.source_type}) needs a (C, H, W) input, got shape {e.shape}")
    kh, kw = _pair(op.params["kernel_size"])
    stride = op.params.get("stride") or (kh, kw)
    c = e.shape[0]
    vals, out_shape = [], None
    for i in range(kh):
        for j in range(kw):
            k = np.zeros((c, 1, kh, kw))
            k[:, 0, i, j] = 1.0
            m, out_shape = _conv_matrix(k, e.shape, stride, 0, 1, c, f"layer '{op.name}'")
            vals.append(_linear(e, m, None, out_shape, "sparse", {}, op))
    n = int(np.prod(out_shape))
    level = 0
    while len(vals) > 1:
        pairs = [(vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)]
        diff = _vstack([_add(a, _neg(bb), None) for a, bb in pairs], (len(pairs) * c,) + tuple(out_shape[1:]))
        diff.ops, diff.anchor = [(f"{op.name}.max{level}", f"{op.source_type} round {level}")], None
        r = b.materialize(diff, f"{op.name}.max{level}")
        nxt = [_add(bb, _rows(r, k * n, (k + 1) * n, out_shape), None) for k, (_, bb) in enumerate(pairs)]
        if len(vals) % 2:
            nxt.append(vals[-1])
        vals = nxt
        level += 1
    out = vals[0]
    out.nonneg = e.nonneg
    out.ops = [(op.name, op.source_type)]
    return out


def _conv_matrix(k: np.ndarray, shape: tuple, stride, padding, dilation, groups, where: str):
    """:func:`conv2d_matrix`, its GraphError re-raised as the converter's ConversionError."""
    try:
        return conv2d_matrix(k, shape, stride, padding, dilation, groups, where=where)
    except GraphError as exc:
        raise ConversionError(str(exc)) from None


def _need_chw(x: Expr, where: str) -> None:
    if len(x.shape) != 3:
        raise ConversionError(f"{where}: needs a (C, H, W) input, got shape {x.shape}")


def _fold_input(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    b.in_name, b.in_shape = b.unique(op.name), tuple(int(i) for i in op.params["shape"])
    return _ident(b.in_name, b.in_shape, False)


def _fold_identity(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    return args[0]


def _flat(x: Expr) -> Expr:
    return Expr(x.terms, x.bias, (x.n,), x.ops, x.nonneg, x.anchor)


def _fold_flatten(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    return _flat(args[0])


def _fold_dense(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    w = np.asarray(op.params["weight"], np.float64)
    x = args[0]
    if x.shape != (x.n,) and w.shape[1] == x.n:
        x = _flat(x)  # implicit flatten
    if w.ndim != 2 or w.shape[1] != x.n:
        raise ConversionError(f"{where}: weight has shape {w.shape}; its input has {x.n} features")
    return _linear(x, sp.csr_matrix(w), op.params.get("bias"), (w.shape[0],), "dense", {"dense_macs": int(w.size)}, op)


def _fold_conv2d(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    p = op.params
    k = np.asarray(p["weight"], np.float64)
    x = args[0]
    _need_chw(x, where)
    stride, padding, dilation, groups = p.get("stride", 1), p.get("padding", 0), p.get("dilation", 1), p.get("groups", 1)
    m, oshape = _conv_matrix(k, x.shape, stride, padding, dilation, groups, where)
    bias = None if p.get("bias") is None else np.repeat(np.asarray(p["bias"], np.float64), oshape[1] * oshape[2])
    meta = {"dense_macs": int(np.prod(oshape)) * int(np.prod(k.shape[1:])),
            "kernel_shape": tuple(int(i) for i in k.shape), "in_shape": tuple(x.shape), "out_shape": oshape,
            "stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    return _linear(x, m, bias, oshape, "conv2d", meta, op)


def _per_element(v: np.ndarray, reps: int, per_channel: bool, n: int) -> np.ndarray:
    """A batchnorm's per-channel (or an affine's per-element / scalar) constant over ``n`` elements."""
    return np.repeat(v, reps) if v.size > 1 or per_channel else np.full(n, v.item())


def _fold_scale(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    x = args[0]
    bn = op.kind == "batchnorm"
    sc, sh = np.asarray(op.params["scale"], np.float64), np.asarray(op.params["shift"], np.float64)
    reps = x.n // max(sc.size, 1) if bn else 1
    if bn and sc.size != x.shape[0]:
        raise ConversionError(f"{where}: {sc.size} channels; its input has shape {x.shape}")
    sc, sh = _per_element(sc, reps, bn, x.n), _per_element(sh, reps, bn, x.n)
    if sc.size != x.n or sh.size != x.n:
        raise ConversionError(f"{where}: cannot broadcast its constants over an input of shape {x.shape}")
    return _scale(x, sc, sh, op, nonneg=x.nonneg and np.all(sc >= 0) and np.all(sh >= 0))


def _fold_relu(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    x = args[0]
    x = Expr(x.terms, x.bias, x.shape, x.ops + [(op.name, op.source_type)], x.nonneg, x.anchor)
    pure = x.is_pure()
    if "threshold" in op.params:  # QCFS: its own population, with the trained threshold
        if pure:
            raise ConversionError(f"{where}: a QCFS directly on another activation's output is not "
                                  "supported; put a weighted layer (or a pool) between them")
        return b.materialize(x, op.name, scale=float(op.params["threshold"]), levels=int(op.params["levels"]))
    return args[0] if pure else b.materialize(x, op.name)


def _fold_avgpool(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    p = op.params
    x = args[0]
    _need_chw(x, where)
    kh, kw = (x.shape[1], x.shape[2]) if p.get("global") else _pair(p["kernel_size"])
    c = x.shape[0]
    k = np.full((c, 1, kh, kw), 1.0 / (kh * kw))
    m, oshape = _conv_matrix(k, x.shape, p.get("stride") or (kh, kw), p.get("padding", 0), 1, c, where)
    e = _linear(x, m, None, oshape, "sparse", {"dense_macs": int(np.prod(oshape)) * kh * kw}, op)
    e.nonneg = x.nonneg
    return e


def _fold_maxpool(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    return _maxpool(b, args[0], op)


def _fold_add(b: _Builder, op: Op, args: list[Expr], where: str) -> Expr:
    if len(args) != 2 or args[0].shape != args[1].shape and args[0].n != args[1].n:
        raise ConversionError(f"{where}: adds tensors of shapes {[a.shape for a in args]}")
    return _add(args[0], args[1], op)


#: Op kind -> fold(builder, op, input expressions, where) -> the op's output expression.
#: check_ops has refused every kind not here before folding starts.
FOLD = {"input": _fold_input, "identity": _fold_identity, "flatten": _fold_flatten, "dense": _fold_dense,
        "conv2d": _fold_conv2d, "batchnorm": _fold_scale, "affine": _fold_scale, "relu": _fold_relu,
        "avgpool2d": _fold_avgpool, "maxpool2d": _fold_maxpool, "add": _fold_add}


def build_layers(ops: list[Op], output_activation: str = "none") -> tuple[str, tuple, list[SpikingLayer]]:
    """Fold ``ops`` into spiking layers; returns (input name, input shape, layers in topological order).

    The last layer is the output; it has ``output_activation`` unless the model
    ends in a ReLU (then that population is the output).
    """
    b = _Builder()
    env: dict[str, Expr] = {}
    last = None
    for op in ops:
        where = f"layer '{op.name}' ({op.source_type})"
        fold = FOLD.get(op.kind)
        if fold is None:  # pragma: no cover - check_ops refuses these first
            raise ConversionError(f"{where}: unsupported")
        last = env[op.name] = fold(b, op, [env[s] for s in op.inputs], where)
    if last is None or b.in_name is None:
        raise ConversionError("the model has no layers")
    ends_in_relu = last.is_pure() and b.layers and next(iter(last.terms)) == b.layers[-1].name
    if not ends_in_relu:  # else the model ends in a ReLU: that population is the output
        b.materialize(Expr(last.terms, last.bias, last.shape, last.ops, False, last.anchor), "output",
                      output_activation)
    if not b.layers:
        raise ConversionError("the model has no weighted layer to convert")
    return b.in_name, b.in_shape, b.layers


def forward(layers: list[SpikingLayer], in_name: str, x: np.ndarray) -> dict[str, np.ndarray]:
    """Float ANN activations of every layer, (batch, n); ``out[in_name]`` is the flattened input."""
    acts = {in_name: np.asarray(x, np.float64).reshape(x.shape[0], -1)}
    for layer in layers:
        z = np.tile(layer.bias, (acts[in_name].shape[0], 1))
        for s, t in layer.terms.items():
            z += np.asarray(t.matrix @ acts[s].T).T
        if layer.levels:
            lam, lv = float(layer.scale), int(layer.levels)
            acts[layer.name] = lam * np.clip(np.floor(z * (lv / lam) + 0.5) / lv, 0.0, 1.0)
        else:
            acts[layer.name] = np.maximum(z, 0.0) if layer.activation == "relu" else z
    return acts
