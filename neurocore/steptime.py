"""Chip time the kernel accumulates while it runs, so no per-step per-core table is kept.

A chip-time model charges every step the work of its slowest core. A
:class:`CoreTiming` states that work as two linear forms of one core's counters in
one step (seconds per count of each of :data:`TERMS`)::

    first(core)  = sum_k first[k]  x term_k(core)
    second(core) = sum_k second[k] x term_k(core)

Per sample and step the kernel takes the maximum over cores of each form, ``F`` and
``S``, and adds the larger one to its sum: ``F`` to ``sums[0]`` when ``F > S``, else
``S`` to ``sums[1]``. A one-form model (neurocore's: synops, active and idle
updates) leaves ``second`` all zero, so every step lands in ``sums[0]`` (or adds 0 to
``sums[1]``). SANA-FE's ``simple`` model is ``first`` = neuron processing and message
generation, ``second`` = message receipt and synapse processing.

The energy layer builds these from its profiles (``neurocore.energy.core_timing``) and
registers the shipped profiles' models as the default (:func:`register_defaults`), so a
plain ``Simulator.run`` keeps what ``estimate()`` needs for them; the run stage itself
knows no profile.

:func:`evaluate` is the same arithmetic in NumPy on a full per-step per-core table
(``RunResult.core_steps``, kept with ``run(..., record="core_steps")``); the kernel's
sums equal it bit for bit (same float64 operations in the same order, no fused
multiply-add: the kernel is built with ``-ffp-contract=off``).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import SimulationError

__all__ = ["CoreTiming", "TERMS", "evaluate", "register_defaults", "default_timings"]

#: The terms of a form, in evaluation order: the kernel's per-core counters
#: (``neurocore.sim.CORE_STEP_KEYS``), then idle updates (neurons on the core less its
#: active updates), synops of the dense synapse unit (synops less sparse and conv) and
#: the neurons on the core (a constant per step).
TERMS = ("synops", "updates_active", "spikes", "packets_out", "packets_in", "synops_sparse", "synops_conv",
         "updates_idle", "synops_dense", "neurons")


@dataclass(frozen=True)
class CoreTiming:
    """A per-step chip-time model: two linear forms of a core's step counters.

    Attributes
    ----------
    name : str
        Where it comes from (e.g. ``"loihi/neurocore"``); not part of :attr:`key`.
    first, second : tuple of float
        Seconds per count of each of :data:`TERMS` (10 finite, non-negative floats).
    """

    name: str
    first: tuple[float, ...]
    second: tuple[float, ...]

    def __post_init__(self) -> None:
        for side in ("first", "second"):
            w = tuple(float(x) for x in getattr(self, side))
            if len(w) != len(TERMS) or not all(math.isfinite(x) and x >= 0 for x in w):
                raise SimulationError(f"CoreTiming {self.name!r}: {side} must be {len(TERMS)} finite non-negative "
                                      f"seconds per count, one per term {TERMS}; got {getattr(self, side)!r}")
            object.__setattr__(self, side, w)

    @property
    def key(self) -> str:
        """Identifies the weights exactly (hex floats): ``RunResult.chip_time`` is keyed by it."""
        return "/".join(x.hex() for x in self.first + self.second)

    def weights(self) -> NDArray[np.float64]:
        """(2, len(TERMS)) float64, the layout the kernel reads."""
        return np.array([self.first, self.second], np.float64)


def _terms(core_steps: dict[str, NDArray], neurons: NDArray) -> list[NDArray]:
    cols = [np.asarray(core_steps[k], np.float64) for k in TERMS[:7]]
    syn, act, sparse, conv = cols[0], cols[1], cols[5], cols[6]
    nrn = np.broadcast_to(np.asarray(neurons, np.float64), act.shape)
    return cols + [nrn - act, syn - sparse - conv, nrn]


def evaluate(core_steps: dict[str, NDArray], neurons: NDArray, timing: CoreTiming,
             timesteps: NDArray) -> NDArray[np.float64]:
    """The kernel's chip-time sums, from a full per-step per-core table.

    Parameters
    ----------
    core_steps : dict of (batch, n_steps, n_cores) int arrays
        ``RunResult.core_steps`` (every key of :data:`TERMS` but the last two).
    neurons : (n_cores,) array
        Neurons on each used core.
    timing : CoreTiming
    timesteps : (batch,) int array
        Steps charged per sample (later steps are not).

    Returns
    -------
    (batch, 2) float64
        Seconds: the steps where the first form's maximum won, and the others.
    """
    cols = _terms(core_steps, neurons)
    B, T = cols[0].shape[:2]
    out = np.zeros((B, 2), np.float64)
    if T == 0:
        return out
    maxima = []
    for w in (timing.first, timing.second):
        acc = np.zeros(cols[0].shape, np.float64)
        for x, wk in zip(cols, w):
            acc = acc + x * wk
        maxima.append(acc.max(axis=2) if acc.shape[2] else np.zeros((B, T)))
    f, s = maxima
    charged = np.arange(T)[None, :] < np.asarray(timesteps)[:, None]
    for t in range(T):  # in step order, as the kernel adds them
        win = (f[:, t] > s[:, t]) & charged[:, t]
        lose = ~(f[:, t] > s[:, t]) & charged[:, t]
        out[win, 0] += f[win, t]
        out[lose, 1] += s[lose, t]
    return out


_PROVIDERS: list[Callable[[], Iterable[CoreTiming]]] = []


def register_defaults(provider: Callable[[], Iterable[CoreTiming]]) -> None:
    """Add ``provider`` (called at each default run) to the models every run keeps by default."""
    if provider not in _PROVIDERS:
        _PROVIDERS.append(provider)


def default_timings() -> tuple[CoreTiming, ...]:
    """Every registered default model, each distinct weight set once."""
    seen: dict[str, CoreTiming] = {}
    for provider in _PROVIDERS:
        for t in provider():
            seen.setdefault(t.key, t)
    return tuple(seen.values())
