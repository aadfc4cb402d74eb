"""Energy and latency of a simulated run, against a dense baseline.

``estimate(result, chip="loihi", baseline="gpu-h100")`` prices the simulator's
counters with a chip profile and the same network's dense forward pass with a
baseline profile, and returns an :class:`EnergyReport`. Every figure is a
counter (or a count derived from the program's layer statistics) times a
profile entry, listed in ``report.terms`` / ``report.baseline_terms``.

The model
---------
Chip energy, ``scope = "per_term"`` (per inference = mean over the batch)::

    E = sum_k counter_k x entry_k   (see CHIP_TERMS)
      + static_power x n_chips_used x chip_time

Entries declared ``unpublished`` are priced 0 and flagged; entries
``included_in`` another are priced 0 and noted. ``scope = "all_in"``:
``E = synops x synop`` and nothing else (the published figure already holds
routing, neuron updates and leakage).

Chip time per inference. If the profile has a ``step_time`` entry (a fixed tick,
as on TrueNorth) it is ``timesteps x step_time``. Otherwise it is summed over
steps, each step taking::

    max over cores (synops x synop_latency + active x neuron_update_active_latency
                    + idle x neuron_update_idle_latency)          # idle = neurons on the core - active
    + busiest_link_packets x max(hop_ew_latency, hop_ns_latency)  # a simple congestion term
    + barrier_sync_latency(tiles used)

where tiles used = ceil(cores used / cores per tile) (the compiler packs cores
tile by tile) and the barrier latency is interpolated linearly in the entry's
``table`` (clamped at its ends). Cores run in parallel; within a core the
operations are serial. Steps beyond a sample's ``timesteps`` counter are not
charged.

Dense baselines are priced by :mod:`neurocore.energy.baselines` (one module per
model: memory-hierarchy accelerator, GPU kernels / roofline, measured), each in
two regimes: ``batch1`` (streaming) and ``throughput`` (the run's batch). The
``baseline_*`` fields are the first baseline's throughput regime; ``baselines``
holds every baseline in both regimes with the chip's total and dynamic
(every term but ``static``) ratios.

Break-even activity: the activity-dependent chip terms (counters in
``ACTIVITY_COUNTERS``: synops, synapse-memory reads, active neuron updates,
spikes, packets and hops) are assumed to scale together, linearly, by a factor
``k``; everything else (idle updates, input, sync, static energy at the measured
chip time) is held fixed. At ``k* = (E_baseline - E_fixed) / E_activity`` the
chip's energy equals the baseline's; ``k*`` times today's spikes per neuron and
synops per MAC give the break-even activity. None when the fixed part alone
exceeds the baseline.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocore.energy.baselines import REGIMES, BaselineResult, dense_workload
from neurocore.energy.baselines import evaluate as evaluate_baseline
from neurocore.energy.profiles import PRECISION_BITS, UNITS, Entry, Profile, load_profile
from neurocore.errors import FileFormatError, ProfileError

__all__ = ["ACTIVITY_COUNTERS", "CHIP_TERMS", "BaselineComparison", "EnergyReport", "Term", "estimate"]

#: (counter, profile entry, breakdown kind) priced by a per_term chip profile.
CHIP_TERMS: tuple[tuple[str, str, str], ...] = (
    ("synops", "synop", "synaptic_ops"),
    ("syn_mem_words_read", "syn_mem_word_read", "memory_reads"),
    ("neuron_updates_active", "neuron_update_active", "neuron_updates"),
    ("neuron_updates_idle", "neuron_update_idle", "neuron_updates"),
    ("spikes", "spike_out", "spike_generation"),
    ("packets", "packet", "routing"),
    ("intra_tile_packets", "intra_tile_packet", "routing"),
    ("hops_ew", "hop_ew", "routing"),
    ("hops_ns", "hop_ns", "routing"),
    ("hops_interchip", "hop_interchip", "routing"),
    ("input_packets", "input_packet", "input"),
    ("timesteps", "barrier_sync", "sync"),
)

#: Counters assumed to scale with network activity when finding the break-even point.
ACTIVITY_COUNTERS = frozenset({"synops", "syn_mem_words_read", "neuron_updates_active", "spikes", "packets",
                               "intra_tile_packets", "hops_ew", "hops_ns", "hops_interchip"})

_STEP_LATENCY = ("synop_latency", "neuron_update_active_latency", "neuron_update_idle_latency",
                 "hop_ew_latency", "hop_ns_latency", "barrier_sync_latency")


@dataclass(frozen=True)
class Term:
    """One priced line: ``count_per_inference x value [unit] = energy_J``.

    Attributes
    ----------
    kind : str
        Breakdown bucket (synaptic_ops, routing, static, macs, ...).
    counter : str
        What was counted (a ``result.counters`` key or a derived count).
    count_per_inference : float
        Mean count per inference.
    entry : str
        The profile entry (or ``a / b`` for a derived price).
    value : float or None
        The price in ``unit`` (None when unpublished or included elsewhere).
    unit : str
    energy_J : float
        Energy per inference, J.
    status : str
        ``priced``, ``derived``, ``unpublished`` or ``included_in:<entry>``.
    """

    kind: str
    counter: str
    count_per_inference: float
    entry: str
    value: float | None
    unit: str
    energy_J: float
    status: str = "priced"


@dataclass(frozen=True)
class BaselineComparison:
    """The chip against one dense baseline in one regime.

    Attributes
    ----------
    profile : str
        The baseline profile.
    regime : str
        ``batch1`` (streaming) or ``throughput`` (the run's batch).
    baseline : BaselineResult
        The baseline's energy, time, breakdown and terms in this regime.
    chip_energy_J, chip_dynamic_energy_J : float
        The chip's total and dynamic (every term but ``static``) energy per
        inference, J (samples run one after another: the same in both regimes).
    ratio, dynamic_ratio : float or None
        chip / baseline, total against total and dynamic against dynamic (None
        when the baseline gives no such energy).
    """

    profile: str
    regime: str
    baseline: BaselineResult
    chip_energy_J: float
    chip_dynamic_energy_J: float
    ratio: float | None
    dynamic_ratio: float | None


@dataclass(frozen=True)
class EnergyReport:
    """Energy and latency of one run on a chip profile, against a dense baseline.

    All ``*_J`` figures are joules per inference (mean over the batch) unless the
    name says ``total``; ``*_s`` are seconds. None means "not defined" (no
    baseline, no spikes, no published throughput, never breaks even).
    """

    chip_profile: str
    chip_scope: str
    baseline_profile: str | None
    batch_size: int
    n_steps: int
    n_chips_used: int
    energy_per_inference_J: float
    energy_total_J: float
    energy_per_spike_J: float | None
    energy_per_synop_J: float | None
    breakdown_J: dict[str, float]
    breakdown_total_J: dict[str, float]
    activity_energy_J: float
    fixed_energy_J: float
    latency_timesteps: float
    latency_s: float
    latency_breakdown_s: dict[str, float]
    edp_Js: float
    spikes_per_inference: float
    synops_per_inference: float
    spikes_per_neuron: float | None
    synops_per_mac: float | None
    baseline_precision: str | None
    baseline_macs_per_inference: float | None
    baseline_energy_per_inference_J: float | None
    baseline_energy_lower_bound_J: float | None
    baseline_latency_s: float | None
    baseline_breakdown_J: dict[str, float]
    ratio_vs_baseline: float | None
    ratio_vs_baseline_lower_bound: float | None
    break_even_activity_scale: float | None
    break_even_spikes_per_neuron: float | None
    break_even_synops_per_mac: float | None
    terms: tuple[Term, ...]
    baseline_terms: tuple[Term, ...]
    flags: tuple[str, ...]
    notes: tuple[str, ...]
    baselines: tuple[BaselineComparison, ...] = ()
    ratio_vs_baseline_batch1: float | None = None
    ratio_vs_baseline_throughput: float | None = None
    dynamic_ratio_vs_baseline_batch1: float | None = None
    dynamic_ratio_vs_baseline_throughput: float | None = None

    def comparison(self, profile: str, regime: str = "throughput") -> BaselineComparison:
        """The comparison with baseline ``profile`` in ``regime`` (``batch1`` or ``throughput``).

        Raises
        ------
        KeyError
            If that baseline or regime was not evaluated.
        """
        for c in self.baselines:
            if c.profile == profile and c.regime == regime:
                return c
        raise KeyError(f"no comparison with '{profile}' in regime '{regime}'; have "
                       f"{[(c.profile, c.regime) for c in self.baselines]}")

    # ---- serialisation -------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (units in the keys); JSON-ready."""
        d = dataclasses.asdict(self)
        for k in ("terms", "baseline_terms", "flags", "notes", "baselines"):
            d[k] = list(d[k])
        for c in d["baselines"]:
            for k in ("terms", "flags", "notes"):
                c["baseline"][k] = list(c["baseline"][k])
        return d

    def to_json(self, indent: int | None = 2) -> str:
        """The :meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnergyReport:
        """Rebuild a report from :meth:`to_dict` output.

        Raises
        ------
        FileFormatError
            If keys are missing or unknown.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
        missing, unknown = required - set(d), set(d) - names
        if missing or unknown:
            raise FileFormatError(f"EnergyReport dict: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")
        kw = dict(d)
        for k in ("terms", "baseline_terms"):
            kw[k] = tuple(Term(**t) for t in d[k])
        kw["flags"], kw["notes"] = tuple(d["flags"]), tuple(d["notes"])
        kw["baselines"] = tuple(BaselineComparison(**{**c, "baseline": BaselineResult.from_dict(c["baseline"])})
                                for c in d.get("baselines", ()))
        return cls(**kw)

    @classmethod
    def from_json(cls, text: str) -> EnergyReport:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # ---- text ------------------------------------------------------------------
    def table(self) -> str:
        """A readable terminal table."""
        base = self.baseline_profile or "none"
        lines = [f"energy report: chip '{self.chip_profile}' ({self.chip_scope}) vs baseline '{base}'",
                 f"batch {self.batch_size}, {self.n_steps} steps, {self.n_chips_used} chip(s)", ""]
        rows = [("energy / inference", _si(self.energy_per_inference_J, "J")),
                ("energy / spike", _si(self.energy_per_spike_J, "J")),
                ("energy / synaptic op", _si(self.energy_per_synop_J, "J")),
                ("latency / inference", f"{self.latency_timesteps:g} steps, {_si(self.latency_s, 's')}"),
                ("energy-delay product", _si(self.edp_Js, "J s")),
                ("spikes / neuron / inference", _num(self.spikes_per_neuron)),
                ("synops / dense MAC", _num(self.synops_per_mac))]
        lines += [f"  {a:<30}{b}" for a, b in rows]
        lines.append("  breakdown (per inference):")
        lines += [f"    {k:<28}{_si(v, 'J'):>14}  {_pct(v, self.energy_per_inference_J)}"
                  for k, v in self.breakdown_J.items()]
        if self.baseline_profile is not None:
            lines += ["", f"baseline '{self.baseline_profile}' ({self.baseline_precision})"]
            rows = [("dense MACs / inference", _num(self.baseline_macs_per_inference)),
                    ("energy / inference", _si(self.baseline_energy_per_inference_J, "J")),
                    ("per-op lower bound", _si(self.baseline_energy_lower_bound_J, "J")),
                    ("latency (batch)", _si(self.baseline_latency_s, "s")),
                    ("chip / baseline energy", _num(self.ratio_vs_baseline)),
                    ("chip / lower bound", _num(self.ratio_vs_baseline_lower_bound)),
                    ("break-even activity scale", _num(self.break_even_activity_scale)),
                    ("break-even spikes / neuron", _num(self.break_even_spikes_per_neuron)),
                    ("break-even synops / MAC", _num(self.break_even_synops_per_mac))]
            lines += [f"  {a:<30}{b}" for a, b in rows]
        if self.baselines:
            lines += ["", "chip vs each dense baseline (per inference; chip samples run one after another):",
                      f"  {'baseline':<20}{'regime':<12}{'batch':>6}{'energy':>12}{'dynamic':>12}{'time':>12}"
                      f"{'chip/total':>12}{'chip/dyn':>12}"]
            for c in self.baselines:
                b = c.baseline
                lines.append(f"  {c.profile:<20}{c.regime:<12}{b.batch_size:>6}{_si(b.energy_per_inference_J, 'J'):>12}"
                             f"{_si(b.dynamic_energy_per_inference_J, 'J'):>12}{_si(b.time_per_inference_s, 's'):>12}"
                             f"{_num(c.ratio):>12}{_num(c.dynamic_ratio):>12}")
        lines += ["", "terms (per inference):",
                  f"  {'counter':<34}{'count':>12}  {'entry':<34}{'value':>12}  {'energy':>12}  status"]
        for t in self.terms + self.baseline_terms:
            val = "-" if t.value is None else f"{t.value:g} {t.unit}"
            lines.append(f"  {t.counter:<34}{t.count_per_inference:>12.5g}  {t.entry:<34}{val:>12}  "
                         f"{_si(t.energy_J, 'J'):>12}  {t.status}")
        if self.flags:
            lines += ["", "flags:"] + [f"  ! {f}" for f in self.flags]
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


# ---------------------------------------------------------------------------------------------
def estimate(result: Any, chip: str | dict | Profile = "loihi",
             baseline: str | dict | Profile | list | tuple | None = "gpu-h100",
             precision: str | None = None) -> EnergyReport:
    """Price a run's counters on a chip profile and compare with a dense baseline.

    Parameters
    ----------
    result : RunResult-like
        Needs ``counters`` (dict of (batch,) int64 arrays), ``core_steps``
        (``synops``, ``updates_active``: (batch, n_steps, n_cores_used) int32),
        ``busiest_link`` ((batch, n_steps) packets), ``n_steps``, ``batch_size`` and
        ``program`` (``chip``, ``n_cores_used``, ``neurons_per_core_used``,
        ``layer_stats``).
    chip : str, dict, path or Profile
        A chip profile (``kind = "chip"``), see :func:`load_profile`.
    baseline : str, dict, path, Profile, list of them, or None
        A dense profile (``kind = "dense"``), or several; each is evaluated in
        both regimes (``report.baselines``) and the first fills the ``baseline_*``
        fields (throughput regime). None skips the comparison.
    precision : str, optional
        Dense precision (``int8``, ``fp16``, ``fp32``, ...); default: the baseline's.

    Returns
    -------
    EnergyReport
        Energies in J per inference, times in s.

    Raises
    ------
    ProfileError
        Wrong profile kind, or a needed entry is missing (names profile and key).
    ValueError
        ``result`` lacks a counter or has inconsistent shapes.
    """
    prof = load_profile(chip)
    if prof.kind != "chip":
        raise ProfileError(f"profile '{prof.name}' is a {prof.kind} profile; pass it as baseline=, not chip=")
    many = baseline if isinstance(baseline, (list, tuple)) else ([] if baseline is None else [baseline])
    bases = [load_profile(b) for b in many]
    for b in bases:
        if b.kind != "dense":
            raise ProfileError(f"profile '{b.name}' is a {b.kind} profile; pass it as chip=, not baseline=")
    base = bases[0] if bases else None

    counters = _counters(result)
    batch = int(result.batch_size)
    flags: list[str] = []
    notes: list[str] = []
    mean = {k: float(np.mean(v)) for k, v in counters.items()}

    # ---- chip time -------------------------------------------------------------------
    time_b, lat_parts = _chip_time(result, prof, counters["timesteps"], flags)
    chip_time = float(np.mean(time_b))
    n_chips = _chips_used(result.program)

    # ---- chip energy -----------------------------------------------------------------
    terms: list[Term] = []
    if prof.scope == "all_in":
        terms.append(_term(prof, "synops", "synop", "all_in", mean["synops"], flags))
        notes.append(f"'{prof.name}' is all-in: synops x {prof.entries['synop'].value:g} "
                     f"{prof.entries['synop'].unit}; no other term is added (static, routing and neuron "
                     "updates are inside the published figure)")
    else:
        for counter, key, kind in CHIP_TERMS:
            terms.append(_term(prof, counter, key, kind, mean[counter], flags))
        e = prof.entry("static_power", "static energy")
        terms.append(_term(prof, "chip_time_s x n_chips", "static_power", "static", chip_time * n_chips, flags))
        if e.range is not None:
            notes.append(f"'{prof.name}' static power {e.value:g} {e.unit} per chip "
                         f"(published range {e.range[0]:g}-{e.range[1]:g} {e.unit})")
    included = sorted({(t.entry, t.status[len("included_in:"):]) for t in terms if t.status.startswith("included")})
    if included:
        notes.append(f"'{prof.name}': priced inside another entry: "
                     + ", ".join(f"{a} (in {b})" for a, b in included))

    breakdown: dict[str, float] = {}
    for t in terms:
        breakdown[t.kind] = breakdown.get(t.kind, 0.0) + t.energy_J
    energy = float(sum(t.energy_J for t in terms))
    activity = float(sum(t.energy_J for t in terms if t.counter in ACTIVITY_COUNTERS))
    fixed = energy - activity

    n_neurons = float(np.sum(result.program.neurons_per_core_used))
    spikes, synops = mean["spikes"], mean["synops"]

    # ---- dense baselines (neurocore.energy.baselines), both regimes ------------------
    dynamic = float(sum(t.energy_J for t in terms if t.kind != "static"))
    comparisons = _compare(bases, result, mean["timesteps"], batch, precision, energy, dynamic, flags, notes)
    b_energy = b_lower = b_latency = b_macs = prec = None
    b_terms: tuple = ()
    b_breakdown: dict[str, float] = {}
    if base is not None:
        thr = comparisons[1].baseline
        prec, b_energy, b_lower, b_latency = thr.precision, thr.energy_per_inference_J, thr.lower_bound_J, thr.latency_s
        b_macs = dense_workload(result.program.layer_stats, mean["timesteps"], prec).macs
        b_terms, b_breakdown = thr.terms, dict(thr.breakdown_J)
    first = {c.regime: c for c in comparisons[:2]}

    ratio = _div(energy, b_energy)
    scale = None
    if b_energy is not None and activity > 0:
        scale = (b_energy - fixed) / activity
        if scale < 0:
            notes.append(f"the fixed chip energy ({fixed:.4g} J) alone exceeds the baseline ({b_energy:.4g} J): "
                         "no activity level breaks even")
            scale = None
    spn = _div(spikes, n_neurons)
    spm = _div(synops, b_macs)
    notes.append("break-even: activity-dependent terms (synops, memory reads, active updates, spikes, packets, "
                 "hops) scaled linearly together; idle updates, input, sync and static energy held fixed")
    if prof.scope == "per_term" and "step_time" not in prof.entries:
        notes.append("chip time per step = slowest core (synops, active and idle updates, serial) "
                     "+ busiest-link packets x max hop latency + barrier sync; summed over steps")

    return EnergyReport(
        chip_profile=prof.name, chip_scope=prof.scope, baseline_profile=None if base is None else base.name,
        batch_size=batch, n_steps=int(result.n_steps), n_chips_used=n_chips,
        energy_per_inference_J=energy, energy_total_J=energy * batch,
        energy_per_spike_J=_div(energy, spikes), energy_per_synop_J=_div(energy, synops),
        breakdown_J=breakdown, breakdown_total_J={k: v * batch for k, v in breakdown.items()},
        activity_energy_J=activity, fixed_energy_J=fixed,
        latency_timesteps=mean["timesteps"], latency_s=chip_time, latency_breakdown_s=lat_parts,
        edp_Js=energy * chip_time, spikes_per_inference=spikes, synops_per_inference=synops,
        spikes_per_neuron=spn, synops_per_mac=spm,
        baseline_precision=prec, baseline_macs_per_inference=b_macs,
        baseline_energy_per_inference_J=b_energy, baseline_energy_lower_bound_J=b_lower,
        baseline_latency_s=b_latency, baseline_breakdown_J=b_breakdown,
        ratio_vs_baseline=ratio, ratio_vs_baseline_lower_bound=_div(energy, b_lower),
        break_even_activity_scale=scale,
        break_even_spikes_per_neuron=None if scale is None or spn is None else scale * spn,
        break_even_synops_per_mac=None if scale is None or spm is None else scale * spm,
        terms=tuple(terms), baseline_terms=tuple(b_terms), flags=tuple(flags), notes=tuple(notes),
        baselines=tuple(comparisons),
        ratio_vs_baseline_batch1=first["batch1"].ratio if first else None,
        ratio_vs_baseline_throughput=first["throughput"].ratio if first else None,
        dynamic_ratio_vs_baseline_batch1=first["batch1"].dynamic_ratio if first else None,
        dynamic_ratio_vs_baseline_throughput=first["throughput"].dynamic_ratio if first else None)


def _compare(bases: list[Profile], result: Any, timesteps: float, batch: int, precision: str | None,
             energy: float, dynamic: float, flags: list[str], notes: list[str]) -> list[BaselineComparison]:
    """Every baseline in both regimes against the chip's total and dynamic energy per inference."""
    out: list[BaselineComparison] = []
    for base in bases:
        prec = precision or base.precision
        if prec not in PRECISION_BITS:
            raise ProfileError(f"precision {prec!r} is not one of {list(PRECISION_BITS)}")
        regimes = evaluate_baseline(base, result.program.layer_stats, timesteps, batch, prec)
        for regime in REGIMES:
            r = regimes[regime]
            out.append(BaselineComparison(profile=base.name, regime=regime, baseline=r, chip_energy_J=energy,
                                          chip_dynamic_energy_J=dynamic, ratio=_div(energy, r.energy_per_inference_J),
                                          dynamic_ratio=_div(dynamic, r.dynamic_energy_per_inference_J)))
            for f in r.flags:
                if f not in flags:
                    flags.append(f)
            for n in r.notes:
                if n not in notes:
                    notes.append(n)
    return out


# ---- helpers ----------------------------------------------------------------------------------
_COUNTER_KEYS = ("timesteps", "synops", "synops_binary", "synops_graded", "syn_mem_words_read",
                 "neuron_updates_active", "neuron_updates_idle", "spikes", "packets", "intra_tile_packets",
                 "hops_ew", "hops_ns", "hops_interchip", "input_packets")


def _counters(result: Any) -> dict[str, np.ndarray]:
    batch = int(result.batch_size)
    out = {}
    for k in _COUNTER_KEYS:
        if k not in result.counters:
            raise ValueError(f"result.counters has no '{k}'; the energy model needs {list(_COUNTER_KEYS)}")
        v = np.asarray(result.counters[k], dtype=np.int64)
        if v.shape != (batch,):
            raise ValueError(f"result.counters['{k}'] has shape {v.shape}; expected (batch_size,) = ({batch},)")
        out[k] = v
    return out


def _term(prof: Profile, counter: str, key: str, kind: str, count: float, flags: list[str]) -> Term:
    e = prof.entry(key, f"counter '{counter}'")
    if e.unpublished:
        status = "unpublished"
        if count > 0:
            flags.append(f"'{prof.name}': {key} is unpublished; {counter} ({count:.6g} per inference) priced 0 J")
    elif e.included_in is not None:
        status = f"included_in:{e.included_in}"
    else:
        status = "priced"
    return Term(kind=kind, counter=counter, count_per_inference=count, entry=key,
                value=e.value if e.priced else None, unit=e.unit, energy_J=count * e.si, status=status)


def _latency(prof: Profile, key: str, flags: list[str]) -> float:
    e = prof.entry(key, "the chip-time model")
    if e.unpublished:
        flags.append(f"'{prof.name}': {key} is unpublished; chip time leaves it out")
    return e.si


def _chips_used(program: Any) -> int:
    chip = program.chip
    if int(chip.n_chips) <= 1:
        return 1
    per_chip = int(chip.tiles_x) * int(chip.tiles_y) * int(chip.cores_per_tile)
    return max(1, min(int(chip.n_chips), math.ceil(int(program.n_cores_used) / per_chip)))


def _chip_time(result: Any, prof: Profile, timesteps: np.ndarray, flags: list[str]) -> tuple[np.ndarray, dict]:
    """Chip time per sample (s), and its mean split into compute / congestion / sync."""
    if "step_time" in prof.entries:
        t = _latency(prof, "step_time", flags)
        times = timesteps.astype(np.float64) * t
        return times, {"step_time": float(np.mean(times))}
    t_syn, t_act, t_idle, t_ew, t_ns = (_latency(prof, k, flags) for k in _STEP_LATENCY[:5])
    syn = np.asarray(result.core_steps["synops"], dtype=np.float64)
    act = np.asarray(result.core_steps["updates_active"], dtype=np.float64)
    link = np.asarray(result.busiest_link, dtype=np.float64)
    neurons = np.asarray(result.program.neurons_per_core_used, dtype=np.float64)
    if syn.shape != act.shape or syn.ndim != 3 or syn.shape[2] != neurons.shape[0] or link.shape != syn.shape[:2]:
        raise ValueError(f"core_steps synops {syn.shape}, updates_active {act.shape}, busiest_link {link.shape} and "
                         f"neurons_per_core_used {neurons.shape} disagree; expected (batch, n_steps, n_cores_used)")
    core_t = syn * t_syn + act * t_act + np.maximum(neurons - act, 0.0) * t_idle
    compute = core_t.max(axis=2) if core_t.shape[2] else np.zeros(syn.shape[:2])
    congestion = link * max(t_ew, t_ns)
    sync_e = prof.entry("barrier_sync_latency", "the chip-time model")
    sync = _sync_latency(sync_e, result.program, flags, prof.name)
    mask = np.arange(syn.shape[1])[None, :] < timesteps[:, None]
    parts = {"compute": (compute * mask).sum(axis=1), "congestion": (congestion * mask).sum(axis=1),
             "sync": mask.sum(axis=1) * sync}
    times = parts["compute"] + parts["congestion"] + parts["sync"]
    return times, {k: float(np.mean(v)) for k, v in parts.items()}


def _sync_latency(e: Entry, program: Any, flags: list[str], name: str) -> float:
    """Barrier-sync latency per step (s), interpolated in tiles used when the entry has a table."""
    if e.unpublished:
        flags.append(f"'{name}': barrier_sync_latency is unpublished; chip time leaves it out")
        return 0.0
    if e.table is None:
        return e.si
    tiles = max(1, math.ceil(int(program.n_cores_used) / int(program.chip.cores_per_tile)))
    xs, ys = zip(*e.table)
    return float(np.interp(tiles, xs, ys)) * UNITS[e.unit]


def _div(a: float, b: float | None) -> float | None:
    return None if b is None or b == 0 else a / b


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _pct(x: float, total: float) -> str:
    return f"{100 * x / total:5.1f} %" if total else ""


def _si(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if x == 0:
        return f"0 {unit}"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"),
                           (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= factor:
            return f"{x / factor:.4g} {prefix}{unit}"
    return f"{x / 1e-15:.4g} f{unit}"
