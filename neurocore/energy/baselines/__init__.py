"""Dense baselines: what the same network costs on conventional hardware.

One module per model, each taking a :class:`DenseWorkload` at a batch size and
returning a :class:`BaselineResult`:

- :mod:`.accelerator` (``memory_hierarchy``): a dense accelerator priced per MAC
  and per memory access at the level that holds the data (``dense-45nm``);
- :mod:`.gpu` (``gpu``): kernel by kernel, with launch overhead, a minimum kernel
  time, HBM traffic and idle / active board power (``gpu-h100``); ``roofline``:
  the pure roofline at board power (``gpu-h100-roofline``);
- :mod:`.measured` (``measured``): timings and power attribution read from a
  profile that ``bench/measure_dense.py`` wrote.

:func:`evaluate` runs a profile in both regimes: ``batch1`` (streaming, one
sample per forward pass) and ``throughput`` (the run's batch).
"""
from __future__ import annotations

from collections.abc import Callable

from neurocore.energy.baselines.accelerator import memory_hierarchy
from neurocore.energy.baselines.gpu import gpu_kernels, roofline
from neurocore.energy.baselines.measured import measured as _measured
from neurocore.energy.baselines.measured import network_signature
from neurocore.energy.baselines.workload import (REGIMES, BaselineResult, DenseWorkload, LayerWork,
                                                 dense_workload)
from neurocore.energy.profiles import Profile, load_profile
from neurocore.errors import ProfileError

__all__ = ["MODELS", "REGIMES", "BaselineResult", "DenseWorkload", "LayerWork", "dense_workload", "evaluate",
           "network_signature"]

#: Dense model name (a profile's ``model``) -> function(profile, workload, batch, regime).
MODELS: dict[str, Callable[[Profile, DenseWorkload, int, str], BaselineResult]] = {
    "memory_hierarchy": memory_hierarchy,
    "roofline": roofline,
    "gpu": gpu_kernels,
    "measured": _measured,
}


def evaluate(profile, layer_stats, timesteps: float, batch: int,
             precision: str | None = None) -> dict[str, BaselineResult]:
    """A baseline profile in both regimes.

    Parameters
    ----------
    profile : str, path, dict or Profile
        A dense profile (``kind = "dense"``).
    layer_stats : sequence of LayerStats or dict
        ``Program.layers`` of the network (or their dict form, ``Program.layer_stats``).
    timesteps : float
        Mean timesteps per inference (recurrent layers run once per step).
    batch : int
        The run's batch size (the throughput regime).
    precision : str, optional
        Default: the profile's.

    Returns
    -------
    dict
        ``{"batch1": BaselineResult, "throughput": BaselineResult}``.

    Raises
    ------
    ProfileError
        Not a dense profile, unknown model, missing entry, or a measured profile
        that does not match the network or batch.
    """
    prof = load_profile(profile)
    if prof.kind != "dense":
        raise ProfileError(f"profile '{prof.name}' is a {prof.kind} profile; pass it as chip=, not baseline=")
    if prof.model not in MODELS:
        raise ProfileError(f"profile '{prof.name}': dense model {prof.model!r} is not one of {list(MODELS)}")
    if batch < 1:
        raise ProfileError(f"batch size must be >= 1, got {batch}")
    work = dense_workload(layer_stats, timesteps, precision or prof.precision)
    model = MODELS[prof.model]
    return {regime: model(prof, work, b, regime) for regime, b in zip(REGIMES, (1, int(batch)))}
