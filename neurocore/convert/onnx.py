"""Reader for ONNX models (extra ``neurocore[onnx]``): a path or an ``onnx.ModelProto``.

Supported operators: Gemm, MatMul (+ Add of a constant: the bias), Conv,
Relu, BatchNormalization (folded), AveragePool, GlobalAveragePool, MaxPool,
Flatten, Reshape to (batch, features), Dropout and Identity (ignored), Add of
two tensors (a residual addition), Constant. Anything else raises
ConversionError naming every unsupported node before any work is done.

Layers are named after their ONNX output tensors, made readable by
:func:`readable_name` (``/0/Gemm_output_0`` -> ``0.Gemm``), unique within the model.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurocore.convert._ir import Op, bn_scale_shift
from neurocore.errors import ConversionError

__all__ = ["is_onnx", "read_onnx", "readable_name"]

def is_onnx(model) -> bool:
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return str(model).endswith(".onnx")
    return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


@dataclass
class _Node:
    """One ONNX node as a handler sees it.

    Attributes
    ----------
    node : onnx.NodeProto
    a : dict
        Its attributes, decoded.
    consts : dict[str, np.ndarray]
        Every constant tensor known so far (initializers and Constant outputs), float64.
    tens : list[str]
        Its non-constant inputs (tensor names).
    cst : list[np.ndarray]
        Its constant inputs, in order.
    """

    node: object
    a: dict
    consts: dict
    tens: list[str]
    cst: list

    @property
    def where(self) -> str:
        return f"ONNX node '{self.node.name or self.node.output[0]}' ({self.node.op_type})"

    def const_input(self, i: int):
        """The constant at input ``i``, or None if the node has no such (non-empty) input."""
        n = self.node.input
        return self.consts[n[i]] if len(n) > i and n[i] else None


# A handler returns (kind, params) of the node's Op; kind "identity" aliases the node's output to its
# input, kind "const" records a constant (no op). It raises ConversionError for unsupported attributes.
Handler = Callable[[_Node], tuple[str, dict]]


def _gemm(c: _Node) -> tuple[str, dict]:
    a = c.a
    if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
        raise ConversionError(f"{c.where}: only transA=0, alpha=beta=1 is supported")
    w = c.consts[c.node.input[1]]
    w = w if a.get("transB", 0) else w.T
    return "dense", {"weight": np.ascontiguousarray(w), "bias": c.const_input(2)}


def _matmul(c: _Node) -> tuple[str, dict]:
    if c.node.input[1] not in c.consts:
        raise ConversionError(f"{c.where}: the second operand must be a constant weight")
    return "dense", {"weight": np.ascontiguousarray(c.consts[c.node.input[1]].T), "bias": None}


def _conv(c: _Node) -> tuple[str, dict]:
    a = c.a
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:] or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise ConversionError(f"{c.where}: only symmetric explicit padding is supported (pads={pads})")
    return "conv2d", {"weight": c.consts[c.node.input[1]], "bias": c.const_input(2),
                      "stride": tuple(a.get("strides", (1, 1))), "padding": tuple(pads[:2]),
                      "dilation": tuple(a.get("dilations", (1, 1))), "groups": int(a.get("group", 1))}


def _batchnorm(c: _Node) -> tuple[str, dict]:
    sc, sh = bn_scale_shift(*(c.consts[i] for i in c.node.input[1:5]), c.a.get("epsilon", 1e-5))
    return "batchnorm", {"scale": sc, "shift": sh}


def _pool(kind: str) -> Handler:
    def handle(c: _Node) -> tuple[str, dict]:
        a = c.a
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if a.get("ceil_mode", 0) or pads[:2] != pads[2:]:
            raise ConversionError(f"{c.where}: ceil_mode or asymmetric padding is not supported")
        if kind == "avgpool2d" and any(pads) and not a.get("count_include_pad", 0):
            raise ConversionError(f"{c.where}: padding with count_include_pad=0 is not supported")
        if kind == "maxpool2d" and any(pads):
            raise ConversionError(f"{c.where}: max-pooling with padding is not supported")
        ks = tuple(a["kernel_shape"])
        return kind, {"kernel_size": ks, "stride": tuple(a.get("strides", ks)), "padding": tuple(pads[:2])}

    return handle


def _global_avgpool(c: _Node) -> tuple[str, dict]:
    return "avgpool2d", {"kernel_size": None, "stride": None, "padding": 0, "global": True}


def _flatten(c: _Node) -> tuple[str, dict]:
    if c.a.get("axis", 1) != 1:
        raise ConversionError(f"{c.where}: only axis=1 is supported")
    return "flatten", {}


def _reshape(c: _Node) -> tuple[str, dict]:
    shp = c.cst[0] if c.cst else None
    if shp is None or shp.size != 2 or not (shp[1] == -1 or shp[0] in (-1, 0) or shp[0] >= 1):
        raise ConversionError(f"{c.where}: only reshapes to (batch, features) are supported")
    return "flatten", {}


def _add(c: _Node) -> tuple[str, dict]:
    if len(c.tens) == 2:
        return "add", {}
    if len(c.tens) == 1 and c.cst:
        return "affine", {"scale": np.ones(1), "shift": c.cst[0].ravel()}
    raise ConversionError(f"{c.where}: unsupported operands")


def _constant(c: _Node) -> tuple[str, dict]:
    from onnx import numpy_helper

    c.consts[c.node.output[0]] = numpy_helper.to_array(c.a["value"]).astype(np.float64)
    return "const", {}


def _kind(kind: str) -> Handler:
    return lambda c: (kind, {})


#: ONNX op type -> handler. An op type not here is unsupported: the one fall-through.
_HANDLERS: dict[str, Handler] = {
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "Relu": _kind("relu"), "BatchNormalization": _batchnorm,
    "AveragePool": _pool("avgpool2d"), "GlobalAveragePool": _global_avgpool, "MaxPool": _pool("maxpool2d"),
    "Flatten": _flatten, "Reshape": _reshape, "Dropout": _kind("identity"), "Identity": _kind("identity"),
    "Add": _add, "Constant": _constant,
}


def _graph_input(g, consts: dict, input_shape) -> tuple[str, tuple[int, ...]]:
    """The one non-constant graph input and its per-sample shape."""
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise ConversionError(f"ONNX model has {len(inputs)} inputs {[i.name for i in inputs]}; one is supported")
    if input_shape is None:
        dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim][1:]
        if not dims or not all(dims):
            raise ConversionError("the ONNX input shape is not fixed: pass calibration data")
        input_shape = tuple(dims)
    return inputs[0].name, tuple(input_shape)


def _fold_matmul_bias(ops: list[Op]) -> list[Op]:
    """A MatMul followed by Add(const) is a dense layer with bias: fold it."""
    merged: list[Op] = []
    for op in ops:
        prev = merged[-1] if merged else None
        if (op.kind == "affine" and prev is not None and prev.kind == "dense" and prev.params["bias"] is None
                and op.inputs == [prev.name] and op.params["shift"].size in (1, prev.params["weight"].shape[0])):
            prev.params["bias"] = np.broadcast_to(op.params["shift"], (prev.params["weight"].shape[0],)).copy()
            prev.name = op.name
            continue
        merged.append(op)
    return merged


def read_onnx(model, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """Ops of an ONNX graph (opset >= 9).

    ``sample`` is not needed here (every reader takes ``(model, input_shape, sample)``,
    see :data:`neurocore.convert.READERS`).
    """
    import onnx
    from onnx import numpy_helper

    if not hasattr(model, "graph"):
        model = onnx.load(str(model))
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    bad = [f"'{n.name or n.output[0]}' ({n.op_type})" for n in g.node if n.op_type not in _HANDLERS]
    if bad:
        raise ConversionError(f"ONNX model has {len(bad)} unsupported node(s): {', '.join(bad)}. Supported: "
                              f"{', '.join(sorted(_HANDLERS))}; nothing was converted")
    in_name, in_shape = _graph_input(g, consts, input_shape)
    ops = [Op(in_name, "input", [], {"shape": in_shape}, "input")]
    alias: dict[str, str] = {}
    made: set[str] = {in_name}

    def src(t):
        return alias.get(t, t)

    for node in g.node:
        c = _Node(node, _attrs(node), consts, [i for i in node.input if i and i not in consts],
                  [consts[i] for i in node.input if i in consts])
        kind, p = _HANDLERS[node.op_type](c)
        out = node.output[0]
        if kind == "const":
            continue
        if kind == "identity":
            alias[out] = src(c.tens[0])
            continue
        ins = [src(t) for t in (c.tens if kind == "add" else c.tens[:1])]
        for i in ins:
            if i not in made:
                raise ConversionError(f"{c.where}: reads '{i}', which no supported node produced")
        ops.append(Op(out, kind, ins, p, node.op_type))
        made.add(out)
    merged = _fold_matmul_bias(ops)
    outs = [o.name for o in g.output]
    if len(outs) != 1:
        raise ConversionError(f"ONNX model has {len(outs)} outputs; one is supported")
    if src(outs[0]) != merged[-1].name:
        merged.append(Op("output", "identity", [src(outs[0])], {}, "output"))
    return _readable_names(merged), {"format": "ONNX", "task": "classify", "classes": None}


def readable_name(tensor: str) -> str:
    """A population name from an ONNX tensor name: exporters name tensors like
    ``/0/Gemm_output_0`` or ``/features/conv1/Conv_output_0``; these become ``0.Gemm`` and
    ``features.conv1.Conv`` (leading ``/`` and the ``_output_0`` suffix dropped, ``/`` -> ``.``)."""
    name = tensor.strip("/")
    if name.endswith("_output_0"):
        name = name[: -len("_output_0")]
    name = name.replace("/", ".").strip(".")
    return name or "layer"


def _readable_names(ops: list[Op]) -> list[Op]:
    """Rename every op with :func:`readable_name`, keeping names unique (``_2``, ``_3``... on a clash)."""
    new: dict[str, str] = {}
    used: set[str] = set()
    for op in ops:
        base = readable_name(op.name)
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        new[op.name] = name
    for op in ops:
        op.name = new[op.name]
        op.inputs = [new.get(i, i) for i in op.inputs]
    return ops
