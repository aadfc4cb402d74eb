"""Anytime inference: stop each sample as soon as its read-out is decisive.

A spiking classifier accumulates evidence step by step; many samples are decided long
before the last step. :class:`StopRule` says when a sample is decided, on the chip's own
state and with integer arithmetic a chip's embedded (management) core could run: after
step ``t >= min_steps``, the leading and the second largest spike count of the read-out
population so far differ by at least ``margin``. The simulation kernel evaluates it after
every step (``Simulator.run(x, n_steps=T, stop=rule)``); a stopped sample receives no
input, updates no neuron, sends no spike and counts nothing from then on, so its counters,
state and prediction are exactly those of a run of its own number of steps
(``RunResult.steps``).

:meth:`StopRule.calibrate` picks the margin on calibration data;
:func:`neurocore.anytime_energy.accuracy_vs_energy` (``nc.accuracy_vs_energy``, the report
stage) sweeps it next to the fixed-T curve, with energy and latency per inference from
:func:`neurocore.energy.estimate` (which prices only the steps each sample ran, plus the
check itself where the profile's source publishes its cost).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import StopRuleError

__all__ = ["StopRule", "STOP_RULES", "CHECKERS", "CalibrationTable", "stop_steps", "decode_at_steps",
           "predict_stopped", "readout_traces", "check_stopped_after_latency"]


def _count_margin(counts: NDArray[np.int64]) -> NDArray[np.int64]:
    """Leading minus second spike count per row of ``counts`` (batch, n); a single neuron's second is 0."""
    if counts.shape[-1] == 1:
        return counts[..., 0].astype(np.int64)
    top2 = np.sort(counts, axis=-1)[..., -2:].astype(np.int64)
    return top2[..., 1] - top2[..., 0]


#: Rule name -> its evidence function (cumulative read-out spike counts -> the integer compared
#: with ``margin``). The kernel implements the same rules (``_sim.pyx: check_stop``).
STOP_RULES = {"count_margin": _count_margin}

#: Who runs the check (priced by ``neurocore.energy.estimate`` where a profile publishes it).
CHECKERS = ("embedded", "host")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


@dataclass(frozen=True)
class StopRule:
    """Stop a sample once its read-out's evidence is decisive.

    Parameters
    ----------
    margin : int
        Spikes (>= 0) by which the leading read-out neuron must lead the second
        (``rule="count_margin"``); 0 stops every sample at ``min_steps``.
    min_steps : int
        First step (>= 1, counted from 1) after which the rule is checked.
    population : str, optional
        The read-out population. Default: a converted Program's output population
        (``codec.output``); a hand-built Graph must name one.
    rule : str
        ``"count_margin"`` (see :data:`STOP_RULES`).
    checker : {"embedded", "host"}
        Who reads the read-out's counters after each step and decides: the chip's
        embedded (management) core or the host. Only the energy report uses it (it
        prices the check with the profile's entry for that checker, where published).

    Raises
    ------
    StopRuleError
        A non-integer or negative ``margin``, ``min_steps`` < 1, an unknown ``rule``, or a
        ``population`` that is not a string.
    """

    margin: int
    min_steps: int = 1
    population: str | None = None
    rule: str = "count_margin"
    checker: str = "embedded"

    def __post_init__(self) -> None:
        if not _is_int(self.margin) or self.margin < 0:
            raise StopRuleError(f"StopRule margin must be an int >= 0 (spikes the leading read-out neuron must lead "
                                f"by), got {self.margin!r}")
        if not _is_int(self.min_steps) or self.min_steps < 1:
            raise StopRuleError(f"StopRule min_steps must be an int >= 1 (the first step after which the rule is "
                                f"checked), got {self.min_steps!r}")
        if self.rule not in STOP_RULES:
            raise StopRuleError(f"unknown StopRule rule {self.rule!r}; choose from {sorted(STOP_RULES)}")
        if self.checker not in CHECKERS:
            raise StopRuleError(f"unknown StopRule checker {self.checker!r}; choose from {list(CHECKERS)}")
        if self.population is not None and not isinstance(self.population, str):
            raise StopRuleError(f"StopRule population must be a population name (str) or None, got "
                                f"{type(self.population).__name__}")
        object.__setattr__(self, "margin", int(self.margin))
        object.__setattr__(self, "min_steps", int(self.min_steps))

    def readout(self, program) -> tuple[str, int, int]:
        """``(name, first neuron, n neurons)`` of the read-out population in ``program``.

        Raises :class:`StopRuleError` when the population is unknown, when a hand-built
        Program has no default, or when a converted network's read-out does not spike
        (``decoding="membrane"``: its spike counts never differ).
        """
        codec = program.codec
        name = self.population
        if name is None:
            if codec is None:
                raise StopRuleError("StopRule needs population=...: this Program has no codec (it was not converted), "
                                    f"so name the read-out population, one of {list(program.populations)}")
            name = codec.output
            if codec.decoding == "membrane":
                raise StopRuleError(f"the read-out population {name!r} decodes by membrane potential and never "
                                    "spikes, so a spike-count margin never fires: convert with decoding='count'")
        if name not in program.populations:
            raise StopRuleError(f"StopRule population {name!r} is not in the Program; populations are "
                                f"{list(program.populations)}")
        pm = program.populations[name]
        if pm.n < 1:
            raise StopRuleError(f"StopRule population {name!r} has no neurons")
        return name, int(pm.offset), int(pm.n)

    def evidence(self, counts) -> NDArray[np.int64]:
        """The integer the rule compares with ``margin``, from cumulative spike counts (..., n)."""
        return STOP_RULES[self.rule](np.asarray(counts, np.int64))

    @staticmethod
    def calibrate(program, X_cal, y_cal, n_steps: int = 32, target: float = 0.003, margins=None,
                  min_steps=None, seed: int = 0, n_threads: int | None = None) -> tuple[StopRule, CalibrationTable]:
        """Choose the margin (and min_steps) on calibration data only.

        Runs the calibration set once for ``n_steps`` with the read-out's spikes and
        membrane potentials probed, and evaluates every candidate rule exactly from those
        traces (a sample's first t steps do not depend on whether it stops after them).
        The chosen rule is the one with the fewest mean steps whose calibration accuracy
        is at least the fixed-``n_steps`` accuracy minus ``target`` (a fraction: 0.003 =
        0.3 points); ties go to the larger margin.

        Parameters
        ----------
        program : Program
            A converted Program (with a codec) whose read-out spikes.
        X_cal, y_cal : arrays
            Calibration samples (the ANN's float inputs) and labels; keep them apart from
            the test data.
        n_steps : int
            The fixed step count the rule is compared with (and its upper bound).
        target : float
            Accuracy (fraction) the rule may lose against fixed ``n_steps``, >= 0.
        margins : sequence of int, optional
            Candidates (default 1..16).
        min_steps : sequence of int, optional
            Candidates for min_steps (default: 1 and the codec's latency + 2 .. + 4).

        Returns
        -------
        (StopRule, CalibrationTable)
        """
        return _calibrate(program, X_cal, y_cal, n_steps, target, margins, min_steps, seed, n_threads)


def stop_steps(rule: StopRule, spikes: NDArray, n_steps: int) -> NDArray[np.int64]:
    """Steps each sample runs under ``rule``, from its read-out spike trains (batch, T, n) bool/int.

    The same decision as the kernel's: the first step t >= min_steps (1-based) after which
    the cumulative counts' evidence is >= margin, else ``n_steps``.
    """
    counts = np.cumsum(np.asarray(spikes, np.int64), axis=1)
    fired = rule.evidence(counts) >= rule.margin  # (batch, T)
    fired[:, : rule.min_steps - 1] = False
    first = np.argmax(fired, axis=1) + 1
    return np.where(fired.any(axis=1), first, n_steps).astype(np.int64)


def check_stopped_after_latency(codec, steps: NDArray, rule: StopRule) -> None:
    """Refuse predictions of samples stopped before input reaches the read-out (nothing to decode yet)."""
    early = np.asarray(steps) <= codec.latency
    if early.any():
        raise StopRuleError(f"{int(early.sum())} sample(s) stopped at step {int(np.min(steps))}, before input reaches "
                            f"the output population {codec.output!r} at step {codec.latency + 1}: use "
                            f"min_steps >= {codec.latency + 1} (this rule: margin {rule.margin}, min_steps "
                            f"{rule.min_steps}, population {rule.population or codec.output!r})")


def decode_at_steps(codec, counts: NDArray, v: NDArray, steps: NDArray) -> NDArray:
    """Predictions of samples stopped at ``steps`` from their counts and v at that step (one decode per step count)."""
    steps = np.asarray(steps, np.int64)
    out = None
    for s in np.unique(steps):
        idx = np.flatnonzero(steps == s)
        pred = np.asarray(codec.decode_arrays(counts[idx], v[idx], int(s)))
        if out is None:
            out = np.empty((steps.shape[0],) + pred.shape[1:], pred.dtype)
        out[idx] = pred
    return out


@dataclass
class CalibrationTable:
    """Every candidate rule's calibration accuracy and mean steps, and the one chosen.

    ``rows``: dicts with ``margin``, ``min_steps``, ``accuracy`` (fraction), ``mean_steps``;
    ``fixed_accuracy``: accuracy at fixed ``n_steps``; ``chosen``: index into ``rows``.
    """

    n_steps: int
    target: float
    fixed_accuracy: float
    rows: list[dict] = field(default_factory=list)
    chosen: int | None = None
    n_samples: int = 0

    def __str__(self) -> str:
        lines = [f"StopRule calibration on {self.n_samples} samples: fixed T={self.n_steps} accuracy "
                 f"{100 * self.fixed_accuracy:.2f} %, budget {100 * self.target:.2f} points",
                 "  margin  min_steps  accuracy  mean steps"]
        for i, r in enumerate(self.rows):
            mark = "  <- chosen" if i == self.chosen else ""
            lines.append(f"  {r['margin']:>6}  {r['min_steps']:>9}  {100 * r['accuracy']:>7.2f}%  "
                         f"{r['mean_steps']:>10.2f}{mark}")
        return "\n".join(lines)


def require_converted(program) -> None:
    """A compiled, converted Program (with a codec), or a StopRuleError."""
    from neurocore.mapping import Program

    if not isinstance(program, Program):
        raise StopRuleError(f"expected a compiled Program (nc.compile(nc.convert(model, ...), chip)), got "
                            f"{type(program).__name__}")
    if program.codec is None:
        raise StopRuleError("this Program has no codec: calibrating a stop rule needs a converted network "
                            "(nc.convert) whose predictions can be scored")
    StopRule(margin=1).readout(program)  # a read-out that spikes


def readout_traces(program, X, n_steps: int, seed: int = 0, n_threads: int | None = None):
    """One fixed-``n_steps`` run of ``X`` with the read-out's spikes and v probed.

    Returns ``(result, spikes (batch, T, n) int64, v (batch, T, n) int64)``.
    """
    from neurocore.sim import Simulator

    name = program.codec.output
    r = Simulator(program).run(X, n_steps=n_steps, probes={name: ["spikes", "v"]}, seed=seed, n_threads=n_threads)
    return r, r.probes[name]["spikes"].astype(np.int64), r.probes[name]["v"].astype(np.int64)


def predict_stopped(codec, rule: StopRule, spikes: NDArray, v: NDArray, n_steps: int):
    """``(predictions, steps)`` of ``rule`` from full-length read-out traces, exactly as the kernel would stop."""
    steps = stop_steps(rule, spikes, n_steps)
    check_stopped_after_latency(codec, steps, rule)
    rows = np.arange(spikes.shape[0])
    counts = np.cumsum(spikes, axis=1)[rows, steps - 1]
    return decode_at_steps(codec, counts, v[rows, steps - 1], steps), steps


def _check_target(target) -> float:
    if isinstance(target, bool) or not isinstance(target, (int, float, np.floating, np.integer)) \
            or not np.isfinite(target) or not 0 <= target < 1:
        raise StopRuleError(f"target must be the accuracy (a fraction in [0, 1)) the rule may lose against fixed "
                            f"n_steps, e.g. 0.003 for 0.3 points; got {target!r}")
    return float(target)


def int_list(values, what: str, lo: int) -> list[int]:
    """Sorted distinct ints >= ``lo`` of ``values``, or a StopRuleError naming ``what``."""
    vals = list(values)
    if not vals or not all(_is_int(v) and v >= lo for v in vals):
        raise StopRuleError(f"{what} must be a non-empty list of ints >= {lo}, got {values!r}")
    return sorted({int(v) for v in vals})


def _calibrate(program, X_cal, y_cal, n_steps, target, margins, min_steps, seed, n_threads):
    from neurocore.sim import check_labels

    require_converted(program)
    target = _check_target(target)
    codec = program.codec
    margins = int_list(range(1, 17) if margins is None else margins, "margins", 1)
    if min_steps is None:
        min_steps = [1] + [codec.latency + k for k in range(2, 5)]  # latency + 1 acts as 1: no spike before
    min_steps = int_list(min_steps, "min_steps", 1)
    r, spikes, v = readout_traces(program, X_cal, int(n_steps), seed, n_threads)
    y = check_labels(y_cal, r.batch_size, np.asarray(r.predictions))
    fixed = float(np.mean(r.predictions == y))
    table = CalibrationTable(n_steps=int(n_steps), target=target, fixed_accuracy=fixed, n_samples=r.batch_size)
    for m0 in min_steps:
        for m in margins:
            rule = StopRule(margin=m, min_steps=m0)
            pred, steps = predict_stopped(codec, rule, spikes, v, int(n_steps))
            table.rows.append({"margin": m, "min_steps": m0, "accuracy": float(np.mean(pred == y)),
                               "mean_steps": float(np.mean(steps))})
    ok = [i for i, row in enumerate(table.rows) if row["accuracy"] >= fixed - target - 1e-12]
    if not ok:  # every candidate stops too early on some samples
        raise StopRuleError(f"no candidate rule keeps calibration accuracy within {100 * target:.2f} points of "
                            f"fixed T={n_steps} ({100 * fixed:.2f} %): try larger margins")
    table.chosen = min(ok, key=lambda i: (table.rows[i]["mean_steps"], -table.rows[i]["margin"]))
    best = table.rows[table.chosen]
    return StopRule(margin=best["margin"], min_steps=best["min_steps"]), table
