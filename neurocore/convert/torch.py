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

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field

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


@dataclass
class _Node:
    """One traced fx node as a handler sees it.

    Attributes
    ----------
    node : torch.fx.Node
    kind : str
        The op kind its table entry names (a handler may return another, e.g. ``adaptiveavgpool`` -> ``avgpool2d``).
    label : str
        Its type in the source (``"Conv2d"``, ``"relu"``, ``".view()"``), for messages and reports.
    module : torch.nn.Module or None
        The called module (``call_module`` nodes only).
    ins : list[str]
        Op names of its first tensor argument (all of them for ``add``; see :func:`_add`).
    """

    node: object
    kind: str
    label: str
    module: object = None
    ins: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node.target if self.node.op == "call_module" else self.node.name

    @property
    def where(self) -> str:
        return f"layer '{self.name}' ({self.label})"

    @property
    def tensor_args(self) -> list:
        from torch import fx

        return [a for a in self.node.args if isinstance(a, fx.Node)]


# A handler turns one classified node into (kind, inputs, params) of its Op; it raises ConversionError
# for a supported type used in an unsupported way. kind "identity" makes the node an alias of its input.
Handler = Callable[[_Node, Callable], tuple[str, list[str], dict]]


def _shape(n) -> tuple[int, ...] | None:
    """Per-sample output shape ShapeProp recorded on fx node ``n`` (None if it has none)."""
    tm = n.meta.get("tensor_meta")
    return tuple(tm.shape[1:]) if tm is not None and hasattr(tm, "shape") else None


def _plain(c: _Node, src) -> tuple[str, list[str], dict]:
    return c.kind, c.ins, {}


def _linear(c: _Node, src) -> tuple[str, list[str], dict]:
    return "dense", c.ins, {"weight": _np(c.module.weight), "bias": _np(c.module.bias)}


def _conv2d(c: _Node, src) -> tuple[str, list[str], dict]:
    mod = c.module
    if mod.padding_mode != "zeros" or isinstance(mod.padding, str):
        if not (mod.padding == "same" and all(k % 2 for k in mod.kernel_size) and mod.dilation == (1, 1)):
            raise ConversionError(f"{c.where}: padding {mod.padding!r} / mode {mod.padding_mode!r} "
                                  "is not supported; use numeric zero padding")
        pad = tuple(k // 2 for k in mod.kernel_size)
    else:
        pad = tuple(mod.padding)
    return "conv2d", c.ins, {"weight": _np(mod.weight), "bias": _np(mod.bias), "stride": tuple(mod.stride),
                             "padding": pad, "dilation": tuple(mod.dilation), "groups": int(mod.groups)}


def _batchnorm(c: _Node, src) -> tuple[str, list[str], dict]:
    mod = c.module
    if mod.running_mean is None:
        raise ConversionError(f"{c.where}: track_running_stats=False; BatchNorm needs running statistics to fold")
    g = _np(mod.weight) if mod.affine else np.ones(mod.num_features)
    b = _np(mod.bias) if mod.affine else np.zeros(mod.num_features)
    sc, sh = bn_scale_shift(g, b, _np(mod.running_mean), _np(mod.running_var), mod.eps)
    return "batchnorm", c.ins, {"scale": sc, "shift": sh}


def _pool_module(c: _Node, src) -> tuple[str, list[str], dict]:
    mod = c.module
    if getattr(mod, "ceil_mode", False):
        raise ConversionError(f"{c.where}: ceil_mode=True is not supported")
    if c.kind == "avgpool2d" and mod.padding and not mod.count_include_pad:
        raise ConversionError(f"{c.where}: count_include_pad=False with padding is not supported")
    if c.kind == "maxpool2d" and (mod.padding or mod.dilation not in (1, (1, 1))):
        raise ConversionError(f"{c.where}: max-pooling with padding or dilation is not supported")
    return c.kind, c.ins, {"kernel_size": mod.kernel_size, "stride": mod.stride,
                           "padding": getattr(mod, "padding", 0)}


def _adaptive_avgpool(c: _Node, src) -> tuple[str, list[str], dict]:
    mod = c.module
    hin = _shape(c.tensor_args[0])
    out = mod.output_size if isinstance(mod.output_size, tuple) else (mod.output_size,) * 2
    out = tuple(hin[1 + i] if o is None else o for i, o in enumerate(out))
    if hin[1] % out[0] or hin[2] % out[1]:
        raise ConversionError(f"{c.where}: output size {out} must divide the input size {hin[1:]}")
    k = (hin[1] // out[0], hin[2] // out[1])
    return "avgpool2d", c.ins, {"kernel_size": k, "stride": k, "padding": 0}


def _qcfs(c: _Node, src) -> tuple[str, list[str], dict]:
    lam = _np(c.module.threshold).ravel()
    if lam.size != 1 or not np.isfinite(lam[0]) or lam[0] <= 0:
        raise ConversionError(f"{c.where}: threshold {lam.tolist()} must be one positive finite value")
    return "relu", c.ins, {"threshold": float(lam[0]), "levels": int(c.module.levels)}


def _flatten_module(c: _Node, src) -> tuple[str, list[str], dict]:
    if c.module.start_dim != 1:
        raise ConversionError(f"{c.where}: only flattening from dim 1 (the batch kept) is supported")
    return "flatten", c.ins, {}


def _flatten_call(c: _Node, src) -> tuple[str, list[str], dict]:
    node = c.node
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    if start != 1:
        raise ConversionError(f"{c.where}: only flattening from dim 1 (the batch kept) is supported")
    return "flatten", c.ins, {}


def _reshape(c: _Node, src) -> tuple[str, list[str], dict]:
    out = _shape(c.node)
    if out is None or len(out) != 1:
        raise ConversionError(f"{c.where}: only reshapes to (batch, features) (a flatten) are supported")
    return "flatten", c.ins, {}


def _add(c: _Node, src) -> tuple[str, list[str], dict]:
    args = c.tensor_args
    if len(args) != 2 or len(c.node.args) != 2 or c.node.kwargs:
        raise ConversionError(f"{c.where}: only the sum of two tensors (a residual add) is supported")
    return "add", [src(a) for a in args], {}


def _pool_call(c: _Node, src) -> tuple[str, list[str], dict]:
    node = c.node
    ks = node.args[1] if len(node.args) > 1 else node.kwargs["kernel_size"]
    st = node.args[2] if len(node.args) > 2 else node.kwargs.get("stride")
    return c.kind, c.ins, {"kernel_size": ks, "stride": st or ks, "padding": 0}


@functools.cache
def _tables() -> tuple[dict, dict, dict]:
    """(module type, function, method name) -> (op kind, handler). Built on first use (needs torch).

    A node whose target is in none of them is unsupported: the one fall-through."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from neurocore.convert.qcfs import QCFS

    modules = {nn.Linear: ("dense", _linear), nn.Conv2d: ("conv2d", _conv2d), nn.ReLU: ("relu", _plain),
               QCFS: ("relu", _qcfs), nn.BatchNorm1d: ("batchnorm", _batchnorm),
               nn.BatchNorm2d: ("batchnorm", _batchnorm), nn.AvgPool2d: ("avgpool2d", _pool_module),
               nn.MaxPool2d: ("maxpool2d", _pool_module), nn.AdaptiveAvgPool2d: ("adaptiveavgpool", _adaptive_avgpool),
               nn.Flatten: ("flatten", _flatten_module)}
    modules.update({t: ("identity", _plain) for t in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Identity)})
    functions = {operator.add: ("add", _add), torch.add: ("add", _add), operator.iadd: ("add", _add),
                 F.relu: ("relu", _plain), torch.relu: ("relu", _plain), torch.flatten: ("flatten", _flatten_call),
                 F.dropout: ("identity", _plain), F.avg_pool2d: ("avgpool2d", _pool_call),
                 F.max_pool2d: ("maxpool2d", _pool_call)}
    methods = {"relu": ("relu", _plain), "flatten": ("flatten", _flatten_call), "view": ("reshape", _reshape),
               "reshape": ("reshape", _reshape), "size": ("size", None), "add": ("add", _add),
               "contiguous": ("identity", _plain)}
    return modules, functions, methods


def _trace(model):
    """``model`` as a torch.fx GraphModule, QCFS kept as one leaf activation."""
    from torch import fx

    from neurocore.convert.qcfs import QCFS

    class _Tracer(fx.Tracer):
        def is_leaf_module(self, m, qualname):  # QCFS is one activation, not its arithmetic
            return isinstance(m, QCFS) or super().is_leaf_module(m, qualname)

    was_training = model.training
    model.eval()
    try:
        tracer = _Tracer()
        graph = tracer.trace(model)
        return fx.GraphModule(tracer.root, graph, type(model).__name__)
    except Exception as exc:  # fx raises many types for untraceable Python
        raise ConversionError(f"torch.fx could not trace {type(model).__name__}: {exc}. Write data-dependent "
                              "control flow out of forward(), or export the model to ONNX and convert that") from exc
    finally:
        model.train(was_training)


def _lookup(node, modules: dict) -> tuple[tuple[str, Handler] | None, str, object]:
    """(table entry or None, label, module) of one fx node."""
    by_module, by_function, by_method = _tables()
    if node.op == "call_module":
        mod = modules[node.target]
        return by_module.get(type(mod)), type(mod).__name__, mod
    if node.op == "call_function":
        return by_function.get(node.target), getattr(node.target, "__name__", str(node.target)), None
    if node.op == "call_method":
        return by_method.get(node.target), f".{node.target}()", None
    return None, node.op, None


def _classify(model, gm) -> list[tuple[object, tuple[str, Handler] | None, str, object]]:
    """Every node with its table entry; all unsupported nodes refused at once, before any work."""
    modules = dict(gm.named_modules())
    plan, bad = [], []
    for node in gm.graph.nodes:
        if node.op in ("placeholder", "output"):
            plan.append((node, (node.op, None), node.op, None))
            continue
        entry, label, mod = _lookup(node, modules)
        if entry is None:
            bad.append(f"'{node.target if node.op == 'call_module' else node.name}' ({label})")
        plan.append((node, entry, label, mod))
    if bad:
        raise ConversionError(f"PyTorch model {type(model).__name__} has {len(bad)} unsupported layer(s): "
                              f"{', '.join(bad)}. Supported: Linear, Conv2d, ReLU, QCFS, BatchNorm1d/2d (folded), "
                              "AvgPool2d, MaxPool2d, Flatten, Dropout (ignored), residual add; nothing was converted")
    return plan


def read_torch(model, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """Ops of a PyTorch module; ``sample`` (one or more calibration inputs) gives the shapes."""
    import torch
    from torch import fx
    from torch.fx.passes.shape_prop import ShapeProp

    if input_shape is None:
        raise ConversionError("a PyTorch model needs the input shape: pass calibration data")
    gm = _trace(model)
    x0 = torch.as_tensor(np.asarray(sample if sample is not None else np.zeros((1,) + tuple(input_shape)))[:2],
                         dtype=torch.float32)
    plan = _classify(model, gm)
    try:
        ShapeProp(gm).propagate(x0)
    except Exception as exc:
        raise ConversionError(f"running {type(model).__name__} on a calibration sample of shape "
                              f"{tuple(x0.shape[1:])} failed: {exc}") from exc

    ops: list[Op] = []
    paths: dict[str, str] = {}  # op name -> module path, for naming layers
    alias: dict[str, str] = {}  # identity nodes -> the op they pass through
    n_inputs = 0
    out_node = None

    def src(a):
        return alias.get(a.name, a.name)

    for node, (kind, handler), label, mod in plan:
        if kind == "placeholder":
            n_inputs += 1
            ops.append(Op(node.name, "input", [], {"shape": tuple(input_shape)}, "input"))
            continue
        if kind == "output":
            out_node = node.args[0]
            continue
        if handler is None:  # .size(): shape bookkeeping, no op
            continue
        c = _Node(node, kind, label, mod)
        c.ins = [src(c.tensor_args[0])] if c.tensor_args else []
        kind, ins, params = handler(c, src)
        if kind == "identity":
            alias[node.name] = ins[0]
            continue
        ops.append(Op(node.name, kind, ins, params, label))
        paths[node.name] = c.name
    if n_inputs != 1:
        raise ConversionError(f"PyTorch model {type(model).__name__} takes {n_inputs} inputs; one is supported")
    if not isinstance(out_node, fx.Node):
        raise ConversionError(f"PyTorch model {type(model).__name__} must return one tensor")
    if src(out_node) != ops[-1].name:
        ops.append(Op("output", "identity", [src(out_node)], {}, "output"))
    return _rename(ops, paths), {"format": "PyTorch", "task": "classify", "classes": None}


def _rename(ops: list[Op], paths: dict[str, str]) -> list[Op]:
    """Use module paths ("features.0") as layer names where they are unique."""
    new = {}
    used = set()
    for op in ops:
        path = paths.get(op.name)
        nm = path if path and path not in used else op.name
        used.add(nm)
        new[op.name] = nm
    for op in ops:
        op.name = new[op.name]
        op.inputs = [new[i] for i in op.inputs]
    return ops
