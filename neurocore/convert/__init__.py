"""Convert: trained ANNs (scikit-learn, NumPy layer list, PyTorch, ONNX) -> spiking Graph.

``nc.convert(model, calibration=X, chip=...)`` reads the model (refusing any
unsupported layer by name before any work), folds BatchNorm, average pooling
and residual additions into integrate-and-fire populations, converts
max-pooling exactly as a tournament of ``relu(a - b)`` populations, balances
thresholds on the calibration data, quantizes to the chip's widths and attaches
a codec (input encoding, output decoding), a float twin and a report.

This package is itself callable: ``neurocore.convert(...)`` is
:func:`neurocore.convert._convert.convert` (also importable as
``from neurocore.convert import convert``), and its modules import as usual
(``import neurocore.convert.qcfs``).

QCFS training for few-step conversion (needs torch, imported only on use):
``from neurocore.convert.qcfs import QCFS, replace_relu, init_thresholds``.
"""
import importlib
import inspect
import sys
import types
import warnings

from neurocore.convert._convert import DECODINGS, READERS, convert, read_model
from neurocore.convert.encode import (
           CODEC_TYPES,
           ENCODINGS,
           Codec,
           DirectCodec,
           PoissonCodec,
           RateCodec,
           codec_from_dict,
)
from neurocore.convert.floatsim import FloatLayer, FloatRunResult, FloatSNN
from neurocore.convert.report import ConversionReport, LayerReport

__all__ = [
           "CODEC_TYPES",
           "DECODINGS",
           "ENCODINGS",
           "READERS",
           "Codec",
           "ConversionReport",
           "DirectCodec",
           "FloatLayer",
           "FloatRunResult",
           "FloatSNN",
           "LayerReport",
           "PoissonCodec",
           "RateCodec",
           "codec_from_dict",
           "convert",
           "read_model",
]

#: Names that used to be attributes of this package: name -> the module that holds them now.
#: Each still resolves, with a DeprecationWarning naming its real home, and is imported on
#: first use (the qcfs ones need torch; neurocore.evaluate compiles and runs, a later stage).
_MOVED = {
    "QCFS": "neurocore.convert.qcfs",
    "replace_relu": "neurocore.convert.qcfs",
    "init_thresholds": "neurocore.convert.qcfs",
    "accuracy_vs_timesteps": "neurocore.evaluate",
    "float_accuracy_vs_timesteps": "neurocore.evaluate",
}


def __getattr__(name: str):
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(f"neurocore.convert.{name} is deprecated: import it from {home} "
                  f"(`from {home} import {name}`)", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(home), name)


class _ConvertPackage(types.ModuleType):
    """The ``neurocore.convert`` package, callable as :func:`convert` (so ``nc.convert(model, ...)`` works
    while ``nc.convert`` stays the package: no module is shadowed by the function it exports)."""

    __call__ = staticmethod(convert)  # no extra frame: convert()'s warnings still point at the caller


sys.modules[__name__].__class__ = _ConvertPackage
__signature__ = inspect.signature(convert)  # inspect.signature(nc.convert) shows convert()'s parameters
