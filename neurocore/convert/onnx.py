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

import numpy as np

from neurocore.convert._ir import Op, bn_scale_shift
from neurocore.errors import ConversionError

__all__ = ["is_onnx", "read_onnx", "readable_name"]

_KINDS = {"Gemm": "dense", "MatMul": "dense", "Conv": "conv2d", "Relu": "relu", "BatchNormalization": "batchnorm",
          "AveragePool": "avgpool2d", "GlobalAveragePool": "avgpool2d", "MaxPool": "maxpool2d", "Flatten": "flatten",
          "Reshape": "flatten", "Dropout": "identity", "Identity": "identity", "Add": "add", "Constant": "const"}


def is_onnx(model) -> bool:
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return str(model).endswith(".onnx")
    return type(model).__name__ == "ModelProto" and type(model).__module__.startswith("onnx")


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def read_onnx(model, input_shape=None) -> tuple[list[Op], dict]:
    """Ops of an ONNX graph (opset >= 9)."""
    import onnx
    from onnx import numpy_helper

    if not hasattr(model, "graph"):
        model = onnx.load(str(model))
    g = model.graph
    consts = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in g.initializer}
    bad = [f"'{n.name or n.output[0]}' ({n.op_type})" for n in g.node if n.op_type not in _KINDS]
    if bad:
        raise ConversionError(f"ONNX model has {len(bad)} unsupported node(s): {', '.join(bad)}. Supported: "
                              f"{', '.join(sorted(_KINDS))}; nothing was converted")
    inputs = [i for i in g.input if i.name not in consts]
    if len(inputs) != 1:
        raise ConversionError(f"ONNX model has {len(inputs)} inputs {[i.name for i in inputs]}; one is supported")
    if input_shape is None:
        dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim][1:]
        if not dims or not all(dims):
            raise ConversionError("the ONNX input shape is not fixed: pass calibration data")
        input_shape = tuple(dims)
    ops = [Op(inputs[0].name, "input", [], {"shape": tuple(input_shape)}, "input")]
    alias: dict[str, str] = {}
    made: set[str] = {inputs[0].name}

    def src(t):
        return alias.get(t, t)

    for node in g.node:
        a = _attrs(node)
        kind = _KINDS[node.op_type]
        name = node.name or node.output[0]
        where = f"ONNX node '{name}' ({node.op_type})"
        out = node.output[0]
        if kind == "const":
            consts[out] = numpy_helper.to_array(a["value"]).astype(np.float64)
            continue
        tens = [i for i in node.input if i and i not in consts]
        cst = [consts[i] for i in node.input if i in consts]
        p: dict = {}
        if kind == "dense":
            if node.op_type == "Gemm":
                if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise ConversionError(f"{where}: only transA=0, alpha=beta=1 is supported")
                w = consts[node.input[1]]
                w = w if a.get("transB", 0) else w.T
                b = consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None
            else:
                if node.input[1] not in consts:
                    raise ConversionError(f"{where}: the second operand must be a constant weight")
                w, b = consts[node.input[1]].T, None
            p = {"weight": np.ascontiguousarray(w), "bias": b}
        elif kind == "conv2d":
            pads = list(a.get("pads", [0, 0, 0, 0]))
            if pads[:2] != pads[2:] or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise ConversionError(f"{where}: only symmetric explicit padding is supported (pads={pads})")
            w = consts[node.input[1]]
            p = {"weight": w, "bias": consts[node.input[2]] if len(node.input) > 2 and node.input[2] else None,
                 "stride": tuple(a.get("strides", (1, 1))), "padding": tuple(pads[:2]),
                 "dilation": tuple(a.get("dilations", (1, 1))), "groups": int(a.get("group", 1))}
        elif kind == "batchnorm":
            sc, sh = bn_scale_shift(*(consts[i] for i in node.input[1:5]), a.get("epsilon", 1e-5))
            p = {"scale": sc, "shift": sh}
        elif kind in ("avgpool2d", "maxpool2d"):
            if node.op_type == "GlobalAveragePool":
                p = {"kernel_size": None, "stride": None, "padding": 0, "global": True}
            else:
                pads = list(a.get("pads", [0, 0, 0, 0]))
                if a.get("ceil_mode", 0) or pads[:2] != pads[2:]:
                    raise ConversionError(f"{where}: ceil_mode or asymmetric padding is not supported")
                if kind == "avgpool2d" and any(pads) and not a.get("count_include_pad", 0):
                    raise ConversionError(f"{where}: padding with count_include_pad=0 is not supported")
                if kind == "maxpool2d" and any(pads):
                    raise ConversionError(f"{where}: max-pooling with padding is not supported")
                ks = tuple(a["kernel_shape"])
                p = {"kernel_size": ks, "stride": tuple(a.get("strides", ks)), "padding": tuple(pads[:2])}
        elif kind == "flatten":
            if node.op_type == "Flatten" and a.get("axis", 1) != 1:
                raise ConversionError(f"{where}: only axis=1 is supported")
            if node.op_type == "Reshape":
                shp = cst[0] if cst else None
                if shp is None or shp.size != 2 or not (shp[1] == -1 or shp[0] in (-1, 0) or shp[0] >= 1):
                    raise ConversionError(f"{where}: only reshapes to (batch, features) are supported")
        elif kind == "add":
            if len(tens) == 2:
                pass
            elif len(tens) == 1 and cst:
                kind, p = "affine", {"scale": np.ones(1), "shift": cst[0].ravel()}
            else:
                raise ConversionError(f"{where}: unsupported operands")
        elif kind == "identity":
            alias[out] = src(tens[0])
            continue
        ins = [src(t) for t in (tens if kind == "add" else tens[:1])]
        for i in ins:
            if i not in made:
                raise ConversionError(f"{where}: reads '{i}', which no supported node produced")
        ops.append(Op(out, kind, ins, p, node.op_type))
        made.add(out)
    # a MatMul followed by Add(const) is a dense layer with bias: fold it
    merged: list[Op] = []
    for op in ops:
        if (op.kind == "affine" and merged and merged[-1].kind == "dense" and merged[-1].params["bias"] is None
                and op.inputs == [merged[-1].name]
                and op.params["shift"].size in (1, merged[-1].params["weight"].shape[0])):
            prev = merged[-1]
            prev.params["bias"] = np.broadcast_to(op.params["shift"], (prev.params["weight"].shape[0],)).copy()
            prev.name = op.name
            continue
        merged.append(op)
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
