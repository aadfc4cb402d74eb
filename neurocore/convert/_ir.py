"""The readers' common language: a list of ANN operations, in topological order.

Every reader (scikit-learn, NumPy layer list, PyTorch, ONNX) produces a list of
:class:`Op`; :func:`check_ops` refuses anything outside :data:`OP_KINDS` (naming
the layer and its type) and any NaN/inf parameter *before* any other work.

Op kinds and their ``params`` (all arrays float64):

=============  ===================================================================
``input``      ``shape``: per-sample shape, e.g. (64,) or (1, 8, 8)
``dense``      ``weight`` (n_out, n_in), ``bias`` (n_out,) or None
``conv2d``     ``weight`` (C_out, C_in/groups, kh, kw), ``bias``, ``stride``,
               ``padding``, ``dilation``, ``groups``
``batchnorm``  ``scale`` (C,), ``shift`` (C,): y = scale * x + shift per channel
``affine``     ``scale``, ``shift`` per element (a constant add or multiply)
``relu``       -- or, for a QCFS activation (:mod:`neurocore.convert.qcfs`),
               ``threshold`` (float, its trained lambda) and ``levels`` (int)
``avgpool2d``  ``kernel_size``, ``stride``, ``padding``
``maxpool2d``  ``kernel_size``, ``stride``
``flatten``    --
``identity``   -- (Dropout at inference, Identity)
``add``        two inputs: a residual addition
=============  ===================================================================
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurocore.errors import ConversionError

__all__ = ["OP_KINDS", "Op", "bn_scale_shift", "check_ops"]

OP_KINDS = ("input", "dense", "conv2d", "batchnorm", "affine", "relu", "avgpool2d", "maxpool2d", "flatten",
            "identity", "add")


@dataclass
class Op:
    """One ANN operation.

    Attributes
    ----------
    name : str
        The layer's name in the source model (module path, ONNX node name, list index).
    kind : str
        One of :data:`OP_KINDS`, or ``"unsupported"``.
    inputs : list[str]
        Names of the ops whose outputs it reads (empty for ``input``).
    params : dict
        Kind-specific parameters (see the module docstring).
    source_type : str
        The layer's type in the source format (``"Conv2d"``, ``"Gemm"``...), for messages and reports.
    """

    name: str
    kind: str
    inputs: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    source_type: str = ""


def bn_scale_shift(gamma, beta, mean, var, eps) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm at inference as y = scale * x + shift."""
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(var, np.float64) + float(eps))
    shift = np.asarray(beta, np.float64) - scale * np.asarray(mean, np.float64)
    return scale, shift


def check_ops(ops: list[Op], fmt: str) -> None:
    """Refuse unsupported layers and non-finite parameters, naming every offender."""
    bad = [op for op in ops if op.kind not in OP_KINDS]
    if bad:
        listing = ", ".join(f"'{op.name}' ({op.source_type or op.kind})" for op in bad)
        raise ConversionError(
            f"{fmt} model has {len(bad)} unsupported layer(s): {listing}. Supported: Linear/Dense, Conv2d, ReLU, QCFS, "
            "BatchNorm (folded), AvgPool2d, MaxPool2d, Flatten, Dropout (ignored), residual add. Replace the layer "
            "or convert the model without it; nothing was converted")
    names = {op.name for op in ops}
    for op in ops:
        for src in op.inputs:
            if src not in names:
                raise ConversionError(f"{fmt} layer '{op.name}' ({op.source_type}) reads '{src}', which is not a "
                                      "layer of the model")
        for k, val in op.params.items():
            if isinstance(val, np.ndarray) and val.dtype.kind in "fc" and not np.all(np.isfinite(val)):
                n = int(np.sum(~np.isfinite(val)))
                raise ConversionError(f"{fmt} layer '{op.name}' ({op.source_type}): {k} has {n} NaN/inf value(s); "
                                      "a converted network needs finite weights (check the training run)")
    if sum(op.kind == "input" for op in ops) != 1:
        raise ConversionError(f"{fmt} model must have exactly one input; found "
                              f"{[op.name for op in ops if op.kind == 'input']}")
