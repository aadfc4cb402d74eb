"""Pareto fronts of a study: which points no other point beats on every objective.

Directions come from the metric registry (:data:`neurocore.dse.metrics.METRICS`).
A point is on the front when no finished point is at least as good on every
objective and strictly better on one. Plots: 2-D (two objectives), a 3-D scatter
and a parallel-coordinates view (three or more); exports: CSV and JSON, each
written to a temporary file and renamed (a failed write keeps the previous file).
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurocore.dse.metrics import METRICS, objective
from neurocore.errors import StudyError

__all__ = ["ParetoFront", "pareto_mask", "write_csv"]


def pareto_mask(F: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``F`` (n, k), every column minimised."""
    F = np.asarray(F, np.float64)
    keep = np.ones(F.shape[0], bool)
    for i in range(F.shape[0]):
        dominated = np.all(F <= F[i], axis=1) & np.any(F < F[i], axis=1)
        keep[i] = not dominated.any()
    return keep


def _atomic_write(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_csv(records: Sequence[dict], path: str | os.PathLike) -> Path:
    """``records`` (dicts with the same keys) as a CSV file, atomically."""
    buf = io.StringIO()
    if records:
        w = csv.DictWriter(buf, fieldnames=list(records[0]))
        w.writeheader()
        w.writerows(records)
    return _atomic_write(path, buf.getvalue())


def _label(name: str) -> str:
    m = METRICS[name]
    arrow = "higher" if m.direction == "max" else "lower"
    return f"{name}{f' [{m.unit}]' if m.unit else ''} ({arrow} is better)"


class ParetoFront:
    """The non-dominated points of a study over some objectives.

    Parameters
    ----------
    records : list of dict
        :meth:`Study.records` (only ``status == "ok"`` points with finite objectives count).
    objectives : list of str
        Metric names, optionally signed (``"-accuracy"``); at least two.
    dims : list of str, optional
        Config columns to keep in the front's table.
    """

    def __init__(self, records: Sequence[dict], objectives: Sequence[str], dims: Sequence[str] | None = None) -> None:
        parsed = [objective(o) for o in objectives]
        if len(parsed) < 2:
            raise StudyError(f"a Pareto front needs at least two objectives, got {list(objectives)}")
        self.objectives = [n for n, _ in parsed]
        self.directions = [d for _, d in parsed]
        ok = [r for r in records if r["status"] == "ok"
              and all(isinstance(r.get(n), (int, float)) and math.isfinite(r[n]) for n in self.objectives)]
        self.points = ok
        sign = np.array([-1.0 if d == "max" else 1.0 for d in self.directions])
        self.F = np.array([[r[n] for n in self.objectives] for r in ok], np.float64).reshape(len(ok), -1) * sign
        mask = pareto_mask(self.F) if ok else np.zeros(0, bool)
        order = np.lexsort(self.F[mask].T[::-1]) if mask.any() else np.zeros(0, int)
        front = [r for r, m in zip(ok, mask) if m]
        self._front = [front[i] for i in order]
        self.mask = mask
        self.dims = list(dims) if dims is not None else [k for k in (records[0] if records else {})
                                                         if "." in k or k == "n_steps"]

    def __len__(self) -> int:
        return len(self._front)

    def records(self) -> list[dict[str, Any]]:
        """The front's points (config columns, objectives, key), best on the first objective first."""
        cols = self.dims + [n for n in self.objectives if n not in self.dims] + ["key"]
        return [{c: r.get(c) for c in cols} for r in self._front]

    def table(self):
        """The front as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records())

    def to_csv(self, path: str | os.PathLike) -> Path:
        return write_csv(self.records(), path)

    def to_json(self, path: str | os.PathLike) -> Path:
        """``{"objectives": [...], "directions": [...], "front": [records]}``, atomically."""
        doc = {"objectives": self.objectives, "directions": self.directions, "n_points": len(self.points),
               "front": self.records()}
        return _atomic_write(path, json.dumps(doc, indent=2, default=float))

    # ---- plots ---------------------------------------------------------------------------
    def plot(self, path: str | os.PathLike | None = None, title: str | None = None):
        """Two objectives: a scatter of every point with the front drawn over it; three: a 3-D
        scatter beside a parallel-coordinates view; more: parallel coordinates. Returns the Figure."""
        from neurocore.report import _figure, _save

        k = len(self.objectives)
        fig = _figure((6.4, 4.6) if k == 2 else (12.0, 4.8))
        if k == 2:
            self._plot_2d(fig.add_subplot(1, 1, 1))
        elif k == 3:
            self._plot_3d(fig.add_subplot(1, 2, 1, projection="3d"))
            self._plot_parallel(fig.add_subplot(1, 2, 2))
        else:
            self._plot_parallel(fig.add_subplot(1, 1, 1))
        fig.suptitle(title or f"Pareto front: {len(self)} of {len(self.points)} points")
        _save(fig, path)
        return fig

    def _values(self, rows: Sequence[dict]) -> np.ndarray:
        return np.array([[r[n] for n in self.objectives] for r in rows], np.float64).reshape(len(rows), -1)

    def _plot_2d(self, ax) -> None:
        allv, front = self._values(self.points), self._values(self._front)
        ax.scatter(allv[:, 0], allv[:, 1], s=14, c="0.7", label="all points")
        ax.plot(front[:, 0], front[:, 1], "-o", color="C3", ms=5, label="Pareto front")
        for i, n in enumerate(self.objectives[:2]):
            if METRICS[n].unit in ("J", "s", "J s") and allv.size and np.all(allv[:, i] > 0):
                (ax.set_xscale if i == 0 else ax.set_yscale)("log")
        ax.set_xlabel(_label(self.objectives[0]))
        ax.set_ylabel(_label(self.objectives[1]))
        ax.legend(loc="best", fontsize=8)
        ax.grid(alpha=0.3)

    def _plot_3d(self, ax) -> None:
        """Energies and times (positive) on log10 axes: they span decades."""
        allv, front = self._values(self.points), self._values(self._front)
        names = []
        for i, n in enumerate(self.objectives):
            if METRICS[n].unit in ("J", "s", "J s") and allv.size and np.all(allv[:, i] > 0):
                allv[:, i], front[:, i] = np.log10(allv[:, i]), np.log10(front[:, i])
                n = f"log10 {n}"
            names.append(n)
        ax.scatter(allv[:, 0], allv[:, 1], allv[:, 2], s=8, c="0.7", label="all points")
        ax.scatter(front[:, 0], front[:, 1], front[:, 2], s=24, c="C3", label="Pareto front")
        for setter, n in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), names):
            setter(n, fontsize=8)
        ax.legend(loc="upper left", fontsize=8)

    def _plot_parallel(self, ax) -> None:
        """Each objective scaled to [0, 1] with better = up (log scale for energies and times)."""
        allv = self._values(self.points)
        cols = []
        for i, (n, d) in enumerate(zip(self.objectives, self.directions)):
            v = allv[:, i]
            if METRICS[n].unit in ("J", "s", "J s") and np.all(v > 0):
                v = np.log10(v)
            lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
            s = (v - lo) / (hi - lo) if hi > lo else np.full_like(v, 0.5)
            cols.append(s if d == "max" else 1.0 - s)
        S = np.array(cols).T if cols else np.zeros((0, len(self.objectives)))
        x = np.arange(len(self.objectives))
        for row in S[~self.mask]:
            ax.plot(x, row, color="0.8", lw=0.6)
        for row in S[self.mask]:
            ax.plot(x, row, color="C3", lw=1.4, alpha=0.8)
        ax.set_xticks(x, [f"{n}\n({'max' if d == 'max' else 'min'})" for n, d in zip(self.objectives,
                                                                                       self.directions)], fontsize=8)
        ax.set_ylabel("scaled, better = up")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title("parallel coordinates (red: Pareto front)", fontsize=9)
