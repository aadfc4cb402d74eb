"""Run a long batch in chunks, with an optional progress bar (tqdm): the CLI's and the demo's runner.

Samples of a batch are independent runs of the same Program, so running ``x`` in
chunks and concatenating the results (:func:`neurocore.sim.concat_results`) gives
exactly what one call gives; chunking only bounds memory and lets a bar advance.
"""
from __future__ import annotations

import sys

__all__ = ["run_batched"]


def _sample_bar(total: int, desc: str):
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is optional: no bar, no failure
        return None
    return tqdm(total=total, desc=desc, unit="sample", file=sys.stderr, leave=False)


def run_batched(sim, x, n_steps: int, desc: str = "simulating", chunk: int | None = None, **kw):
    """Run ``x`` through ``sim`` in chunks of ``chunk`` samples with a progress bar.

    Parameters
    ----------
    sim : neurocore.Simulator
        The simulator to run.
    x : array, shape (batch, ...)
        Inputs, as :meth:`neurocore.Simulator.run` takes them.
    n_steps : int
        Algorithmic timesteps per sample.
    desc : str
        The bar's label.
    chunk : int, optional
        Samples per call; default about a tenth of the batch, at most 256. A bar is shown
        only when there is more than one chunk.
    **kw
        Passed to :meth:`neurocore.Simulator.run`.

    Returns
    -------
    RunResult
        Equal to ``sim.run(x, n_steps, **kw)``.
    """
    from neurocore.sim import concat_results

    n = len(x)
    chunk = chunk or max(1, min(256, -(-n // 10)))
    bar = _sample_bar(n, desc) if n > chunk else None
    parts = []
    try:
        for i in range(0, n, chunk):
            parts.append(sim.run(x[i:i + chunk], n_steps, **kw))
            if bar is not None:
                bar.update(min(chunk, n - i))
    finally:  # closed on failure too, so an error message starts on its own line
        if bar is not None:
            bar.close()
    return concat_results(parts)
