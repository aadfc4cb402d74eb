"""A plain NumPy simulator of a converted network's *float* SNN.

Same structure, delays, reset and decoding as the integer chip, but with the
unquantized normalized weights (threshold 1, bias ``b / lam``): running both
shows how much the chip's fixed point costs. The integer graph itself is what
:class:`neurocore.Simulator` (and its NumPy twin ``neurocore.kernels.reference``)
runs, exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from neurocore.convert.encode import Codec

__all__ = ["FloatLayer", "FloatRunResult", "FloatSNN"]


@dataclass
class FloatLayer:
    """One population in threshold units: ``v += sum_s W_s @ s(t - delay_s) + bias``; spike if ``v > threshold``."""

    name: str
    n: int
    terms: list[tuple[str, sp.csr_matrix, int]]  # (source, (n, n_src) float weights, delay)
    bias: NDArray[np.float64]
    threshold: float
    v0: NDArray[np.float64]
    reset: str = "subtract"


@dataclass
class FloatRunResult:
    spike_counts: dict[str, NDArray[np.int64]]
    v: dict[str, NDArray[np.float64]]
    n_steps: int
    predictions: NDArray | None = None
    values: NDArray | None = None


@dataclass
class FloatSNN:
    """The float twin of a converted graph (kept in ``graph.meta["float_snn"]``)."""

    input: str
    layers: list[FloatLayer]
    codec: Codec

    def run(self, x, n_steps: int, seed: int = 0) -> FloatRunResult:
        """Run float samples ``x`` (batch, features...) for ``n_steps`` steps."""
        xin = self.codec.encode_float(x, n_steps, seed=seed)
        B, T = xin.shape[0], int(n_steps)
        dmax = max([d for la in self.layers for _, _, d in la.terms] + [0]) + 1
        # spike history per source: ring buffer (dmax, B, n)
        hist = {self.input: np.zeros((dmax, B, xin.shape[2]))}
        for la in self.layers:
            hist[la.name] = np.zeros((dmax, B, la.n))
        v = {la.name: np.broadcast_to(la.v0, (B, la.n)).astype(np.float64).copy() for la in self.layers}
        counts = {la.name: np.zeros((B, la.n), np.int64) for la in self.layers}
        for t in range(T):
            hist[self.input][t % dmax] = xin[:, t]
            for la in self.layers:
                inp = np.broadcast_to(la.bias, (B, la.n)).copy()
                for s, w, d in la.terms:
                    if t - d >= 0:
                        inp += np.asarray(w @ hist[s][(t - d) % dmax].T).T
                vv = v[la.name] + inp
                spk = vv > la.threshold
                if la.reset == "subtract":
                    vv = np.where(spk, vv - la.threshold, vv)
                else:
                    vv = np.where(spk, 0.0, vv)
                v[la.name] = vv
                counts[la.name] += spk
                hist[la.name][t % dmax] = spk
        out = self.layers[-1].name
        c = self.codec
        theta = self.layers[-1].threshold if np.isfinite(self.layers[-1].threshold) else 0.0
        vals = c.values(counts[out], v[out], T, theta=theta, unit=1.0)
        preds = c.decode_arrays(counts[out], v[out], T, theta=theta, unit=1.0)
        return FloatRunResult(counts, v, T, preds, vals)

    def accuracy(self, x, y, n_steps: int, seed: int = 0) -> float:
        return float(np.mean(self.run(x, n_steps, seed).predictions == np.asarray(y)))
