"""Codecs: float samples -> per-step input channel values, and outputs -> predictions.

A codec lives in ``graph.meta["codec"]`` of a converted network (and so in
``program.meta["codec"]``); :meth:`neurocore.Simulator.run` calls
``codec.encode(X, n_steps, seed=seed)`` and ``codec.decode(result)``.

Encodings
---------
``direct`` (:class:`DirectCodec`, the default)
    The sample is a constant analog current: channel value
    ``round(x / in_scale * gain)``, a signed ``graded_bits`` integer, the same
    every step, delivered with delay 0 into the first layer.
``poisson`` (:class:`PoissonCodec`)
    Each step a channel spikes with probability ``min(x / in_scale, 1)``,
    drawn from ``numpy.random.default_rng(seed)``: same seed, same spikes.
``rate`` (:class:`RateCodec`)
    Deterministic regular spikes at rate ``min(x / in_scale, 1)``.

``in_scale`` is the largest ``|x|`` of the calibration data. Every codec warns when
inputs exceed it (count and largest value), and counts per sample the values it
saturates (``saturated(x)``, reported as ``result.counters["inputs_saturated"]``);
the spike codecs refuse negative inputs.

Decodings
---------
Both decodings use the exact integrated input of each output neuron,
``total = spike_count * theta + v_final`` (reset by subtraction keeps it).

``count``
    Class = most output spikes; ties broken by the final membrane potential
    (never by class index).
``membrane``
    The output population does not spike (threshold at its maximum, weights
    scaled so ``v`` cannot reach it in ``max_steps``); class = largest ``total``.

The ANN value of an output is recovered as
``a = (total / unit - v_init) / (n_steps - latency)`` (times ``out_scale``),
used for regression and single-logit (binary) classifiers.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurocore._io import register_meta_type
from neurocore.errors import SimulationError

__all__ = ["CODEC_TYPES", "ENCODINGS", "Codec", "DirectCodec", "PoissonCodec", "RateCodec", "codec_from_dict"]


@dataclass
class Codec:
    """How a converted network reads float samples and what its outputs mean.

    Attributes
    ----------
    input_shape : tuple of int
        Per-sample shape the ANN takes (e.g. (64,) or (1, 8, 8)).
    in_scale : float
        Input value that maps to one threshold-unit of drive (x' = x / in_scale).
    gain : int
        Graded value of x' = 1 (direct encoding; 1 for spikes).
    graded_bits : int
        Signed width of a graded input value (values beyond it are clipped).
    output : str
        Name of the output population.
    n_out : int
        Output neurons.
    decoding : {"count", "membrane"}
    theta_out : int
        The output population's threshold ``vth << vth_shift`` (v units).
    unit : int
        v units of one normalized ANN unit at the output (``out_scale`` in ANN values).
    v_init : float
        Initial membrane potential of the output, in units of ``unit`` (before the bias offset).
    latency : int
        First step at which input reaches the output population.
    out_scale : float
        ANN output value of one normalized unit.
    task : {"classify", "regress"}
    classes : list, optional
        Class labels, in output order (default 0..n_out-1; two labels for a single logit).
    """

    input_shape: tuple
    in_scale: float
    gain: int
    graded_bits: int
    output: str
    n_out: int
    decoding: str = "count"
    theta_out: int = 1
    unit: int = 1
    v_init: float = 0.5
    latency: int = 0
    out_scale: float = 1.0
    task: str = "classify"
    classes: list | None = None

    encoding = "?"

    @property
    def n_channels(self) -> int:
        return int(np.prod(self.input_shape))

    # ---- encode ------------------------------------------------------------
    def _flat(self, x) -> NDArray[np.float64]:
        x = np.asarray(x, np.float64)
        if x.ndim == len(self.input_shape):
            x = x[None]
        if x.ndim >= 1 and x.shape[0] == 0:
            raise SimulationError("the input holds an empty batch; give at least one sample")
        if x.shape[1:] != tuple(self.input_shape) and x.reshape(x.shape[0], -1).shape[1] != self.n_channels:
            raise SimulationError(f"samples have shape {x.shape[1:]}; the converted network takes "
                                  f"{tuple(self.input_shape)} ({self.n_channels} values) per sample")
        x = x.reshape(x.shape[0], -1)
        if not np.all(np.isfinite(x)):
            raise SimulationError("input samples contain NaN or inf")
        return x

    def encode_float(self, x, n_steps: int, seed: int = 0) -> NDArray[np.float64]:
        """(batch, n_steps, channels) input in threshold units (what the float SNN integrates)."""
        raise NotImplementedError

    def saturated(self, x) -> NDArray[np.int64]:
        """Per sample, how many input values the encoding saturates (clips to its largest value).

        :meth:`neurocore.Simulator.run` reports it as ``result.counters["inputs_saturated"]``.
        """
        return np.count_nonzero(self._over(self._flat(x)), axis=1).astype(np.int64)

    def _over(self, xf: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which values of the flattened samples this encoding saturates."""
        raise NotImplementedError

    def _warn_range(self, xf: NDArray[np.float64]) -> None:
        """Warn about values beyond the calibration range ``|x| <= in_scale``, and about saturated ones."""
        beyond = np.abs(xf) > self.in_scale * (1 + 1e-9)
        n_beyond = int(np.count_nonzero(beyond))
        if not n_beyond:
            return
        n_sat = int(np.count_nonzero(self._over(xf)))
        peak = float(np.abs(xf).max())
        sat = (f"; {n_sat} of them were saturated at the encoding's largest value (counted in "
               "result.counters['inputs_saturated'])" if n_sat else
               "; none was saturated, but the thresholds were balanced on the calibration range, so hidden "
               "layers may saturate")
        warnings.warn(f"{self.encoding} encoding: {n_beyond} input value(s) exceed the calibration range "
                      f"|x| <= {self.in_scale:g} (largest |x| = {peak:g}){sat}; calibrate on data that covers the "
                      "inputs, or scale the inputs as the calibration data were", stacklevel=4)

    def _nonnegative(self, xf: NDArray[np.float64]) -> None:
        """Spike encodings take non-negative values only: refuse the others, naming how many."""
        neg = xf < 0
        if neg.any():
            b, c = (int(i[0]) for i in np.nonzero(neg))
            raise SimulationError(f"{self.encoding} encoding makes spikes from non-negative inputs, but "
                                  f"{int(neg.sum())} value(s) are negative (smallest {float(xf.min()):g}; first at "
                                  f"sample {b}, feature {c}): shift/scale the inputs as the calibration data were, "
                                  "or convert with encoding='direct'")

    def encode(self, x, n_steps: int, seed: int = 0) -> NDArray[np.int32]:
        """(batch, n_steps, channels) int32 channel values for the chip."""
        raise NotImplementedError

    # ---- decode ------------------------------------------------------------
    def values(self, counts, v, n_steps: int, theta=None, unit=None) -> NDArray[np.float64]:
        """ANN output values (batch, n_out) from spike counts and final v (v units unless theta/unit given)."""
        theta = self.theta_out if theta is None else theta
        unit = self.unit if unit is None else unit
        if n_steps <= self.latency:
            raise SimulationError(f"{n_steps} steps: input reaches the output population only at step "
                                  f"{self.latency}; run at least {self.latency + 1} steps")
        total = np.asarray(counts, np.float64) * theta + np.asarray(v, np.float64)
        return (total / unit - self.v_init) / (n_steps - self.latency) * self.out_scale

    def decode_arrays(self, counts, v, n_steps: int, theta=None, unit=None) -> NDArray:
        """Predictions from spike counts (batch, n_out) and final potentials (batch, n_out)."""
        vals = self.values(counts, v, n_steps, theta, unit)
        if self.task == "regress":
            return vals[:, 0] if self.n_out == 1 else vals
        classes = np.asarray(self.classes if self.classes is not None else np.arange(max(self.n_out, 2)))
        if self.n_out == 1:
            return classes[(vals[:, 0] > 0).astype(int)]
        if self.decoding == "count":
            c = np.asarray(counts, np.int64)
            vv = np.asarray(v, np.float64)
            best = c.max(axis=1, keepdims=True)
            key = np.where(c == best, vv, -np.inf)  # ties in count broken by membrane potential
            return classes[np.argmax(key, axis=1)]
        return classes[np.argmax(vals, axis=1)]

    def decode(self, result) -> NDArray:
        """Predictions from a :class:`~neurocore.sim.RunResult` of the converted program."""
        pm = result.program.populations[self.output]
        counts = result.spike_counts[self.output]
        v = result.final_state["v"][:, pm.offset: pm.offset + pm.n]
        return self.decode_arrays(counts, v, result.n_steps)

    # ---- serialization ------------------------------------------------------
    def to_dict(self) -> dict:
        d = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            val = getattr(self, f.name)
            if isinstance(val, tuple):
                val = list(val)
            elif isinstance(val, np.ndarray):
                val = val.tolist()
            elif isinstance(val, list):
                val = [x.item() if isinstance(x, np.generic) else x for x in val]
            elif isinstance(val, np.generic):
                val = val.item()
            d[f.name] = val
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Codec:
        d = dict(d)
        kind = d.pop("type", cls.__name__)
        if kind not in CODEC_TYPES:
            raise ValueError(f"unknown codec type {kind!r}; known: {sorted(CODEC_TYPES)}")
        d["input_shape"] = tuple(d["input_shape"])
        return CODEC_TYPES[kind](**d)


def _as_steps(n_steps) -> int:
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise SimulationError(f"n_steps must be a positive int, got {n_steps!r}")
    return int(n_steps)


@dataclass
class DirectCodec(Codec):
    """Analog input: a constant graded current each step (the default)."""

    encoding = "direct"

    def _over(self, xf: NDArray[np.float64]) -> NDArray[np.bool_]:
        hi = (1 << (self.graded_bits - 1)) - 1
        return np.abs(np.rint(xf / self.in_scale * self.gain)) > hi

    def encode(self, x, n_steps: int, seed: int = 0) -> NDArray[np.int32]:
        t = _as_steps(n_steps)
        hi = (1 << (self.graded_bits - 1)) - 1
        xf = self._flat(x)
        self._warn_range(xf)  # saturating is the encoding's rule; say so rather than clip silently
        r = np.rint(xf / self.in_scale * self.gain)
        q = np.clip(r, -hi, hi).astype(np.int32)
        return np.ascontiguousarray(np.broadcast_to(q[:, None, :], (q.shape[0], t, q.shape[1])))

    def encode_float(self, x, n_steps: int, seed: int = 0) -> NDArray[np.float64]:
        xs = self._flat(x) / self.in_scale
        return np.broadcast_to(xs[:, None, :], (xs.shape[0], _as_steps(n_steps), xs.shape[1]))


def _spike_probability(codec: Codec, x) -> NDArray[np.float64]:
    """``x / in_scale`` for a spike encoding: negative values refused, values above 1 saturated (with a warning)."""
    xf = codec._flat(x)
    codec._nonnegative(xf)
    codec._warn_range(xf)
    return np.minimum(xf / codec.in_scale, 1.0)


@dataclass
class PoissonCodec(Codec):
    """Bernoulli spikes each step with probability min(x / in_scale, 1); seeded.

    Negative inputs are refused (:class:`SimulationError`); values above ``in_scale``
    saturate at probability 1, with a warning giving their count and the largest value.
    """

    encoding = "poisson"

    def _over(self, xf: NDArray[np.float64]) -> NDArray[np.bool_]:
        return xf > self.in_scale

    def encode(self, x, n_steps: int, seed: int = 0) -> NDArray[np.int32]:
        p = _spike_probability(self, x)
        rng = np.random.default_rng(seed)
        r = rng.random((p.shape[0], _as_steps(n_steps), p.shape[1]))
        return (r < p[:, None, :]).astype(np.int32)

    def encode_float(self, x, n_steps: int, seed: int = 0) -> NDArray[np.float64]:
        return self.encode(x, n_steps, seed).astype(np.float64)


@dataclass
class RateCodec(Codec):
    """Deterministic regular spikes at rate min(x / in_scale, 1).

    Negative inputs are refused (:class:`SimulationError`); values above ``in_scale``
    saturate at one spike per step, with a warning giving their count and the largest value.
    """

    encoding = "rate"

    def _over(self, xf: NDArray[np.float64]) -> NDArray[np.bool_]:
        return xf > self.in_scale

    def encode(self, x, n_steps: int, seed: int = 0) -> NDArray[np.int32]:
        p = _spike_probability(self, x)
        t = np.arange(_as_steps(n_steps) + 1, dtype=np.float64)
        cum = np.floor(t[None, :, None] * p[:, None, :] + 0.5)
        return np.diff(cum, axis=1).astype(np.int32)

    def encode_float(self, x, n_steps: int, seed: int = 0) -> NDArray[np.float64]:
        return self.encode(x, n_steps, seed).astype(np.float64)


#: Codec classes by name, for Program save/load (``to_dict()["type"]``).
CODEC_TYPES: dict[str, type[Codec]] = {c.__name__: c for c in (DirectCodec, PoissonCodec, RateCodec)}
for _codec in CODEC_TYPES.values():  # codecs ride in Graph and Program files
    register_meta_type(_codec)
#: Codec classes by encoding name, as ``convert(encoding=...)`` takes them.
ENCODINGS: dict[str, type[Codec]] = {c.encoding: c for c in (DirectCodec, PoissonCodec, RateCodec)}


def codec_from_dict(d: dict) -> Codec:
    """Rebuild a codec saved with :meth:`Codec.to_dict`."""
    return Codec.from_dict(d)
