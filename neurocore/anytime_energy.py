"""Accuracy against energy and latency per inference: early stopping next to the fixed-T curve.

The report stage of anytime inference (:mod:`neurocore.anytime` holds the rule and its
calibration): every point is a kernel run priced by :func:`neurocore.energy.estimate`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from neurocore.anytime import StopRule, int_list, require_converted
from neurocore.errors import StopRuleError

__all__ = ["AnytimeRow", "AnytimeCurve", "accuracy_vs_energy"]


@dataclass
class AnytimeRow:
    """One point of an accuracy-vs-energy curve.

    ``kind``: ``"stop"`` (early stopping, ``parameter`` = margin) or ``"fixed"``
    (``parameter`` = T); ``accuracy`` a fraction; ``mean_steps`` per inference;
    ``energy_J`` and ``latency_s`` per inference from :func:`neurocore.energy.estimate`.
    """

    kind: str
    parameter: int
    accuracy: float
    mean_steps: float
    energy_J: float
    latency_s: float


@dataclass
class AnytimeCurve:
    """Early stopping (a margin sweep) next to the fixed-T curve, per inference on one profile."""

    profile: str
    n_steps: int
    min_steps: int
    n_samples: int
    rows: list[AnytimeRow] = field(default_factory=list)
    flags: tuple[str, ...] = ()

    def of(self, kind: str) -> list[AnytimeRow]:
        """The rows of one kind (``"stop"`` or ``"fixed"``), in sweep order."""
        return [r for r in self.rows if r.kind == kind]

    def to_dict(self) -> dict:
        return {"profile": self.profile, "n_steps": self.n_steps, "min_steps": self.min_steps,
                "n_samples": self.n_samples, "rows": [vars(r) for r in self.rows], "flags": list(self.flags)}

    def __str__(self) -> str:
        from neurocore.report import format_si

        lines = [f"accuracy vs energy on '{self.profile}', {self.n_samples} samples (stop: margin sweep, "
                 f"min_steps={self.min_steps}, T <= {self.n_steps})",
                 "  kind   param  accuracy  mean steps  energy/inf  latency/inf"]
        for r in self.rows:
            lines.append(f"  {r.kind:<5}  {r.parameter:>5}  {100 * r.accuracy:>7.2f}%  {r.mean_steps:>10.2f}  "
                         f"{format_si(r.energy_J, 'J'):>10}  {format_si(r.latency_s, 's'):>11}")
        return "\n".join(lines)

    def plot(self, path=None, x: str = "mean_steps"):
        """Accuracy against ``x`` (``"mean_steps"``, ``"energy_J"`` or ``"latency_s"``), one line per kind.

        Needs matplotlib (the ``plot`` extra; else ``neurocore.report.PlotDependencyError``,
        an ImportError). Writes a PNG at ``path`` when given (atomically: a failed write keeps
        the previous file); returns the Figure (Agg canvas, no pyplot state).
        """
        from neurocore.report import _figure, _save

        if x not in ("mean_steps", "energy_J", "latency_s"):
            raise StopRuleError(f"plot x={x!r}; choose 'mean_steps', 'energy_J' or 'latency_s'")
        fig = _figure((5.5, 4))
        ax = fig.add_subplot()
        labels = {"fixed": "fixed T", "stop": "early stop (margin sweep)"}
        for kind, style in (("fixed", "o-"), ("stop", "s-")):
            rows = sorted(self.of(kind), key=lambda r: getattr(r, x))
            if rows:
                ax.plot([getattr(r, x) for r in rows], [100 * r.accuracy for r in rows], style, label=labels[kind],
                        markersize=4)
        ax.set_xlabel({"mean_steps": "mean steps per inference", "energy_J": f"energy per inference (J, {self.profile})",
                       "latency_s": "chip time per inference (s)"}[x])
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend()
        _save(fig, path)
        return fig


def accuracy_vs_energy(program, X, y, n_steps: int = 32, margins=(1, 2, 3, 4, 6, 8), fixed_steps=None,
                       min_steps: int = 1, chip: str = "loihi", seed: int = 0,
                       n_threads: int | None = None, **estimate_options) -> AnytimeCurve:
    """Early stopping at each margin and the fixed-T network at each T: accuracy, mean steps,
    energy and chip time per inference.

    Every point is a real kernel run priced by :func:`neurocore.energy.estimate` on the chip
    profile ``chip`` (``baseline=None``; ``estimate_options`` such as ``static=`` pass through).

    Parameters
    ----------
    program : Program
        A converted, compiled Program whose read-out spikes.
    X, y : arrays
        Test samples and labels (choose the margin on other data: :meth:`StopRule.calibrate`).
    n_steps : int
        Upper bound of the early-stopped runs.
    margins : sequence of int
        Margins to sweep (``StopRule(margin, min_steps)``).
    fixed_steps : sequence of int, optional
        Fixed T values (default every T from the codec's latency + 1 to ``n_steps``).

    Returns
    -------
    AnytimeCurve
    """
    from neurocore.energy import estimate
    from neurocore.sim import Simulator

    require_converted(program)
    codec = program.codec
    margins = int_list(margins, "margins", 1)  # margin 0 is fixed T = min_steps: see fixed_steps
    fixed_steps = int_list(range(codec.latency + 1, int(n_steps) + 1) if fixed_steps is None else fixed_steps,
                        "fixed_steps", 1)
    sim = Simulator(program)
    curve = AnytimeCurve(profile=str(chip), n_steps=int(n_steps), min_steps=int(min_steps), n_samples=0)
    flags: list[str] = []

    seen: set[str] = set()

    def point(kind, param, r):
        e = estimate(r, chip=chip, baseline=None, **estimate_options)
        for f in e.flags:  # one of each kind: the same flag recurs with each run's counts
            key = re.sub(r"[0-9.]+", "#", f)
            if key not in seen:
                seen.add(key)
                flags.append(f)
        curve.n_samples = r.batch_size
        curve.rows.append(AnytimeRow(kind, int(param), r.accuracy(y), float(np.mean(r.steps)),
                                     e.energy_per_inference_J, e.latency_s))

    for T in fixed_steps:
        point("fixed", T, sim.run(X, n_steps=T, seed=seed, n_threads=n_threads))
    for m in margins:
        rule = StopRule(margin=m, min_steps=min_steps)
        point("stop", m, sim.run(X, n_steps=int(n_steps), stop=rule, seed=seed, n_threads=n_threads))
    curve.flags = tuple(flags)
    return curve
