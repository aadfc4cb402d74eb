"""A measured baseline (``model = "measured"``): timings read from a stored profile.

``bench/measure_dense.py`` times the dense network on a machine and writes the
profile; this module only reads it, so a report made from it is reproducible.
The profile holds, per measured batch size ``B``, an entry
``time_per_batch_b<B>`` (s, median over repeats) and two power entries:
``active_power`` (W while the forward pass runs) and ``idle_power`` (W at rest);
either may be ``unpublished`` when the attribution chosen at measurement time
gives none. Energy per inference::

    E_total   = active_power x time_per_batch_b<B> / B
    E_dynamic = (active_power - idle_power) x time_per_batch_b<B> / B

The profile's ``measurement.layers`` must describe the same network as the run
(n_src, n_dst, dense_macs, recurrent per projection, in order), and a batch
size the run needs must have been measured; otherwise :class:`ProfileError`
says what to re-measure.
"""
from __future__ import annotations

from neurocore.energy.baselines.workload import BaselineResult, DenseWorkload
from neurocore.energy.profiles import Profile
from neurocore.errors import ProfileError

__all__ = ["measured", "network_signature"]


def network_signature(layers) -> list[tuple[int, int, int, bool]]:
    """(n_src, n_dst, dense_macs, recurrent) per projection: what a measurement must match."""
    out = []
    for lw in layers:
        if isinstance(lw, dict):
            out.append((int(lw["n_src"]), int(lw["n_dst"]), int(lw["dense_macs"]), bool(lw["recurrent"])))
        else:
            out.append((lw.n_src, lw.n_dst, int(lw.macs), lw.evals != 1.0 or getattr(lw, "recurrent", False)))
    return out


def _check_network(prof: Profile, work: DenseWorkload) -> None:
    meas = prof.measurement or {}
    want = [(lw.n_src, lw.n_dst, int(lw.macs)) for lw in work.layers]
    got = [s[:3] for s in network_signature(meas.get("layers", []))]
    if want != got:
        raise ProfileError(f"measured profile '{prof.name}' was taken on layers {got} (n_src, n_dst, dense_macs); "
                           f"this run's network is {want}: measure it with bench/measure_dense.py")
    rec = [lw for lw in work.layers if lw.evals != 1.0]
    if rec and round(rec[0].evals) != int(meas.get("timesteps", 1)):
        raise ProfileError(f"measured profile '{prof.name}' evaluated its recurrent layers {meas.get('timesteps', 1)} "
                           f"times; this run takes {rec[0].evals:g} steps: re-measure with --timesteps")


def measured(prof: Profile, work: DenseWorkload, batch: int, regime: str) -> BaselineResult:
    """Energy and time per inference from a measured profile (see the module docstring)."""
    from neurocore.energy._estimate import Term

    if work.precision != prof.precision:
        raise ProfileError(f"measured profile '{prof.name}' was timed at {prof.precision}; precision="
                           f"{work.precision!r} cannot be applied to a measurement (leave precision unset)")
    _check_network(prof, work)
    key = f"time_per_batch_b{batch}"
    if key not in prof.entries:
        have = sorted(prof.measurement.get("batches", [])) if prof.measurement else []
        raise ProfileError(f"measured profile '{prof.name}' has no timing at batch {batch} (entry '{key}'; measured "
                           f"batches {have}): re-measure with bench/measure_dense.py --batch 1 {batch}")
    t_e = prof.entries[key]
    t_batch = t_e.si
    flags: list[str] = []
    act, idle = prof.entry("active_power", "a measured baseline"), prof.entry("idle_power", "a measured baseline")
    energy = dynamic = None
    terms = []
    if act.priced:
        energy = act.si * t_batch / batch
        terms.append(Term(kind="measured", counter=f"{key} / batch", count_per_inference=t_batch / batch,
                          entry="active_power", value=act.value, unit=act.unit, energy_J=energy, status="priced"))
        if idle.priced:
            dynamic = max(act.si - idle.si, 0.0) * t_batch / batch
        else:
            flags.append(f"'{prof.name}': idle_power is unpublished; dynamic energy not defined")
    else:
        flags.append(f"'{prof.name}': active_power is unpublished ({act.source}); energy not defined, time only")
    meas = prof.measurement or {}
    notes = (f"'{prof.name}': measured {meas.get('date', '?')} on {meas.get('host', '?')} "
             f"({meas.get('cpu', meas.get('device', '?'))}, {meas.get('threads', '?')} thread(s), "
             f"{meas.get('library', '?')}); power: {meas.get('power_attribution', '?')}",)
    return BaselineResult(profile=prof.name, model="measured", regime=regime, batch_size=batch,
                          precision=work.precision, energy_per_inference_J=energy,
                          dynamic_energy_per_inference_J=dynamic, time_per_inference_s=t_batch / batch,
                          latency_s=t_batch, lower_bound_J=None,
                          breakdown_J={} if energy is None else {"measured": energy}, terms=tuple(terms),
                          flags=tuple(flags), notes=notes)
