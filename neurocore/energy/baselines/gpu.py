"""GPU baselines: a pure roofline (``model = "roofline"``) and a kernel model (``model = "gpu"``).

Both report the per-op lower bound ``ops x power / peak_ops_<precision>`` (every
op at peak, at TDP; ops = 2 x MACs).

``roofline``: one batch takes ``max(B x ops / peak, B x bytes / bandwidth)`` at
``power``; nothing else. Optimistic: no launch overhead, no idle power.

``gpu``: every evaluation of every layer is ``kernels_per_layer`` kernels run one
after another. The first (GEMM with fused bias) takes::

    t = max(launch_overhead, min_kernel_time, B x 2 x MACs / peak, bytes / memory_bandwidth)
    bytes = weights + B x (inputs + outputs)            (HBM traffic, at the precision's width)

each further kernel (an unfused activation) ``max(launch_overhead,
min_kernel_time, 2 x B x outputs x width / memory_bandwidth)``. The board draws
``active_power`` while the batch runs::

    E_total   = active_power x t_batch / B
    E_dynamic = (active_power - idle_power) x t_batch / B       (None if idle_power is unpublished)

``breakdown_J`` splits ``E_total`` by what bounded each kernel (launch_overhead,
min_kernel_time, compute, memory). Memory traffic energy is inside the board
power (its term is ``included_in: active_power``). Idle time between batches is
not charged.
"""
from __future__ import annotations

from neurocore.energy.baselines.workload import BaselineResult, DenseWorkload, priced_term
from neurocore.energy.profiles import UNITS, Profile
from neurocore.errors import ProfileError

__all__ = ["gpu_kernels", "roofline"]


def _positive(prof: Profile, key: str, why: str) -> float:
    e = prof.entry(key, why)
    if not e.priced or e.si <= 0:
        raise ProfileError(f"profile '{prof.name}': entry '{key}' must be a published positive number for {why}")
    return e.si


def _lower_bound(prof: Profile, work: DenseWorkload):
    from neurocore.energy._estimate import Term

    prec = work.precision
    per_op = _positive(prof, "power", "the per-op lower bound") / _positive(prof, f"peak_ops_{prec}",
                                                                             f"the roofline at {prec}")
    ops = 2.0 * work.macs
    return Term(kind="lower_bound", counter="dense_ops (2 per MAC)", count_per_inference=ops,
                entry=f"power / peak_ops_{prec}", value=per_op / UNITS["pJ"], unit="pJ", energy_J=ops * per_op,
                status="derived")


def roofline(prof: Profile, work: DenseWorkload, batch: int, regime: str) -> BaselineResult:
    """Pure roofline at board power (see the module docstring)."""
    from neurocore.energy._estimate import Term

    prec = work.precision
    power = prof.entry("power", "the roofline")
    peak = _positive(prof, f"peak_ops_{prec}", f"the roofline at {prec}")
    bw = _positive(prof, "memory_bandwidth", "the roofline")
    lower = _lower_bound(prof, work)
    nbytes = work.weight_bytes_per_inference(batch) + work.act_bytes_per_inference()
    t_compute, t_memory = batch * 2.0 * work.macs / peak, batch * nbytes / bw
    t_batch = max(t_compute, t_memory)
    energy = _positive(prof, "power", "the roofline") * t_batch / batch
    terms = (lower, Term(kind="roofline", counter="batch_time_s / batch", count_per_inference=t_batch / batch,
                         entry="power", value=power.value, unit=power.unit, energy_J=energy, status="priced"))
    bound = "memory" if t_memory > t_compute else "compute"
    notes = (f"'{prof.name}' roofline at batch {batch}: {bound}-bound (compute {t_compute:.4g} s, "
             f"memory {t_memory:.4g} s for {nbytes * batch:.6g} B); roofline energy is "
             f"{energy / lower.energy_J if lower.energy_J else float('nan'):.4g}x the per-op lower bound",)
    return BaselineResult(profile=prof.name, model="roofline", regime=regime, batch_size=batch, precision=prec,
                          energy_per_inference_J=energy, dynamic_energy_per_inference_J=None,
                          time_per_inference_s=t_batch / batch, latency_s=t_batch, lower_bound_J=lower.energy_J,
                          breakdown_J={"roofline": energy}, terms=terms,
                          flags=(f"'{prof.name}': pure roofline: no kernel-launch overhead, no idle power",),
                          notes=notes + work.notes)


def _kernel_times(prof: Profile, work: DenseWorkload, batch: int, flags: list[str]) -> tuple[dict, float]:
    """Seconds of one batch by bounding cause, and HBM bytes moved per batch."""
    prec, bpv = work.precision, work.bytes_per_value
    peak = _positive(prof, f"peak_ops_{prec}", f"the GPU model at {prec}")
    bw = _positive(prof, "memory_bandwidth", "the GPU model")
    floors = {}
    for key in ("launch_overhead", "min_kernel_time"):
        e = prof.entry(key, "the GPU model")
        if e.unpublished:
            flags.append(f"'{prof.name}': {key} is unpublished; the kernel-time floor leaves it out")
        floors[key] = e.si
    k_e = prof.entry("kernels_per_layer", "the GPU model")
    if not k_e.priced or k_e.value is None or k_e.value < 1 or k_e.value != int(k_e.value):
        raise ProfileError(f"profile '{prof.name}': kernels_per_layer must be a whole number >= 1, got {k_e.value}")
    n_kernels = int(k_e.value)
    times = {"launch_overhead": 0.0, "min_kernel_time": 0.0, "compute": 0.0, "memory": 0.0}
    hbm = 0.0
    for lw in work.layers:
        gemm_bytes = lw.n_weights * bpv + batch * (lw.n_src + lw.n_dst) * bpv
        kernels = [{"compute": batch * 2.0 * lw.macs / peak, "memory": gemm_bytes / bw}]
        act_bytes = 2.0 * batch * lw.n_dst * bpv
        kernels += [{"compute": 0.0, "memory": act_bytes / bw}] * (n_kernels - 1)
        hbm += (gemm_bytes + (n_kernels - 1) * act_bytes) * lw.evals
        for k in kernels:
            cand = {**floors, **k}
            cause = max(cand, key=cand.get)
            times[cause] += cand[cause] * lw.evals
    return times, hbm


def gpu_kernels(prof: Profile, work: DenseWorkload, batch: int, regime: str) -> BaselineResult:
    """Kernel-by-kernel GPU model with launch overhead and idle/active board power (module docstring)."""
    from neurocore.energy._estimate import Term

    flags: list[str] = []
    times, hbm = _kernel_times(prof, work, batch, flags)
    t_batch = float(sum(times.values()))
    active = prof.entry("active_power", "the GPU model")
    p_active = _positive(prof, "active_power", "the GPU model")
    idle = prof.entry("idle_power", "the GPU model")
    terms = [_lower_bound(prof, work)]
    breakdown: dict[str, float] = {}
    for cause, t in times.items():
        e = p_active * t / batch
        breakdown[cause] = e
        terms.append(Term(kind=cause, counter=f"gpu_time_{cause}_s / inference", count_per_inference=t / batch,
                          entry="active_power", value=active.value, unit=active.unit, energy_J=e, status="priced"))
    terms.append(priced_term(prof, "hbm_bytes / inference", "hbm_traffic", "memory_traffic", hbm / batch, flags,
                             "the GPU model's memory traffic"))
    energy = p_active * t_batch / batch
    dynamic = None
    if idle.priced:
        dynamic = max(p_active - idle.si, 0.0) * t_batch / batch
    else:
        flags.append(f"'{prof.name}': idle_power is unpublished; dynamic energy not defined")
    launch_share = (times["launch_overhead"] + times["min_kernel_time"]) / t_batch if t_batch else 0.0
    notes = (f"'{prof.name}' at batch {batch}: {len(work.layers)} layer(s) x {_kernels(prof)} kernel(s), "
             f"{t_batch:.4g} s per batch, {100 * launch_share:.1f} % of it launch/minimum-kernel bound; "
             f"board at {p_active:g} W while busy" + ("" if dynamic is None else f", {idle.si:g} W idle"),)
    return BaselineResult(profile=prof.name, model="gpu", regime=regime, batch_size=batch, precision=work.precision,
                          energy_per_inference_J=energy, dynamic_energy_per_inference_J=dynamic,
                          time_per_inference_s=t_batch / batch, latency_s=t_batch, lower_bound_J=terms[0].energy_J,
                          breakdown_J=breakdown, terms=tuple(terms), flags=tuple(flags), notes=notes + work.notes)


def _kernels(prof: Profile) -> int:
    return int(prof.entries["kernels_per_layer"].value)
