"""Convert: trained ANNs (scikit-learn, NumPy layer list, PyTorch, ONNX) -> spiking Graph.

``convert(model, calibration=X, chip=...)`` reads the model (refusing any
unsupported layer by name before any work), folds BatchNorm, average pooling
and residual additions into integrate-and-fire populations, converts
max-pooling exactly as a tournament of ``relu(a - b)`` populations, balances
thresholds on the calibration data, quantizes to the chip's widths and attaches
a codec (input encoding, output decoding), a float twin and a report.

QCFS training for few-step conversion (needs torch, imported only on use):
``from neurocore.convert.qcfs import QCFS, replace_relu`` (also reachable as
``neurocore.convert.QCFS``).
"""
from neurocore.convert.convert import DECODINGS, READERS, convert, read_model
from neurocore.convert.encode import (
           CODEC_TYPES,
           ENCODINGS,
           Codec,
           DirectCodec,
           PoissonCodec,
           RateCodec,
           codec_from_dict,
)
from neurocore.convert.evaluate import accuracy_vs_timesteps, float_accuracy_vs_timesteps
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
           "accuracy_vs_timesteps",
           "codec_from_dict",
           "convert",
           "float_accuracy_vs_timesteps",
           "read_model",
]


_LAZY_TORCH = ("QCFS", "replace_relu", "init_thresholds")


def __getattr__(name):  # torch-only helpers, imported on first use so the package imports without torch
    if name in _LAZY_TORCH:
        from neurocore.convert import qcfs

        return getattr(qcfs, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
