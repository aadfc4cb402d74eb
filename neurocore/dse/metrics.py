"""One registry of the metrics a study measures, each with its unit and direction.

Objectives and Pareto fronts take their direction from :data:`METRICS`: accuracy is
maximised; energy, latency, cores, spikes are minimised. An objective string may
carry an explicit sign, ``"-accuracy"`` (maximise: minimise minus it) or ``"+name"``
(minimise); the sign must agree with the registry.

Energy names
------------
``energy_per_inference_J``
    Chip energy per inference, dynamic + static (``EnergyReport.energy_per_inference_J``).
``energy_dynamic_J``
    Per inference, without static power: the report's dynamic figure when it has one,
    else the sum of its terms whose ``kind`` is not ``"static"``.
``energy_static_J``
    Per inference, static power x chip time: ``energy_per_inference_J - energy_dynamic_J``.
``energy_total_J``
    The whole test set's chip energy (``EnergyReport.energy_total_J``: per inference x batch).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocore.errors import StudyError

__all__ = ["METRICS", "Metric", "measure", "objective", "dynamic_energy"]


@dataclass(frozen=True)
class Metric:
    """A measured figure of a point.

    Attributes
    ----------
    name : str
    direction : {"max", "min"} or None
        Which way is better; None for a figure that is not an objective (context only).
    unit : str
    description : str
    """

    name: str
    direction: str | None
    unit: str
    description: str


def dynamic_energy(report: Any) -> float:
    """Dynamic chip energy per inference (J): the report's own split if it has one, else the non-static terms."""
    for attr in ("energy_dynamic_J", "dynamic_energy_per_inference_J", "energy_per_inference_dynamic_J"):
        v = getattr(report, attr, None)
        if v is not None:
            return float(v)
    return float(sum(t.energy_J for t in report.terms if t.kind != "static"))


def _overflows(r, e) -> float:
    c = r.counters
    return float(np.mean(c["overflow_u"] + c["overflow_v"])) if "overflow_u" in c else 0.0


def _none(x) -> float:
    return float("nan") if x is None else float(x)


#: name -> (direction, unit, description, extract(result, report, labels)).
_TABLE: dict[str, tuple[str | None, str, str, Callable]] = {
    "accuracy": ("max", "", "fraction of test samples classified right", lambda r, e, y: r.accuracy(y)),
    "energy_per_inference_J": ("min", "J", "chip energy per inference, dynamic + static",
                               lambda r, e, y: e.energy_per_inference_J),
    "energy_dynamic_J": ("min", "J", "chip energy per inference without static power",
                         lambda r, e, y: dynamic_energy(e)),
    "energy_static_J": ("min", "J", "static chip energy per inference (static power x chip time)",
                        lambda r, e, y: e.energy_per_inference_J - dynamic_energy(e)),
    "energy_total_J": ("min", "J", "chip energy of the whole test set", lambda r, e, y: e.energy_total_J),
    "energy_per_spike_J": ("min", "J", "chip energy per spike", lambda r, e, y: _none(e.energy_per_spike_J)),
    "edp_Js": ("min", "J s", "energy-delay product per inference", lambda r, e, y: e.edp_Js),
    "latency_s": ("min", "s", "chip time per inference", lambda r, e, y: e.latency_s),
    "latency_timesteps": ("min", "steps", "timesteps per inference", lambda r, e, y: e.latency_timesteps),
    "cores": ("min", "cores", "cores the Program uses", lambda r, e, y: r.program.n_cores_used),
    "chips": ("min", "chips", "chips the Program uses", lambda r, e, y: e.n_chips_used),
    "spikes_per_inference": ("min", "spikes", "spikes per inference", lambda r, e, y: e.spikes_per_inference),
    "synops_per_inference": ("min", "ops", "synaptic ops per inference", lambda r, e, y: e.synops_per_inference),
    "overflows_per_inference": ("min", "events", "u and v overflow events per inference", lambda r, e, y:
                                _overflows(r, e)),
    "ratio_vs_baseline": ("min", "x", "chip energy / dense baseline energy", lambda r, e, y:
                          _none(e.ratio_vs_baseline)),
    "baseline_energy_per_inference_J": (None, "J", "dense baseline energy per inference", lambda r, e, y:
                                        _none(e.baseline_energy_per_inference_J)),
}

#: The registry: metric name -> :class:`Metric`.
METRICS: dict[str, Metric] = {k: Metric(k, d, u, desc) for k, (d, u, desc, _) in _TABLE.items()}


def measure(result: Any, report: Any, labels: Any) -> dict[str, float]:
    """Every registered metric of one run (a merged RunResult and its EnergyReport)."""
    return {k: float(fn(result, report, labels)) for k, (_, _, _, fn) in _TABLE.items()}


def objective(spec: str) -> tuple[str, str]:
    """``(metric, direction)`` of an objective string: ``"accuracy"``, ``"-accuracy"`` or ``"+latency_s"``.

    Raises
    ------
    StudyError
        Unknown metric (lists the registry), a metric with no direction and no sign, or a
        sign that contradicts the registry.
    """
    if not isinstance(spec, str) or not spec:
        raise StudyError(f"an objective is a metric name such as 'accuracy' or '-accuracy', got {spec!r}")
    sign, name = (spec[0], spec[1:]) if spec[0] in "+-" else ("", spec)
    if name not in METRICS:
        raise StudyError(f"unknown metric {name!r} in objective {spec!r}; metrics are {sorted(METRICS)}")
    want = METRICS[name].direction
    given = {"-": "max", "+": "min", "": want}[sign]
    if given is None:
        raise StudyError(f"metric {name!r} has no preferred direction; write '-{name}' to maximise or "
                         f"'+{name}' to minimise it")
    if want is not None and given != want:
        raise StudyError(f"objective {spec!r} would {'maximise' if given == 'max' else 'minimise'} {name!r}, "
                         f"which the metric registry minimises" if want == "min" else
                         f"objective {spec!r} would minimise {name!r}, which the metric registry maximises")
    return name, given
