"""accuracy_vs_timesteps: the curve users plot after a conversion.

A pipeline-level helper (it compiles and runs), so it sits above the stages it
calls: convert -> compile -> run. Formerly ``neurocore.convert.evaluate``
(still importable there, with a DeprecationWarning).
"""
from __future__ import annotations

import numpy as np

from neurocore.errors import ConversionError
from neurocore.mapping import Program, compile
from neurocore.sim import Simulator

__all__ = ["accuracy_vs_timesteps", "float_accuracy_vs_timesteps"]


def _score(pred, y, task: str) -> float:
    y = np.asarray(y)
    if task == "regress":  # R^2
        ss = float(np.sum((y - y.mean(axis=0)) ** 2)) or 1.0
        return 1.0 - float(np.sum((pred - y) ** 2)) / ss
    return float(np.mean(pred == y))


def accuracy_vs_timesteps(graph, chip=None, X=None, y=None, steps=(1, 2, 4, 8, 16, 32, 64), seed: int = 0,
                          n_threads: int | None = None) -> dict[int, float]:
    """Accuracy (R^2 for a regressor) of a converted network on the integer chip, per step count.

    ``graph`` is a converted :class:`~neurocore.Graph` (compiled here for ``chip``,
    default Loihi) or an already compiled Program. Returns ``{n_steps: accuracy}``;
    step counts that do not reach the output population (``<= latency``) are skipped.
    """
    program = graph if isinstance(graph, Program) else compile(graph, chip)
    codec = program.codec
    if codec is None:
        raise ConversionError("this network has no codec: accuracy_vs_timesteps needs a graph from nc.convert()")
    sim = Simulator(program)
    out = {}
    for t in steps:
        if t <= codec.latency:
            continue
        r = sim.run(X, n_steps=int(t), seed=seed, n_threads=n_threads)
        out[int(t)] = _score(r.predictions, y, codec.task)
    return out


def float_accuracy_vs_timesteps(graph, X, y, steps=(1, 2, 4, 8, 16, 32, 64), seed: int = 0) -> dict[int, float]:
    """The same curve for the unquantized float SNN (``graph.meta["float_snn"]``)."""
    fs = graph.meta.get("float_snn")
    if fs is None:
        raise ConversionError("this network has no float twin: use a graph from nc.convert()")
    return {int(t): _score(fs.run(X, int(t), seed).predictions, y, fs.codec.task) for t in steps
            if t > fs.codec.latency}
