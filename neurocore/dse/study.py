"""sweep(model, space, data, store=...) -> Study: every point of a Space, resumable.

The client builds each point's key, skips those already in the store, and sends the
rest to the executor as tasks: one ``build`` per (chip, conversion, compile) shared by
all its timestep counts, one ``run_shard`` per test-set shard (and replicate seed, for
stochastic encodings), one ``finish`` that merges the shards and measures (a point of
one shard and one replicate runs both in one ``run_point`` task). Each
finished point is committed to the store the moment it comes back; at most a window
of points (four per worker thread) is in flight at a time.
"""
from __future__ import annotations

import dataclasses
import hashlib
import platform
import sys
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurocore.dse import tasks
from neurocore.dse.executor import make_executor, lost_errors
from neurocore.dse.metrics import METRICS
from neurocore.dse.space import STOCHASTIC_ENCODINGS, Build, Space
from neurocore.dse.store import Store, canonical_json, fingerprint_data, fingerprint_model
from neurocore.errors import StudyError

__all__ = ["Study", "sweep", "Runner"]


def _versions() -> dict[str, str]:
    import scipy

    import neurocore

    return {"neurocore": neurocore.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "python": platform.python_version()}


def _profile_id(p: Any) -> Any:
    """What of an energy profile argument goes into a point's key."""
    if isinstance(p, Path):
        return str(p)
    if p is None or isinstance(p, (str, Mapping)):
        return p
    if dataclasses.is_dataclass(p):
        return dataclasses.asdict(p)
    raise StudyError(f"energy/baseline must be a profile name, a dict or a Profile, got {type(p).__name__}")


def _check_data(data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(data, (tuple, list)) or len(data) != 3:
        raise StudyError("data must be a tuple (X_cal, X_test, y_test): calibration inputs for conversion, test "
                         "inputs and their labels")
    x_cal, x_test, y_test = (np.asarray(a) for a in data)
    if x_test.ndim < 1 or y_test.ndim < 1 or len(x_test) != len(y_test) or len(x_test) == 0:
        raise StudyError(f"data: X_test has {len(x_test) if x_test.ndim else 0} samples and y_test "
                         f"{len(y_test) if y_test.ndim else 0} labels; give one label per test sample (at least one)")
    return x_cal, x_test, y_test


@dataclasses.dataclass(frozen=True)
class Settings:
    """How points are evaluated (beyond their config); part of every point's key."""

    energy: Any
    baseline: Any
    seed: int
    replicates: int
    shard_size: int

    def __post_init__(self) -> None:
        for k in ("seed", "replicates", "shard_size"):
            v = getattr(self, k)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < (0 if k == "seed" else 1):
                raise StudyError(f"{k} must be an int {'>= 0' if k == 'seed' else '>= 1'}, got {v!r}")


class Runner:
    """Evaluates points of one (model, data, space, settings) on one executor, into one store."""

    def __init__(self, model: Any, space: Space, data: Any, store: str | Path, settings: Settings,
                 scheduler: Any = "local", workers: int | None = None, n_threads: int | None = None,
                 progress: bool = True, callback: Callable[[dict], None] | None = None) -> None:
        if not isinstance(space, Space):
            raise StudyError(f"space must be a neurocore.dse.Space, got {type(space).__name__}")
        self.model, self.space, self.settings = model, space, settings
        self.x_cal, self.x_test, self.y_test = _check_data(data)
        self.fingerprint = {"model": fingerprint_model(model, self.x_cal[:2]),
                            "data": fingerprint_data(self.x_cal, self.x_test, self.y_test)}
        self.store = Store(store, self.fingerprint)
        self.store_path = Path(store)
        self.progress, self.callback = progress, callback
        try:
            self.executor = make_executor(scheduler, workers)
        except BaseException:
            self.store.close()
            raise
        self.n_threads = n_threads if n_threads is not None else (1 if self.executor.name == "dask" else None)
        self._handles: dict[str, Any] = {}
        self.versions = _versions()
        self.n_evaluated = self.n_skipped = 0
        self.lost: list[str] = []

    def close(self) -> None:
        self.executor.close()
        self.store.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- keys ----------------------------------------------------------------------------
    def build_of(self, config: Mapping[str, Any]) -> Build:
        b = self.space.build_of(config)
        return Build(chip=b.chip, convert=b.convert, compile={"seed": self.settings.seed, **b.compile})

    def stochastic(self, b: Build) -> bool:
        return b.convert.get("encoding", "direct") in STOCHASTIC_ENCODINGS

    def settings_of(self, b: Build) -> dict[str, Any]:
        s = {"energy": _profile_id(self.settings.energy), "baseline": _profile_id(self.settings.baseline),
             "seed": self.settings.seed, "neurocore": self.versions["neurocore"]}
        if self.stochastic(b):
            s.update(replicates=self.settings.replicates, shard_size=self.settings.shard_size)
        return s

    def key_of(self, config: Mapping[str, Any]) -> str:
        """The point's key: a hash of its build, n_steps, settings, model and data."""
        b = self.build_of(config)
        payload = {"build": dataclasses.asdict(b), "n_steps": config["n_steps"], "settings": self.settings_of(b),
                   **self.fingerprint}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

    # ---- shipping the data once ------------------------------------------------------------
    def _handle(self, name: str) -> Any:
        if name not in self._handles:
            ex, x, size = self.executor, self.x_test, self.settings.shard_size
            objs = {"model": lambda: self.model, "x_cal": lambda: self.x_cal, "labels": lambda: self.y_test,
                    "whole": lambda: [(0, x)],
                    "blocks": lambda: [(i, x[i:i + size]) for i in range(0, len(x), size)]}
            made = objs[name]()
            self._handles[name] = ([(i, ex.put(a)) for i, a in made] if name in ("whole", "blocks")
                                   else ex.put(made))
        return self._handles[name]

    def _shards(self, stochastic: bool) -> list:
        whole = self.executor.name == "in-process" and not stochastic
        return self._handle("whole" if whole else "blocks")

    def _submit(self, config: Mapping[str, Any], build_fut: Any) -> Any:
        ex, b = self.executor, self.build_of(config)
        stochastic, seed = self.stochastic(b), self.settings.seed
        shards, n_reps = self._shards(stochastic), self.settings.replicates if stochastic else 1
        if len(shards) == 1 and n_reps == 1:
            return ex.submit(tasks.run_point, build_fut, shards[0][1], config["n_steps"], seed, self.n_threads,
                             self._handle("labels"), self.settings.energy, self.settings.baseline)
        reps = []
        for r in range(n_reps):
            reps.append([ex.submit(tasks.run_shard, build_fut, shard, config["n_steps"],
                                   tasks.shard_seed(seed, r, start) if stochastic else seed, self.n_threads)
                         for start, shard in shards])
        return ex.submit(tasks.finish, reps, self._handle("labels"), self.settings.energy, self.settings.baseline)

    # ---- the loop ------------------------------------------------------------------------
    def evaluate(self, configs: Iterable[Mapping[str, Any]], desc: str = "sweep") -> list[str]:
        """Evaluate every config not yet in the store; returns each config's key, in order."""
        configs = [self.space.check(c) for c in configs]
        keys = [self.key_of(c) for c in configs]
        done = self.store.keys()
        todo = list({k: c for k, c in zip(keys, configs) if k not in done}.items())
        n_unique = len(set(keys))
        self.n_skipped += n_unique - len(todo)
        bar = _bar(n_unique, n_unique - len(todo), desc) if self.progress else None
        try:
            self._run(todo, bar)
        finally:
            if bar is not None:
                bar.close()
        return keys

    def _run(self, todo: list[tuple[str, dict]], bar) -> None:
        ex = self.executor
        users: dict[tuple, int] = {}
        for _, c in todo:
            users[self.build_of(c).key()] = users.get(self.build_of(c).key(), 0) + 1
        builds: dict[tuple, Any] = {}
        pending, in_flight, window = iter(todo), {}, 4 * ex.n_slots
        completion = ex.completion()

        def submit_next() -> None:
            item = next(pending, None)
            if item is None:
                return
            key, config = item
            b = self.build_of(config)
            if b.key() not in builds:
                builds[b.key()] = ex.submit(tasks.build, self._handle("model"), self._handle("x_cal"), b)
            fut = self._submit(config, builds[b.key()])
            in_flight[fut] = (key, config, b.key())
            completion.add(fut)

        for _ in range(window):
            submit_next()
        for fut in completion:
            key, config, bkey = in_flight.pop(fut)
            self._collect(fut, key, config)
            ex.release(fut)
            users[bkey] -= 1
            if users[bkey] == 0:
                ex.release(builds.pop(bkey))
            if bar is not None:
                bar.update(1)
            submit_next()

    def _collect(self, fut, key: str, config: dict) -> None:
        try:
            out: tasks.Outcome = self.executor.result(fut)
        except lost_errors() as exc:
            self.lost.append(key)
            warnings.warn(f"point {config} was lost ({type(exc).__name__}: {exc}); it is not stored: rerun the "
                          "study to evaluate it", RuntimeWarning, stacklevel=4)
            return
        b = self.build_of(config)
        row = {"key": key, "config": config, "build": dataclasses.asdict(b), "settings": self.settings_of(b),
               "status": "error" if out.failure else "ok", "metrics": out.metrics or None, "sd": out.sd or None,
               "reports": out.reports or None, "error": str(out.failure) if out.failure else None,
               "seed": self.settings.seed, "versions": self.versions, "task_s": out.task_s}
        self.store.put(row)
        self.n_evaluated += 1
        if self.callback is not None:
            self.callback(row)


def _bar(total: int, initial: int, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: no bar
        return None
    return tqdm(total=total, initial=initial, desc=desc, unit="point", file=sys.stderr, leave=False)


class Study:
    """The points of one sweep or search, read back from its store.

    Attributes
    ----------
    store : Path
    keys : list[str]
        This study's points, in evaluation order (a store may hold more).
    space : Space or None
    n_evaluated, n_skipped : int
        Points computed by the call that made this Study, and points it found stored.
    lost : list[str]
        Keys of points lost to a dead worker or cluster (not stored; rerun to evaluate them).
    """

    def __init__(self, store: str | Path, keys: list[str] | None = None, space: Space | None = None,
                 n_evaluated: int = 0, n_skipped: int = 0, lost: list[str] | None = None,
                 history: list[tuple[int, str]] | None = None) -> None:
        self.store = Path(store)
        self.keys = list(dict.fromkeys(keys)) if keys is not None else None
        self.space, self.n_evaluated, self.n_skipped = space, n_evaluated, n_skipped
        self.lost = list(lost or [])
        self.history = history

    @classmethod
    def open(cls, store: str | Path) -> Study:
        """Every point of an existing store."""
        with Store(store) as s:
            keys = [r["key"] for r in s.rows()]
        return cls(store, keys)

    @property
    def complete(self) -> bool:
        """True when no point of this study was lost."""
        return not self.lost

    def rows(self, reports: bool = False) -> list[dict[str, Any]]:
        """The stored rows (config, metrics, sd, error, ...), in this study's order."""
        with Store(self.store) as s:
            return s.rows(self.keys, reports=reports)

    def __len__(self) -> int:
        return len(self.rows())

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per point: config columns, ``status``, every metric, ``<metric>_sd``, ``error``."""
        rows = self.rows()
        dims = list(self.space.dimensions) if self.space is not None else list(
            dict.fromkeys(k for r in rows for k in r["config"]))
        sds = list(dict.fromkeys(k for r in rows for k in (r["sd"] or {})))
        out = []
        for r in rows:
            rec = {d: r["config"].get(d) for d in dims}
            rec["status"] = r["status"]
            rec.update({m: (r["metrics"] or {}).get(m, float("nan")) for m in METRICS})
            rec.update({f"{m}_sd": (r["sd"] or {}).get(m, float("nan")) for m in sds})
            rec.update(error=r["error"], seed=r["seed"], task_s=r["task_s"], key=r["key"])
            out.append(rec)
        return out

    def table(self):
        """A pandas DataFrame, one row per point (see :meth:`records`)."""
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError("Study.table() needs pandas: pip install \"neurocore[dse]\" (Study.records() gives "
                              f"the same rows as dicts) ({exc})") from exc
        return pd.DataFrame.from_records(self.records())

    def failed(self) -> list[dict[str, Any]]:
        """Records of the points whose config failed (with their ``error``)."""
        return [r for r in self.records() if r["status"] == "error"]

    def pareto(self, objectives: Iterable[str]):
        """The Pareto front of the finished points over ``objectives`` (directions from the metric registry)."""
        from neurocore.dse.pareto import ParetoFront

        return ParetoFront(self.records(), list(objectives), dims=list(self.space.dimensions) if self.space else None)

    def to_csv(self, path: str | Path) -> Path:
        """Every point as CSV (written to a temporary file, then renamed: a failed write keeps the old file)."""
        from neurocore.dse.pareto import write_csv

        return write_csv(self.records(), path)

    def __repr__(self) -> str:
        return (f"Study('{self.store}', {len(self.keys or [])} points, {self.n_evaluated} evaluated now, "
                f"{self.n_skipped} found stored{', ' + str(len(self.lost)) + ' lost' if self.lost else ''})")


def sweep(model: Any, space: Space, data: Any, *, store: str | Path, energy: Any = "loihi",
          baseline: Any = "gpu-h100", seed: int = 0, replicates: int = 3, scheduler: Any = "local",
          workers: int | None = None, n_threads: int | None = None, shard_size: int = 1024, progress: bool = True,
          callback: Callable[[dict], None] | None = None) -> Study:
    """Evaluate every point of ``space``; resumable through ``store``.

    Parameters
    ----------
    model
        A trained ANN that :func:`neurocore.convert` reads (scikit-learn, PyTorch, ONNX, layer list).
    space : Space
    data : (X_cal, X_test, y_test)
        Calibration inputs (threshold balancing), test inputs and labels.
    store : str or Path
        SQLite file; points already in it are skipped, each new one is committed as it finishes.
    energy, baseline : str, dict or Profile
        Chip energy profile and dense baseline for :func:`neurocore.energy.estimate`.
    seed : int
        Placement seed (``compile``) and encoding seed; part of each key.
    replicates : int
        Seeds run for each point of a stochastic encoding (``poisson``): metrics are their
        mean, ``<metric>_sd`` their standard deviation.
    scheduler : "local", "in-process", address or distributed.Client
        ``"local"``: an embedded Dask LocalCluster (``workers`` processes of one thread) when
        dask is installed, else in-process.
    workers : int, optional
        LocalCluster size (default: CPU count).
    n_threads : int, optional
        Kernel threads per task (default 1 on Dask, all CPUs in-process).
    shard_size : int
        Test samples per task on Dask, and per encoding seed block for stochastic encodings.
    progress : bool
        A tqdm bar on stderr (when tqdm is installed).
    callback : callable, optional
        Called with each stored row, right after its commit.

    Returns
    -------
    Study

    Raises
    ------
    StoreMismatchError
        ``store`` holds points of another model or data set.
    StudyError
        Bad space, data or settings.
    """
    settings = Settings(energy, baseline, seed, replicates, shard_size)
    with Runner(model, space, data, store, settings, scheduler, workers, n_threads, progress, callback) as run:
        keys = run.evaluate(space.points(), desc="sweep")
        return Study(store, keys, space, run.n_evaluated, run.n_skipped, run.lost)
