"""Data-based threshold balancing (Diehl 2015; Rueckauer 2017's robust percentile).

Each spiking layer ``l`` gets a scale ``lam_l``: the ``percentile`` of its
non-zero ANN activations on the calibration data (per layer, or per output
channel). In normalized units a layer's activation is ``a / lam_l`` and the
threshold is 1, so weights from source ``s`` become
``diag(1 / lam_l) @ M @ diag(lam_s)`` and the bias ``b / lam_l``: the bias is
scaled with its layer (leaving it unscaled is what collapses BatchNorm-folded
networks in other converters).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocore.convert.fold import SpikingLayer

__all__ = ["activation_scale", "normalize"]


def _pct(vals: np.ndarray, percentile: float) -> float:
    vals = vals[vals > 0]
    return float(np.percentile(vals, percentile)) if vals.size else 0.0


def activation_scale(layer: SpikingLayer, act: np.ndarray, percentile: float, per_channel: bool,
                     decoding: str = "count") -> np.ndarray:
    """Per-neuron scale (n,) of a layer from its calibration activations (batch, n)."""
    a = act if layer.activation == "relu" else (act if decoding == "count" else np.abs(act))
    lam = _pct(a.ravel(), percentile)
    if lam <= 0:
        lam = float(np.abs(act).max()) or 1.0
    out = np.full(layer.n, lam)
    if per_channel and layer.activation == "relu":
        shape = layer.shape
        c = shape[0]
        per = a.reshape(a.shape[0], c, -1).transpose(1, 0, 2).reshape(c, -1)
        lam_c = np.array([_pct(row, percentile) for row in per])
        lam_c = np.where(lam_c > 0, np.maximum(lam_c, 0.05 * lam), lam)
        out = np.repeat(lam_c, layer.n // c)
    return out


def normalize(layer: SpikingLayer, lam: dict[str, np.ndarray]) -> tuple[dict[str, sp.csr_matrix], np.ndarray]:
    """Normalized terms ``{src: diag(1/lam_l) M diag(lam_s)}`` and bias ``b / lam_l``."""
    inv = sp.diags(1.0 / lam[layer.name])
    terms = {s: sp.csr_matrix(inv @ t.matrix @ sp.diags(lam[s])) for s, t in layer.terms.items()}
    return terms, layer.bias / lam[layer.name]
