"""RunResult.validate() and ``neurocore check FILE``: a result's arrays against its Program.

:func:`validate_result` checks that every array of a :class:`~neurocore.sim.RunResult`
has the dtype kind and shape its Program and step count imply, that counts are
non-negative and consistent (``1 <= timesteps <= n_steps``, ``synops`` = binary + graded,
active + idle updates = steps x neurons, spikes = the sum of the spike counts, no
neuron spiking more often than once per step), and validates the embedded Program.
:func:`check_file` loads any neurocore file by its header's kind (which validates it).
Failures raise :class:`~neurocore.errors.FileFormatError` naming the field.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from neurocore.errors import FileFormatError

__all__ = ["validate_result", "check_file", "file_kind"]


def _arr(where: str, name: str, a, shape: tuple, kinds: str = "iu", signed: bool = False) -> np.ndarray:
    """``a`` as an array of dtype kind in ``kinds`` and ``shape``, >= 0 unless ``signed`` (state, not counts)."""
    if not isinstance(a, np.ndarray):
        raise FileFormatError(f"{where}: result field '{name}' must be a NumPy array, got {type(a).__name__}")
    if a.dtype.kind not in kinds:
        raise FileFormatError(f"{where}: result field '{name}' has dtype {a.dtype}; "
                              f"{'an integer' if kinds == 'iu' else 'a numeric'} array is expected")
    if a.shape != shape:
        raise FileFormatError(f"{where}: result field '{name}' has shape {a.shape}; {shape} is expected")
    if not signed and a.dtype.kind in "iu" and a.size and int(a.min()) < 0:
        raise FileFormatError(f"{where}: result field '{name}' holds {int(a.min())}; counts are >= 0")
    return a


def validate_result(result, where: str = "result") -> None:
    """Check ``result`` (see the module docstring); raises FileFormatError naming the field."""
    need = getattr(result, "require_counters", None)
    if need is not None:  # a float-twin result has no chip counters to check
        need(f"validating {where}")
    p = result.program
    p.validate(where)
    T = result.n_steps
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise FileFormatError(f"{where}: result field 'n_steps' = {T!r}; a positive int is expected")
    B = int(np.shape(result.busiest_link)[0]) if np.ndim(result.busiest_link) else 0
    if B < 1:
        raise FileFormatError(f"{where}: result field 'busiest_link' must be (batch, n_steps) with batch >= 1")
    cnt = _check_counters(result, where, B)
    _check_arrays(result, where, B, T)
    _check_spikes(result, where, B, T)
    _check_rules(result, where, cnt, T)
    if result.predictions is not None:
        pr = np.asarray(result.predictions)
        if pr.ndim < 1 or pr.shape[0] != B or pr.dtype.kind not in "biuf":
            raise FileFormatError(f"{where}: result field 'predictions' has shape {pr.shape} dtype {pr.dtype}; "
                                  f"one number per sample ({B}) expected")


def _counter_names(result) -> tuple[str, ...]:
    """The counters ``result`` must hold: the kernel's, plus learning and codec counters where they apply."""
    from neurocore.sim import load_kernel

    p = result.program
    names = tuple(load_kernel().COUNTER_NAMES)
    if "learning_updates" in result.counters:
        from neurocore.learning_sim import LEARNING_COUNTERS, has_plasticity

        if has_plasticity(p):
            names += LEARNING_COUNTERS
    if "inputs_saturated" in result.counters and p.codec is not None:
        names += ("inputs_saturated",)           # a converted program's codec counts saturated inputs
    if "stop_checks" in result.counters:         # a run with an early-stop rule (neurocore.anytime)
        names += ("stop_checks", "stop_counter_reads")
    return names


def _check_counters(result, where: str, B: int) -> dict[str, np.ndarray]:
    names = _counter_names(result)
    if set(result.counters) != set(names):
        missing, extra = sorted(set(names) - set(result.counters)), sorted(set(result.counters) - set(names))
        raise FileFormatError(f"{where}: result field 'counters' lacks {missing} / has unknown {extra}")
    return {k: _arr(where, f"counters/{k}", v, (B,)).astype(np.int64) for k, v in result.counters.items()}


def _check_arrays(result, where: str, B: int, T: int) -> None:
    """busiest_link, link_packets, core_steps and final_state: shapes, dtypes, signs."""
    from neurocore.sim import CORE_STEP_KEYS

    p = result.program
    K = p.n_cores_used
    _arr(where, "busiest_link", result.busiest_link, (B, T))
    _arr(where, "link_packets", result.link_packets, (p.chip.mesh_x * p.chip.mesh_y * 4,))
    if result.core_steps and set(result.core_steps) != set(CORE_STEP_KEYS):
        raise FileFormatError(f"{where}: result field 'core_steps' has keys {sorted(result.core_steps)}; "
                              f"{sorted(CORE_STEP_KEYS)} or none expected (re-run to get a result in this version)")
    for k in CORE_STEP_KEYS if result.core_steps else ():
        _arr(where, f"core_steps/{k}", result.core_steps.get(k), (B, T, K))
    if set(result.core_totals) != set(CORE_STEP_KEYS):
        raise FileFormatError(f"{where}: result field 'core_totals' has keys {sorted(result.core_totals)}; "
                              f"{sorted(CORE_STEP_KEYS)} expected (re-run to get a result in this version)")
    for k in CORE_STEP_KEYS:
        _arr(where, f"core_totals/{k}", result.core_totals.get(k), (B, K))
    for k, v in result.chip_time.items():
        a = np.asarray(v)
        if a.shape != (B, 2) or a.dtype.kind != "f" or not np.all(np.isfinite(a)) or (a.size and a.min() < 0):
            raise FileFormatError(f"{where}: result field 'chip_time' entry {k[:40]!r} must be (batch, 2) finite "
                                  f"non-negative seconds, got {a.dtype} {a.shape}")
    for k in ("u", "v"):
        _arr(where, f"final_state/{k}", result.final_state.get(k), (B, p.n_neurons), signed=True)


def _check_spikes(result, where: str, B: int, T: int) -> None:
    """spike_counts (at most one spike per step) and probes (u, v signed state; spikes 0/1)."""
    from neurocore.sim import PROBE_VARIABLES

    p = result.program
    for pop, sc in result.spike_counts.items():
        if pop not in p.populations:
            raise FileFormatError(f"{where}: result field 'spike_counts' names unknown population {pop!r}")
        a = _arr(where, f"spike_counts/{pop}", sc, (B, p.populations[pop].n))
        if a.size and int(a.max()) > T:
            raise FileFormatError(f"{where}: result field 'spike_counts/{pop}' holds {int(a.max())} spikes in "
                                  f"{T} steps; a neuron spikes at most once per step")
    for pop, d in result.probes.items():
        if pop not in p.populations or not isinstance(d, dict) or not set(d) <= set(PROBE_VARIABLES):
            raise FileFormatError(f"{where}: result field 'probes' has an entry {pop!r} -> {list(d)!r}; "
                                  f"populations and {PROBE_VARIABLES} expected")
        for var, a in d.items():
            _arr(where, f"probes/{pop}/{var}", a, (B, T, p.populations[pop].n), signed=var != "spikes")
            if var == "spikes" and a.size and int(a.max()) > 1:
                raise FileFormatError(f"{where}: result field 'probes/{pop}/spikes' holds {int(a.max())}; 0/1")


def _check_rules(result, where: str, cnt: dict[str, np.ndarray], T: int) -> None:
    """Counters that must agree with each other and with the spike counts."""
    p = result.program
    N = p.n_neurons
    # an early-stopped sample (neurocore.anytime) ran fewer steps than n_steps
    rules = [("timesteps", lambda c: (c["timesteps"] >= 1) & (c["timesteps"] <= T), f"in 1 .. n_steps ({T})"),
             ("synops", lambda c: c["synops"] == c["synops_binary"] + c["synops_graded"],
              "= synops_binary + synops_graded"),
             ("neuron_updates_idle", lambda c: c["neuron_updates_active"] + c["neuron_updates_idle"] == c["timesteps"] * N,
              f"= timesteps x neurons ({N}) - neuron_updates_active")]
    if set(result.spike_counts) == set(p.populations):
        total = sum(np.asarray(v, np.int64).sum(axis=1) for v in result.spike_counts.values())
        rules.append(("spikes", lambda c: c["spikes"] == total, "= the sum of spike_counts"))
    for name, ok, what in rules:
        if not np.all(ok(cnt)):
            raise FileFormatError(f"{where}: result field 'counters/{name}' must be {what}")


#: kind in a file's header -> loader (each validates what it reads).
def _loaders() -> dict:
    from neurocore.graph.graph import Graph
    from neurocore.mapping.program import Program
    from neurocore.sim import RunResult

    return {"neurocore.graph": Graph.load, "neurocore.program": Program.load, "neurocore.result": RunResult.load}


def file_kind(path) -> str:
    """The ``format`` entry of a neurocore ``.npz`` file's header (or ``"nir"`` for ``.nir``)."""
    path = Path(path)
    if path.suffix.lower() == ".nir":
        return "nir"
    if not path.is_file():
        raise FileFormatError(f"'{path}' does not exist" if not path.is_dir() else f"'{path}' is a directory")
    try:
        with np.load(path, allow_pickle=False) as z:
            head = json.loads(z["__header__"].tobytes().decode())
        return str(head["format"])
    except Exception as exc:  # noqa: BLE001 - any failure here means: not a neurocore file
        raise FileFormatError(f"'{path}' is not a readable neurocore file ({type(exc).__name__}: {exc})") from None


def check_file(path):
    """Load and validate a neurocore file of any kind; returns the object. Raises FileFormatError."""
    kind = file_kind(path)
    if kind == "nir":
        from neurocore.nir import load_nir

        return load_nir(path)
    loaders = _loaders()
    if kind not in loaders:
        raise FileFormatError(f"'{path}' holds a {kind!r}; neurocore reads {sorted(loaders)}")
    return loaders[kind](path)
