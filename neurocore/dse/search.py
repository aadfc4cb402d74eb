"""search(model, space, objectives, data=..., budget=500, store=...) -> Study: NSGA-II over a Space.

pymoo's NSGA-II machinery (rank-and-crowding survival, binary tournament selection)
with its mixed-variable operators: each dimension of the space is a variable,
ordered numeric values (weight bits, timesteps, percentiles) an ``Integer`` index
into the list (so crossover and mutation move between neighbours), anything else
a ``Choice``. Chip and network dimensions (timesteps, percentile, encoding, ...)
evolve together. Each generation is evaluated as one batch on the study's
executor, through the same store as :func:`~neurocore.dse.sweep`: a point already
stored (from an earlier search or sweep on the same model and data) costs nothing.
A point that fails (does not fit the chip, ...) is infeasible (one constraint
violated), never dropped.

The algorithm draws from its own seeded generator, so the same seed, space,
objectives, budget and population give the same sequence of evaluations, and a
rerun in the same store replays it from the stored points.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurocore.dse.metrics import objective
from neurocore.dse.space import Space
from neurocore.dse.store import canonical_json
from neurocore.dse.study import Runner, Settings, Study
from neurocore.errors import StudyError

__all__ = ["search"]


def _pymoo():
    try:
        from pymoo.algorithms.moo.nsga2 import binary_tournament
        from pymoo.core.evaluator import Evaluator
        from pymoo.core.mixed import MixedVariableDuplicateElimination, MixedVariableGA, MixedVariableMating
        from pymoo.core.problem import Problem
        from pymoo.core.variable import Choice, Integer
        from pymoo.operators.selection.tournament import TournamentSelection
        from pymoo.operators.survival.rank_and_crowding import RankAndCrowding
        from pymoo.problems.static import StaticProblem
        from pymoo.util.display.multi import MultiObjectiveOutput
    except ImportError as exc:
        raise ImportError(f"nc.dse.search needs pymoo: pip install \"neurocore[dse]\" ({exc})") from exc
    return locals()


def _ordered(values: tuple) -> bool:
    nums = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return nums and list(values) == sorted(values)


def _variables(space: Space, pm: dict) -> tuple[dict, dict]:
    """pymoo variables (index into each dimension's values) and the fixed one-value dimensions."""
    variables, fixed = {}, {}
    for name, values in space.dimensions.items():
        if len(values) == 1:
            fixed[name] = values[0]
        elif _ordered(values):
            variables[name] = pm["Integer"](bounds=(0, len(values) - 1))
        else:
            variables[name] = pm["Choice"](options=list(range(len(values))))
    if not variables:
        raise StudyError("the space has one point only; search needs at least one dimension with two values")
    return variables, fixed


def _config(space: Space, fixed: dict, x: dict) -> dict:
    dims = space.dimensions
    return {name: fixed[name] if name in fixed else dims[name][int(x[name])] for name in dims}


def _objectives(rows: dict, keys: list[str], objs: list[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """F (minimised) and G (> 0: infeasible) for each evaluated key."""
    F = np.zeros((len(keys), len(objs)))
    G = np.ones((len(keys), 1))
    for i, k in enumerate(keys):
        r = rows.get(k)
        if r is None:  # lost with a dead worker: infeasible this generation, not stored
            continue
        vals = [(r["metrics"] or {}).get(n, math.nan) for n, _ in objs]
        if r["status"] == "ok" and all(math.isfinite(v) for v in vals):
            F[i] = [-v if d == "max" else v for v, (_, d) in zip(vals, objs)]
            G[i] = -1.0
    return F, G


def _algorithm(pm: dict, pop_size: int):
    dedupe = pm["MixedVariableDuplicateElimination"]()
    mating = pm["MixedVariableMating"](selection=pm["TournamentSelection"](func_comp=pm["binary_tournament"]),
                                       eliminate_duplicates=dedupe)
    algorithm = pm["MixedVariableGA"](pop_size=pop_size, mating=mating, eliminate_duplicates=dedupe,
                                      survival=pm["RankAndCrowding"](), output=pm["MultiObjectiveOutput"](),
                                      advance_after_initial_infill=True)  # rank the first population, as NSGA2 does
    algorithm.tournament_type = "comp_by_dom_and_crowding"  # NSGA-II's binary tournament
    return algorithm


def search(model: Any, space: Space, objectives: Sequence[str], *, data: Any, store: str | Path, budget: int = 500,
           seed: int = 0, pop_size: int | None = None, energy: Any = "loihi", baseline: Any = "gpu-h100",
           replicates: int = 3, scheduler: Any = "local", workers: int | None = None, n_threads: int | None = None,
           shard_size: int = 1024, progress: bool = True, callback: Callable[[dict], None] | None = None) -> Study:
    """Multi-objective evolutionary search (NSGA-II) over ``space``.

    Parameters
    ----------
    model, space, data, store, energy, baseline, replicates, scheduler, workers, n_threads, shard_size, progress, callback
        As for :func:`~neurocore.dse.sweep`.
    objectives : list of str
        Metric names (directions from :data:`~neurocore.dse.METRICS`; ``"-accuracy"``
        spells out "maximise").
    budget : int
        Evaluations the algorithm makes (points it asks for, stored ones included).
    seed : int
        Seeds the algorithm, the placement and the encodings.
    pop_size : int, optional
        Population per generation (default ``max(4, min(50, budget // 10))``).

    Returns
    -------
    Study
        Its ``keys`` are the distinct points evaluated, ``history`` the ``(generation, key)``
        of every evaluation in order.

    Raises
    ------
    StudyError
        Unknown objective, bad budget, a one-point space.
    """
    pm = _pymoo()
    objs = [objective(o) for o in objectives]
    if not objs:
        raise StudyError("search needs at least one objective, e.g. ['-accuracy', 'energy_per_inference_J']")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise StudyError(f"budget must be a positive int (evaluations), got {budget!r}")
    pop_size = pop_size or max(4, min(50, budget // 10))
    if not isinstance(pop_size, int) or pop_size < 2:
        raise StudyError(f"pop_size must be an int >= 2, got {pop_size!r}")
    variables, fixed = _variables(space, pm)

    class _Problem(pm["Problem"]):
        def __init__(self) -> None:
            super().__init__(vars=variables, n_obj=len(objs), n_ieq_constr=1)

    problem = _Problem()
    algorithm = _algorithm(pm, pop_size)
    algorithm.setup(problem, termination=("n_gen", 10**9), seed=seed, verbose=False)
    settings = Settings(energy, baseline, seed, replicates, shard_size)
    run_id = hashlib.sha256(canonical_json({"space": space.to_dict(), "objectives": objs, "budget": budget,
                                            "seed": seed, "pop_size": pop_size}).encode()).hexdigest()[:16]
    with Runner(model, space, data, store, settings, scheduler, workers, n_threads, progress, callback) as run:
        n, gen = 0, 0
        while n < budget:
            pop = algorithm.ask()
            if pop is None or len(pop) == 0:
                break  # the operators found no new point: the space is exhausted around the front
            pop = pop[: budget - n]
            keys = run.evaluate([_config(space, fixed, ind.X) for ind in pop], desc=f"search gen {gen}")
            F, G = _objectives({r["key"]: r for r in run.store.rows(keys)}, keys, objs)
            pm["Evaluator"]().eval(pm["StaticProblem"](problem, F=F, G=G), pop)
            algorithm.tell(infills=pop)
            run.store.log_evaluations(run_id, n, gen, keys)
            n, gen = n + len(pop), gen + 1
        history = run.store.evaluations(run_id)
        return Study(store, [k for _, k in history], space, run.n_evaluated, run.n_skipped, run.lost, history=history)
