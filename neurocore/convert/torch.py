"""Reader for PyTorch ``nn.Module`` models, traced with ``torch.fx`` (extra ``neurocore[torch]``).

Models written as classes with a ``forward`` work, not only ``nn.Sequential``.
Supported: Linear, Conv2d, ReLU (module, ``F.relu``, ``torch.relu``, ``.relu()``),
:class:`~neurocore.convert.qcfs.QCFS` (a ReLU whose trained threshold sets the layer's scale),
BatchNorm1d/2d (folded), AvgPool2d, MaxPool2d, AdaptiveAvgPool2d to a size that
divides the input, Flatten (module, ``torch.flatten``, ``.flatten()``,
``.view(B, -1)``, ``.reshape(B, -1)``), Dropout and Identity (ignored), and
residual additions (``a + b``, ``torch.add``). Anything else raises
ConversionError naming every unsupported node before any work is done.
"""
from __future__ import annotations

import operator

import numpy as np

from neurocore.convert._ir import Op, bn_scale_shift
from neurocore.errors import ConversionError

__all__ = ["is_torch_module", "read_torch"]


def is_torch_module(model) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


def _np(t):
    return None if t is None else t.detach().cpu().double().numpy().copy()


def read_torch(model, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """Ops of a PyTorch module; ``sample`` (one or more calibration inputs) gives the shapes."""
    import torch
    import torch.nn.functional as F
    from torch import fx, nn
    from torch.fx.passes.shape_prop import ShapeProp

    if input_shape is None:
        raise ConversionError("a PyTorch model needs the input shape: pass calibration data")
    from neurocore.convert.qcfs import QCFS

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):  # QCFS is one activation, not its arithmetic
            return isinstance(m, QCFS) or super().is_leaf_module(m, qualname)

    was_training = model.training
    model.eval()
    try:
        tracer = _Tracer()
        graph = tracer.trace(model)
        gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    except Exception as exc:  # fx raises many types for untraceable Python
        raise ConversionError(f"torch.fx could not trace {type(model).__name__}: {exc}. Write data-dependent "
                              "control flow out of forward(), or export the model to ONNX and convert that") from exc
    finally:
        model.train(was_training)
    x0 = torch.as_tensor(np.asarray(sample if sample is not None else np.zeros((1,) + tuple(input_shape)))[:2],
                         dtype=torch.float32)
    modules = dict(gm.named_modules())

    fn_kind = {operator.add: "add", torch.add: "add", operator.iadd: "add", F.relu: "relu", torch.relu: "relu",
               torch.flatten: "flatten", F.dropout: "identity", F.avg_pool2d: "avgpool2d",
               F.max_pool2d: "maxpool2d"}
    method_kind = {"relu": "relu", "flatten": "flatten", "view": "reshape", "reshape": "reshape", "size": "size",
                   "add": "add", "contiguous": "identity"}
    mod_kind = {nn.Linear: "dense", nn.Conv2d: "conv2d", nn.ReLU: "relu", nn.BatchNorm1d: "batchnorm",
                nn.BatchNorm2d: "batchnorm", nn.AvgPool2d: "avgpool2d", nn.MaxPool2d: "maxpool2d",
                nn.Flatten: "flatten", nn.Dropout: "identity", nn.Dropout1d: "identity", nn.Dropout2d: "identity",
                nn.Identity: "identity", nn.AdaptiveAvgPool2d: "adaptiveavgpool", QCFS: "relu"}

    # 1. classify every node; refuse the unsupported ones, all at once, before any work
    plan, bad = [], []
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            plan.append((node, node.op, node.op))
            continue
        if node.op == "call_module":
            mod = modules[node.target]
            kind = mod_kind.get(type(mod))
            label = type(mod).__name__
        elif node.op == "call_function":
            kind = fn_kind.get(node.target)
            label = getattr(node.target, "__name__", str(node.target))
        elif node.op == "call_method":
            kind = method_kind.get(node.target)
            label = f".{node.target}()"
        else:
            kind, label = None, node.op
        if kind is None:
            bad.append(f"'{node.target if node.op == 'call_module' else node.name}' ({label})")
        plan.append((node, kind, label))
    if bad:
        raise ConversionError(f"PyTorch model {type(model).__name__} has {len(bad)} unsupported layer(s): "
                              f"{', '.join(bad)}. Supported: Linear, Conv2d, ReLU, QCFS, BatchNorm1d/2d (folded), "
                              "AvgPool2d, MaxPool2d, Flatten, Dropout (ignored), residual add; nothing was converted")
    try:
        ShapeProp(gm).propagate(x0)
    except Exception as exc:
        raise ConversionError(f"running {type(model).__name__} on a calibration sample of shape "
                              f"{tuple(x0.shape[1:])} failed: {exc}") from exc

    def shape(n):
        tm = n.meta.get("tensor_meta")
        return tuple(tm.shape[1:]) if tm is not None and hasattr(tm, "shape") else None

    # 2. translate
    ops: list[Op] = []
    alias: dict[str, str] = {}
    n_inputs = 0
    out_node = None

    def src(a):
        return alias.get(a.name, a.name)

    for node, kind, label in plan:
        name = node.target if node.op == "call_module" else node.name
        tensor_args = [a for a in node.args if isinstance(a, fx.Node)]
        if kind == "placeholder":
            n_inputs += 1
            ops.append(Op(node.name, "input", [], {"shape": tuple(input_shape)}, "input"))
            continue
        if kind == "output":
            out_node = node.args[0]
            continue
        if kind == "size":
            continue
        where = f"layer '{name}' ({label})"
        ins = [src(tensor_args[0])] if tensor_args else []
        p: dict = {}
        if node.op == "call_module":
            mod = modules[node.target]
            if kind == "dense":
                p = {"weight": _np(mod.weight), "bias": _np(mod.bias)}
            elif kind == "conv2d":
                if mod.padding_mode != "zeros" or isinstance(mod.padding, str):
                    if mod.padding == "same" and all(k % 2 for k in mod.kernel_size) and mod.dilation == (1, 1):
                        pad = tuple(k // 2 for k in mod.kernel_size)
                    else:
                        raise ConversionError(f"{where}: padding {mod.padding!r} / mode {mod.padding_mode!r} "
                                              "is not supported; use numeric zero padding")
                else:
                    pad = tuple(mod.padding)
                p = {"weight": _np(mod.weight), "bias": _np(mod.bias), "stride": tuple(mod.stride), "padding": pad,
                     "dilation": tuple(mod.dilation), "groups": int(mod.groups)}
            elif kind == "batchnorm":
                if mod.running_mean is None:
                    raise ConversionError(f"{where}: track_running_stats=False; BatchNorm needs running statistics "
                                          "to fold")
                g = _np(mod.weight) if mod.affine else np.ones(mod.num_features)
                b = _np(mod.bias) if mod.affine else np.zeros(mod.num_features)
                sc, sh = bn_scale_shift(g, b, _np(mod.running_mean), _np(mod.running_var), mod.eps)
                p = {"scale": sc, "shift": sh}
            elif kind in ("avgpool2d", "maxpool2d"):
                if getattr(mod, "ceil_mode", False):
                    raise ConversionError(f"{where}: ceil_mode=True is not supported")
                if kind == "avgpool2d" and mod.padding and not mod.count_include_pad:
                    raise ConversionError(f"{where}: count_include_pad=False with padding is not supported")
                if kind == "maxpool2d" and (mod.padding or mod.dilation not in (1, (1, 1))):
                    raise ConversionError(f"{where}: max-pooling with padding or dilation is not supported")
                p = {"kernel_size": mod.kernel_size, "stride": mod.stride, "padding": getattr(mod, "padding", 0)}
            elif kind == "adaptiveavgpool":
                hin = shape(tensor_args[0])
                out = mod.output_size if isinstance(mod.output_size, tuple) else (mod.output_size,) * 2
                out = tuple(hin[1 + i] if o is None else o for i, o in enumerate(out))
                if hin[1] % out[0] or hin[2] % out[1]:
                    raise ConversionError(f"{where}: output size {out} must divide the input size {hin[1:]}")
                kind = "avgpool2d"
                k = (hin[1] // out[0], hin[2] // out[1])
                p = {"kernel_size": k, "stride": k, "padding": 0}
            elif kind == "relu" and isinstance(mod, QCFS):
                lam = _np(mod.threshold).ravel()
                if lam.size != 1 or not np.isfinite(lam[0]) or lam[0] <= 0:
                    raise ConversionError(f"{where}: threshold {lam.tolist()} must be one positive finite value")
                p = {"threshold": float(lam[0]), "levels": int(mod.levels)}
            elif kind == "flatten" and mod.start_dim != 1:
                raise ConversionError(f"{where}: only flattening from dim 1 (the batch kept) is supported")
        elif kind == "add":
            if len(tensor_args) != 2 or len(node.args) != 2 or node.kwargs:
                raise ConversionError(f"{where}: only the sum of two tensors (a residual add) is supported")
            ins = [src(a) for a in tensor_args]
        elif kind == "flatten":
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            if start != 1:
                raise ConversionError(f"{where}: only flattening from dim 1 (the batch kept) is supported")
        elif kind == "reshape":
            out = shape(node)
            if out is None or len(out) != 1:
                raise ConversionError(f"{where}: only reshapes to (batch, features) (a flatten) are supported")
            kind = "flatten"
        elif kind in ("avgpool2d", "maxpool2d"):
            ks = node.args[1] if len(node.args) > 1 else node.kwargs["kernel_size"]
            st = node.args[2] if len(node.args) > 2 else node.kwargs.get("stride")
            p = {"kernel_size": ks, "stride": st or ks, "padding": 0}
        if kind == "identity":
            alias[node.name] = ins[0]
            continue
        ops.append(Op(node.name, kind, ins, p, label))
        ops[-1].params["_path"] = name
    if n_inputs != 1:
        raise ConversionError(f"PyTorch model {type(model).__name__} takes {n_inputs} inputs; one is supported")
    if not isinstance(out_node, fx.Node):
        raise ConversionError(f"PyTorch model {type(model).__name__} must return one tensor")
    if src(out_node) != ops[-1].name:
        ops.append(Op("output", "identity", [src(out_node)], {}, "output"))
    for op in ops:  # name layers by their module path
        path = op.params.pop("_path", None)
        if path and path != op.name:
            op.source_type = op.source_type
            op.params["module"] = path
    return _rename(ops), {"format": "PyTorch", "task": "classify", "classes": None}


def _rename(ops: list[Op]) -> list[Op]:
    """Use module paths ("features.0") as layer names where they are unique."""
    new = {}
    used = set()
    for op in ops:
        path = op.params.pop("module", None)
        nm = path if path and path not in used else op.name
        used.add(nm)
        new[op.name] = nm
    for op in ops:
        op.name = new[op.name]
        op.inputs = [new[i] for i in op.inputs]
    return ops
