"""Where a study's tasks run: in this process, or on a ``dask.distributed`` cluster.

Both executors offer the same four calls: ``put`` (ship an object once), ``submit``
(a task whose arguments may be earlier tasks), ``completion`` (an iterator of finished
tasks that accepts new ones while it runs) and ``result``. The in-process executor
runs a task when its result is first asked for, in submission order; the Dask one hands
tasks to the scheduler and yields them as they finish.
"""
from __future__ import annotations

import logging
from collections import deque
from typing import Any

from neurocore.errors import StudyError

__all__ = ["InProcessExecutor", "DaskExecutor", "make_executor", "have_dask", "lost_errors"]


def have_dask() -> bool:
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _check_not_bootstrapping() -> None:
    """Refuse to start a cluster from a worker process that is importing the user's script."""
    import multiprocessing
    import sys

    main = sys.modules.get("__main__")
    if multiprocessing.parent_process() is not None and getattr(main, "__name__", "") == "__mp_main__":
        raise StudyError("a study was started while a worker process imported the main script: put the study "
                         "under `if __name__ == \"__main__\":` (Dask worker processes re-import the script)")


class _Lazy:
    """A task of the in-process executor: run once, when first needed; its error is kept and re-raised."""

    __slots__ = ("fn", "args", "_done", "_value", "_error")

    def __init__(self, fn, args) -> None:
        self.fn, self.args, self._done, self._value, self._error = fn, args, False, None, None

    def result(self) -> Any:
        if not self._done:
            try:
                self._value = self.fn(*(_resolve(a) for a in self.args))
            except Exception as exc:  # kept so that every dependent sees the same error
                self._error = exc
            self._done, self.fn, self.args = True, None, None
        if self._error is not None:
            raise self._error
        return self._value


def _resolve(a: Any) -> Any:
    if isinstance(a, _Lazy):
        return a.result()
    if isinstance(a, list):
        return [_resolve(x) for x in a]
    return a


class _InOrder:
    def __init__(self) -> None:
        self._queue: deque = deque()

    def add(self, fut) -> None:
        self._queue.append(fut)

    def __iter__(self):
        while self._queue:
            yield self._queue.popleft()


class InProcessExecutor:
    """Runs every task here, one at a time (the kernel still uses ``n_threads`` threads)."""

    name = "in-process"
    n_slots = 1

    def put(self, obj: Any) -> Any:
        return obj

    def submit(self, fn, *args, key: str | None = None) -> _Lazy:
        return _Lazy(fn, args)

    def completion(self) -> _InOrder:
        return _InOrder()

    def result(self, fut: _Lazy) -> Any:
        return fut.result()

    def release(self, fut) -> None:
        pass

    def close(self) -> None:
        pass


def _identity(obj: Any) -> Any:
    return obj


class DaskExecutor:
    """Sends tasks to a ``dask.distributed`` scheduler.

    Parameters
    ----------
    scheduler : None, str or distributed.Client
        None: start an embedded ``LocalCluster`` of ``workers`` processes with one thread
        each (closed again by :meth:`close`); a scheduler address (``"tcp://host:8786"``);
        or a Client you made (left open).
    workers : int, optional
        Worker processes of the embedded cluster (default: the CPU count).
    """

    name = "dask"

    def __init__(self, scheduler: Any = None, workers: int | None = None) -> None:
        try:
            import distributed
        except ImportError as exc:
            raise ImportError("running a study on Dask needs dask.distributed: pip install \"neurocore[dse]\" "
                              f"({exc})") from exc
        self._distributed = distributed
        self._own: list = []
        if isinstance(scheduler, distributed.Client):
            self.client = scheduler
        elif scheduler is None:
            import os

            n = workers or os.cpu_count() or 1
            _check_not_bootstrapping()
            try:
                cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                                   dashboard_address=None, silence_logs=logging.ERROR)
            except RuntimeError as exc:
                raise StudyError(f"the local Dask cluster did not start ({exc}). Worker processes re-import the "
                                 "main script: start the study under `if __name__ == \"__main__\":`, or pass "
                                 "scheduler=\"in-process\"") from exc
            self.client = distributed.Client(cluster)
            self._own = [self.client, cluster]
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as exc:
                raise StudyError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}; start one with "
                                 "`dask scheduler` (and `dask worker ADDRESS` on each machine)") from None
            self._own = [self.client]
        else:
            raise StudyError(f"scheduler must be None (a local cluster), an address such as 'tcp://host:8786' or a "
                             f"distributed.Client, got {scheduler!r}")

    @property
    def n_slots(self) -> int:
        """Worker threads of the cluster now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def put(self, obj: Any) -> Any:
        # a task that returns the object, not client.scatter: scattered data has no lineage, so a
        # killed worker would lose it for good; a task's result is recomputed from its spec
        return self.client.submit(_identity, obj, pure=False)

    def submit(self, fn, *args, key: str | None = None):
        return self.client.submit(fn, *args, key=key, pure=False)

    def completion(self):
        return self._distributed.as_completed()

    def result(self, fut) -> Any:
        return fut.result()

    def release(self, fut) -> None:
        fut.release()

    def close(self) -> None:
        for obj in self._own:
            obj.close()
        self._own = []


def lost_errors() -> tuple[type, ...]:
    """Errors that mean 'the task was lost' (a worker died, the cluster went away), not 'the config failed'."""
    errs: list[type] = []
    try:
        from distributed import KilledWorker

        errs.append(KilledWorker)
    except ImportError:
        pass
    from concurrent.futures import CancelledError

    errs += [CancelledError, OSError, TimeoutError]
    return tuple(errs)



def make_executor(scheduler: Any = "local", workers: int | None = None):
    """The executor a study runs on.

    ``"local"`` (default): an embedded Dask ``LocalCluster`` when dask.distributed is
    installed, else in-process. ``"in-process"``: always here. An address or a Client: that
    Dask cluster.
    """
    if scheduler == "in-process" or (scheduler == "local" and not have_dask()):
        return InProcessExecutor()
    if scheduler == "local":
        return DaskExecutor(None, workers)
    return DaskExecutor(scheduler, workers)
