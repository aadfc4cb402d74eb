"""Neuron models: what a neuron *is*. How it runs lives in ``neurocore.kernels``.

Both models lower to the same per-neuron integer parameters (:func:`lower`), so
one kernel runs both. All units are the chip's fixed-point units:

* ``du``, ``dv``: decays on a ``2**decay_bits`` scale (4096 on Loihi). Per step
  ``u <- trunc0(u * (4096 - (du + 1)) / 4096) + a << act_shift`` and
  ``v <- trunc0(v * (4096 - dv) / 4096) + u + bias``.
* ``vth``: threshold mantissa; a neuron spikes when ``v > vth << vth_shift``.
* ``bias = bias_mant << bias_exp``, added to ``v`` every step.
* ``refractory``: steps after a spike during which ``v`` is held and no spike is emitted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
from numpy.typing import NDArray

from neurocore._ints import to_int64
from neurocore.errors import BitWidthError, GraphError

__all__ = ["AdaptiveLIF", "CubaLIF", "IF", "NeuronModel", "NEURON_TYPES", "RESET_MODES"]

IntOrArray = Union[int, NDArray[np.integer]]

#: Reset modes and their kernel codes.
RESET_MODES = {"zero": 0, "subtract": 1}


def _int_param(name: str, value, model: str):
    """Coerce a scalar or array parameter to int64, refusing NaN, inf and fractions."""
    arr = np.asarray(value)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iufO":
        raise GraphError(f"{model}.{name} must be an integer or an integer array, got {value!r}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise GraphError(f"{model}.{name} must be integer-valued (fixed-point units), got {value!r}")
    if arr.ndim > 1:
        raise GraphError(f"{model}.{name} must be a scalar or a 1-D per-neuron array, got shape {arr.shape}")
    at = None if arr.ndim == 0 else (lambda k: f"[{k}]")
    arr = to_int64(arr, f"{model}.{name}", at)  # range-checked before the cast: nothing wraps
    return int(arr) if arr.ndim == 0 else arr


#: Parameters held in unsigned fields: a negative value fits no chip. Upper limits depend
#: on the chip's widths and are checked by nc.compile(graph, chip).
UNSIGNED = ("du", "dv", "vth", "bias_exp", "refractory")


def _check_unsigned(model) -> None:
    for k in UNSIGNED:
        val = getattr(model, k, None)
        if val is not None and np.min(val) < 0:
            raise BitWidthError(f"{type(model).__name__}.{k} = {int(np.min(val))} is negative; it is an unsigned "
                                "field (range [0, 2**bits - 1], bits from the chip)")


@dataclass(frozen=True, eq=False)
class NeuronModel:
    """Base class; subclasses declare their parameters as dataclass fields."""

    def lowered(self, n: int, decay_bits: int) -> dict[str, NDArray[np.int64]]:  # pragma: no cover - abstract
        """Per-neuron integer kernel parameters (before the chip's range checks)."""
        raise NotImplementedError

    def _broadcast(self, n: int, **params) -> dict[str, NDArray[np.int64]]:
        out = {}
        for k, val in params.items():
            arr = np.asarray(val, dtype=np.int64)
            if arr.ndim == 1 and arr.shape[0] != n:
                raise GraphError(f"{type(self).__name__}.{k} has {arr.shape[0]} values for a population of {n} neurons")
            out[k] = np.broadcast_to(arr, (n,)).copy()
        return out

    def to_dict(self) -> dict:
        d = {"type": type(self).__name__}
        for k, val in self.__dict__.items():
            d[k] = val.tolist() if isinstance(val, np.ndarray) else val
        return d


@dataclass(frozen=True, eq=False)
class CubaLIF(NeuronModel):
    """Loihi's current-based leaky integrate-and-fire neuron, bit-identical to Lava's ``PyLifModelBitAcc``.

    Parameters
    ----------
    du, dv : int
        Current and voltage decay, unsigned ``decay_bits`` (0..4095 on Loihi).
        ``du = 4095`` clears u every step; ``dv = 0`` means no voltage leak.
    vth : int
        Threshold mantissa, unsigned ``vth_bits`` (17 on Loihi); spike when ``v > vth << 6``.
    bias_mant, bias_exp : int or (n,) int array
        Bias mantissa (signed ``bias_mant_bits``) and exponent (unsigned ``bias_exp_bits``).
    refractory : int or (n,) int array
        Steps after a spike during which ``v`` is held at its reset value (0 = none, as in Lava).
    u0, v0 : int or (n,) int array
        State before step 0, within the u and v widths.
    reset : {"zero", "subtract"}
        After a spike ``v`` becomes 0 (Loihi) or ``v - (vth << vth_shift)``.
    """

    du: IntOrArray
    dv: IntOrArray
    vth: IntOrArray
    bias_mant: IntOrArray = 0
    bias_exp: IntOrArray = 0
    refractory: IntOrArray = 0
    u0: IntOrArray = 0
    v0: IntOrArray = 0
    reset: str = "zero"

    def __post_init__(self) -> None:
        name = type(self).__name__
        for k in ("du", "dv", "vth", "bias_mant", "bias_exp", "refractory", "u0", "v0"):
            object.__setattr__(self, k, _int_param(k, getattr(self, k), name))
        _check_unsigned(self)
        if self.reset not in RESET_MODES:
            raise GraphError(f"{name}.reset = {self.reset!r}; choose one of {sorted(RESET_MODES)}")

    def lowered(self, n: int, decay_bits: int) -> dict[str, NDArray[np.int64]]:
        return self._broadcast(n, du=self.du, dv=self.dv, vth=self.vth, bias_mant=self.bias_mant,
                               bias_exp=self.bias_exp, refractory=self.refractory, u0=self.u0, v0=self.v0,
                               reset=RESET_MODES[self.reset])


@dataclass(frozen=True, eq=False)
class IF(NeuronModel):
    """Integrate-and-fire, as conversion produces: no leak, no current memory.

    ``u`` holds only this step's input (``du = 4095``), ``v`` does not decay
    (``dv = 0``); reset by subtraction of the threshold by default.

    Parameters
    ----------
    vth : int
        Threshold mantissa (unsigned ``vth_bits``); spike when ``v > vth << vth_shift``.
    bias_mant, bias_exp : int or (n,) int array
        Bias added to v every step, ``bias_mant << bias_exp``.
    reset : {"subtract", "zero"}
    v0 : int or (n,) int array
        Initial potential (e.g. half the threshold).
    """

    vth: IntOrArray
    bias_mant: IntOrArray = 0
    bias_exp: IntOrArray = 0
    reset: str = "subtract"
    v0: IntOrArray = 0

    def __post_init__(self) -> None:
        name = type(self).__name__
        for k in ("vth", "bias_mant", "bias_exp", "v0"):
            object.__setattr__(self, k, _int_param(k, getattr(self, k), name))
        _check_unsigned(self)
        if self.reset not in RESET_MODES:
            raise GraphError(f"{name}.reset = {self.reset!r}; choose one of {sorted(RESET_MODES)}")

    def lowered(self, n: int, decay_bits: int) -> dict[str, NDArray[np.int64]]:
        return self._broadcast(n, du=(1 << decay_bits) - 1, dv=0, vth=self.vth, bias_mant=self.bias_mant, bias_exp=self.bias_exp,
                               refractory=0, u0=0, v0=self.v0, reset=RESET_MODES[self.reset])


@dataclass(frozen=True, eq=False)
class AdaptiveLIF(CubaLIF):
    """CubaLIF with an adaptive threshold (Diehl & Cook 2015): each spike raises it, it decays back.

    The neuron spikes when ``v > (vth + theta) << vth_shift``. After every step
    ``theta <- trunc0(theta * (2**decay_bits - theta_decay) / 2**decay_bits) + theta_inc * spike``,
    saturating at ``2**vth_bits - 1 - vth``. Runs on the learning kernel
    (:mod:`neurocore.learning_sim`), whose NumPy twin has the same arithmetic.

    Parameters
    ----------
    theta_inc : int
        Threshold-mantissa units added per spike (unsigned).
    theta_decay : int
        Decay of theta, unsigned ``decay_bits`` (12 bits on Loihi: 0 = never decays).
    theta0 : int or (n,) int array
        Theta before step 0 (e.g. learned by an earlier run; see ``nc.learned_graph``).
    Other parameters as :class:`CubaLIF`.
    """

    theta_inc: IntOrArray = 0
    theta_decay: IntOrArray = 0
    theta0: IntOrArray = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        for k in ("theta_inc", "theta_decay", "theta0"):
            object.__setattr__(self, k, _int_param(k, getattr(self, k), type(self).__name__))
            if np.min(getattr(self, k)) < 0:
                raise BitWidthError(f"AdaptiveLIF.{k} = {int(np.min(getattr(self, k)))} is negative; it is unsigned")

    def lowered(self, n: int, decay_bits: int) -> dict[str, NDArray[np.int64]]:
        low = super().lowered(n, decay_bits)
        low.update(self._broadcast(n, theta_inc=self.theta_inc, theta_decay=self.theta_decay, theta0=self.theta0))
        return low


NEURON_TYPES: dict[str, type[NeuronModel]] = {c.__name__: c for c in (CubaLIF, IF, AdaptiveLIF)}


def neuron_from_dict(d: dict) -> NeuronModel:
    d = dict(d)
    kind = d.pop("type", None)
    if kind not in NEURON_TYPES:
        raise GraphError(f"unknown neuron type {kind!r}; known: {sorted(NEURON_TYPES)}")
    return NEURON_TYPES[kind](**{k: (np.asarray(v) if isinstance(v, list) else v) for k, v in d.items()})
