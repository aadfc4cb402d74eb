"""Reader for a plain NumPy layer list, for scripts and tests.

Format: a list of dicts, applied in order (a sequential network); each has a
``"type"`` and its arrays, in PyTorch's layouts::

    [{"type": "conv2d", "weight": K, "bias": b, "stride": 1, "padding": 1},   # K: (C_out, C_in, kh, kw)
     {"type": "batchnorm", "weight": g, "bias": beta, "mean": mu, "var": s2, "eps": 1e-5},
     {"type": "relu"},
     {"type": "avgpool2d", "kernel_size": 2},        # also "maxpool2d"; "stride", "padding" optional
     {"type": "flatten"},
     {"type": "dropout"},                            # ignored
     {"type": "dense", "weight": W, "bias": b}]      # W: (n_out, n_in)

A ``"name"`` key names the layer (default ``"<type><index>"``). A residual
block is ``{"type": "residual", "layers": [...]}``: ``x + f(x)`` where ``f`` is the
inner list. The input shape comes from the calibration data.
"""
from __future__ import annotations

import numpy as np

from neurocore.convert._ir import Op, bn_scale_shift
from neurocore.errors import ConversionError

__all__ = ["read_layers"]


def _arr(d: dict, key: str, where: str, required: bool = True):
    if key not in d or d[key] is None:
        if required:
            raise ConversionError(f"{where}: missing '{key}'")
        return None
    try:
        return np.asarray(d[key], np.float64)
    except (TypeError, ValueError):
        raise ConversionError(f"{where}: '{key}' is not a numeric array") from None


def _read(layers, prev: str, ops: list[Op], prefix: str) -> str:
    for i, d in enumerate(layers):
        if not isinstance(d, dict) or "type" not in d:
            raise ConversionError(f"layer list item {prefix}{i} must be a dict with a 'type', got {type(d).__name__}")
        t = str(d["type"]).lower()
        name = str(d.get("name", f"{prefix}{t}{i}"))
        where = f"layer '{name}' ({t})"
        if t in ("dense", "linear"):
            ops.append(Op(name, "dense", [prev], {"weight": _arr(d, "weight", where),
                                                  "bias": _arr(d, "bias", where, False)}, "dense"))
        elif t == "conv2d":
            ops.append(Op(name, "conv2d", [prev], {"weight": _arr(d, "weight", where),
                                                   "bias": _arr(d, "bias", where, False),
                                                   "stride": d.get("stride", 1), "padding": d.get("padding", 0),
                                                   "dilation": d.get("dilation", 1), "groups": d.get("groups", 1)},
                          "conv2d"))
        elif t == "batchnorm":
            sc, sh = bn_scale_shift(_arr(d, "weight", where), _arr(d, "bias", where), _arr(d, "mean", where),
                                    _arr(d, "var", where), d.get("eps", 1e-5))
            ops.append(Op(name, "batchnorm", [prev], {"scale": sc, "shift": sh}, "batchnorm"))
        elif t in ("relu", "flatten"):
            ops.append(Op(name, t, [prev], {}, t))
        elif t in ("dropout", "identity"):
            ops.append(Op(name, "identity", [prev], {}, t))
        elif t in ("avgpool2d", "maxpool2d"):
            ops.append(Op(name, t, [prev], {"kernel_size": d["kernel_size"], "stride": d.get("stride"),
                                            "padding": d.get("padding", 0)}, t))
            if t == "maxpool2d" and d.get("padding", 0):
                raise ConversionError(f"{where}: max-pooling with padding is not supported")
        elif t == "residual":
            inner = _read(d.get("layers", []), prev, ops, f"{name}.")
            ops.append(Op(name, "add", [prev, inner], {}, "residual add"))
        else:
            ops.append(Op(name, "unsupported", [prev], {}, t))
        prev = name
    return prev


def read_layers(layers, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """Ops of a NumPy layer list (see the module docstring).

    ``sample`` is not needed here (every reader takes ``(model, input_shape, sample)``,
    see :data:`neurocore.convert.READERS`).
    """
    if input_shape is None:
        raise ConversionError("a layer list needs the input shape: pass calibration data")
    ops = [Op("input", "input", [], {"shape": tuple(int(i) for i in input_shape)}, "input")]
    _read(list(layers), "input", ops, "")
    return ops, {"format": "layer list", "task": "classify", "classes": None}
