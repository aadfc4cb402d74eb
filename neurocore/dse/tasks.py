"""The work of a study, as plain functions that run wherever the executor sends them.

``build``  (model, calibration, Build) -> Program            once per (chip, conversion, compile)
``run_shard`` (Program, input shard, n_steps, seed) -> RunResult   once per shard x replicate x n_steps
``finish`` (RunResults per replicate, labels) -> Outcome       merges shards exactly, measures, prices

A config that cannot be built or run (it does not fit the chip, a width is out of range,
...) raises a :class:`~neurocore.NeurocoreError`; these functions catch it and hand back a
:class:`Failure`, so the point is stored with its error. Anything else is a bug and
propagates.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocore.errors import NeurocoreError

__all__ = ["Failure", "Outcome", "build", "run_shard", "finish", "run_point", "shard_seed"]


@dataclass(frozen=True)
class Failure:
    """Why a point could not be evaluated: the stage, the exception type and its message."""

    stage: str
    error_type: str
    message: str

    def __str__(self) -> str:
        return f"{self.stage}: {self.error_type}: {self.message}"


@dataclass
class Outcome:
    """A finished point: metrics (mean over replicates), their sd, and the energy reports."""

    metrics: dict[str, float] = field(default_factory=dict)
    sd: dict[str, float] = field(default_factory=dict)
    reports: list[dict] = field(default_factory=list)
    failure: Failure | None = None
    task_s: float = 0.0


def _fail(stage: str, exc: Exception) -> Failure:
    return Failure(stage, type(exc).__name__, str(exc))


def build(model: Any, calibration: np.ndarray, b) -> Any:
    """Convert ``model`` for the point's chip and compile it: a Program, or a Failure."""
    import neurocore as nc
    from neurocore.chip.spec import ChipSpec

    try:
        chip = ChipSpec(**b.chip)
    except NeurocoreError as exc:
        return _fail("chip", exc)
    try:
        graph = nc.convert(model, calibration=calibration, chip=chip, **b.convert)
    except NeurocoreError as exc:
        return _fail("convert", exc)
    try:
        program = nc.compile(graph, chip, **b.compile)
    except NeurocoreError as exc:
        return _fail("compile", exc)
    return program


def shard_seed(seed: int, replicate: int, start: int) -> int:
    """The encoding seed of the shard that starts at sample ``start`` (independent of the executor)."""
    return int(np.random.SeedSequence([int(seed), int(replicate), int(start)]).generate_state(1)[0])


def run_shard(program: Any, x: np.ndarray, n_steps: int, seed: int, n_threads: int | None) -> Any:
    """Simulate one shard of the test set: a RunResult (with ``meta["task_s"]``), or a Failure."""
    import warnings

    from neurocore.sim import Simulator

    if isinstance(program, Failure):
        return program
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # saturated inputs are the encoding's documented rule
            result = Simulator(program).run(x, int(n_steps), n_threads=n_threads, seed=seed)
    except NeurocoreError as exc:
        return _fail("run", exc)
    result.meta["task_s"] = time.perf_counter() - t0
    return result


def _merge(parts: list) -> Any:
    from neurocore.sim import concat_results

    failed = [p for p in parts if isinstance(p, Failure)]
    return failed[0] if failed else concat_results(list(parts))


def finish(replicates: list[list], labels: np.ndarray, energy: Any, baseline: Any) -> Outcome:
    """Merge each replicate's shards (exactly: samples are independent), measure and price them.

    Returns
    -------
    Outcome
        ``metrics`` are the mean over replicates, ``sd`` their sample standard deviation
        (only with more than one replicate), ``reports`` one energy report dict per replicate.
    """
    from neurocore.dse.metrics import measure
    from neurocore.energy import estimate

    task_s = sum(p.meta.get("task_s", 0.0) for rep in replicates for p in rep if not isinstance(p, Failure))
    rows, reports = [], []
    for parts in replicates:
        merged = _merge(parts)
        if isinstance(merged, Failure):
            return Outcome(failure=merged, task_s=task_s)
        try:
            report = estimate(merged, chip=energy, baseline=baseline)
            rows.append(measure(merged, report, labels))
        except NeurocoreError as exc:
            return Outcome(failure=_fail("report", exc), task_s=task_s)
        reports.append(report.to_dict())
    keys = list(rows[0])
    table = np.array([[r[k] for k in keys] for r in rows], np.float64)
    metrics = dict(zip(keys, (float(v) for v in table.mean(axis=0))))
    sd = dict(zip(keys, (float(v) for v in table.std(axis=0, ddof=1)))) if len(rows) > 1 else {}
    return Outcome(metrics=metrics, sd=sd, reports=reports, task_s=task_s)


def run_point(program: Any, x: np.ndarray, n_steps: int, seed: int, n_threads: int | None, labels: np.ndarray,
              energy: Any, baseline: Any) -> Outcome:
    """:func:`run_shard` then :func:`finish` in one task, for a point of one shard and one replicate
    (its RunResult then never leaves the worker)."""
    return finish([[run_shard(program, x, n_steps, seed, n_threads)]], labels, energy, baseline)
