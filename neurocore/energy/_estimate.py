"""Energy and latency of a simulated run, against a dense baseline.

``estimate(result, chip="loihi", baseline="gpu-h100")`` prices the simulator's
counters with a chip profile and the same network's dense forward pass with a
baseline profile, and returns an :class:`EnergyReport`. Every figure is a
counter (or a count derived from the program's layer statistics) times a
profile entry, listed in ``report.terms`` / ``report.baseline_terms``.

The model
---------
Chip energy, ``scope = "per_term"`` (per inference = mean over the batch)::

    E = sum_k counter_k x entry_k   (see CHIP_TERMS; synops per synapse unit when the
                                     profile has synop_sparse / synop_conv entries)
      + static_power x share x chip_time          (share: see STATIC_MODELS)

``static="chips_used"`` (default): share = chips the placement touches;
``"core_fraction"``: cores used / cores per chip; ``"none"``: 0. A profile without a
``static_power`` entry models no static energy ("not modelled", as SANA-FE). Where the
entry gives a ``range`` the report adds the low/high corners. With replicas (several
copies of the network on the chip, ``nc.compile(..., replicas=k)``), every count and the
chip time of a run are shared by the samples it carried.

Entries declared ``unpublished`` are priced 0 and flagged; entries
``included_in`` another are priced 0 and noted. ``scope = "all_in"``:
``E = synops x synop`` and nothing else (the published figure already holds
routing, neuron updates and leakage).

Chip time per inference. If the profile has a ``step_time`` entry (a fixed tick,
as on TrueNorth) it is ``timesteps x step_time``. With ``timing="sanafe-simple"`` it is
SANA-FE's ``simple`` model (see ``_chip_time_sanafe``). Otherwise (``"neurocore"``) it is
summed over steps, each step taking::

    max over cores (synops x synop_latency + active x neuron_update_active_latency
                    + idle x neuron_update_idle_latency)          # idle = neurons on the core - active
    + busiest_link_packets x max(hop_ew_latency, hop_ns_latency)  # a simple congestion term
    + barrier_sync_latency(tiles used)

where tiles used = the tiles the placement's cores occupy (ceil(cores used / cores
per tile) for a result without a placement) and the barrier latency is interpolated linearly in the entry's
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
import functools
import json
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from neurocore.energy.baselines import REGIMES, BaselineResult, dense_workload
from neurocore.energy.baselines import evaluate as evaluate_baseline
from neurocore.energy.profiles import PRECISION_BITS, UNITS, Entry, Profile, load_profile
from neurocore.errors import ChipTimeError, FileFormatError, ProfileError
from neurocore.steptime import TERMS, CoreTiming, evaluate, register_defaults

__all__ = ["ACTIVITY_COUNTERS", "CHIP_TERMS", "core_timing", "STATIC_MODELS", "TIMING_MODELS", "BaselineComparison",
           "EnergyReport", "Term", "estimate"]

#: How static power is attributed to a run (``estimate(static=...)``).
#: ``chips_used``: every chip the placement touches leaks over the whole chip time (a board
#: dedicated to this network, powered only while it runs); ``core_fraction``: the chip's
#: static power shared by the fraction of its cores the run occupies (a chip shared with
#: other work that fills the rest); ``none``: dynamic energy only.
STATIC_MODELS = ("chips_used", "core_fraction", "none")

#: Chip-time models (``estimate(timing=...)``, default the profile's ``timing``).
TIMING_MODELS = ("neurocore", "sanafe-simple")

#: Synapse units whose synops a profile may price apart (entries ``synop_<unit>``); the
#: dense unit is priced by ``synop``.
_UNIT_COUNTERS = (("synops_dense_unit", "synop", None), ("synops_sparse_unit", "synop_sparse", "synops_sparse"),
                  ("synops_conv_unit", "synop_conv", "synops_conv"))

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
    # ---- the split and the options behind it (defaults keep older dicts loadable) ----
    dynamic_energy_J: float | None = None
    static_energy_J: float | None = None
    static_model: str = "chips_used"
    static_share: float | None = None
    static_low_J: float | None = None
    static_high_J: float | None = None
    energy_low_J: float | None = None
    energy_high_J: float | None = None
    timing_model: str = "neurocore"
    ratio_dynamic_vs_baseline: float | None = None
    ratio_vs_baseline_low: float | None = None
    ratio_vs_baseline_high: float | None = None
    samples_per_run: int = 1
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    dominant_assumption: str = ""
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
        static = ("static: not modelled" if self.static_model in ("not modelled", "inside the all-in figure")
                  else f"{self.static_model}" + ("" if self.static_low_J is None else
                                                 f" (published range {_si(self.static_low_J, 'J')}"
                                                 f"-{_si(self.static_high_J, 'J')})"))
        rows = [("energy / inference", _si(self.energy_per_inference_J, "J")),
                ("dynamic energy / inference", _si(self.dynamic_energy_J, "J")),
                ("static energy / inference", _si(self.static_energy_J, "J")),
                ("static model", static),
                ("chip-time model", f"{self.timing_model}" + (f", {self.samples_per_run:g} samples per run"
                                                             if self.samples_per_run != 1 else "")),
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
                    ("chip / baseline energy", _num(self.ratio_vs_baseline)
                     + ("" if self.ratio_vs_baseline_low is None else
                        f"  (static range: {_num(self.ratio_vs_baseline_low)}-{_num(self.ratio_vs_baseline_high)})")),
                    ("chip / baseline (dynamic)", _num(self.ratio_dynamic_vs_baseline)),
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
        if self.dominant_assumption:
            lines += ["", f"what drives the ratio: {self.dominant_assumption}"]
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
             precision: str | None = None, *, static: str = "chips_used", timing: str | None = None) -> EnergyReport:
    """Price a run's counters on a chip profile and compare with a dense baseline.

    Parameters
    ----------
    result : RunResult-like
        Needs ``counters`` (dict of (batch,) int64 arrays), ``core_steps``
        (``synops``, ``updates_active``: (batch, n_steps, n_cores_used) int32),
        ``busiest_link`` ((batch, n_steps) packets), ``n_steps``, ``batch_size`` and
        ``program`` (``chip``, ``n_cores_used``, ``neurons_per_core_used``,
        ``layers``: typed :class:`~neurocore.mapping.program.LayerStats`).
    chip : str, dict, path or Profile
        A chip profile (``kind = "chip"``), see :func:`load_profile`.
    baseline : str, dict, path, Profile, list of them, or None
        A dense profile (``kind = "dense"``), or several; each is evaluated in
        both regimes (``report.baselines``) and the first fills the ``baseline_*``
        fields (throughput regime). None skips the comparison.
    precision : str, optional
        Dense precision (``int8``, ``fp16``, ``fp32``, ...); default: the baseline's.
    static : {"chips_used", "core_fraction", "none"}
        How static power is charged (see :data:`STATIC_MODELS`): for every chip the
        placement uses (default: leakage is paid by the whole chip whether or not its
        other cores work), for the fraction of one chip's cores the run occupies, or not
        at all. A profile without a ``static_power`` entry models none ("not modelled").
    timing : {"neurocore", "sanafe-simple"}, optional
        Chip-time model; default the profile's ``timing`` (``neurocore`` unless it says).

    Returns
    -------
    EnergyReport
        Energies in J per inference, times in s.

    Raises
    ------
    ProfileError
        Wrong profile kind, or a needed entry is missing (names profile and key).
    ValueError
        ``result`` lacks a counter or has inconsistent shapes; ``static`` or ``timing``
        names no model (:class:`~neurocore.errors.ProfileError`).
    """
    prof, timing, bases = _profiles(chip, baseline, static, timing)
    run = _ChipRun.of(result, prof, timing)
    run.terms, run.static_info = _chip_terms(prof, result.program, run.mean, static, run.chip_time / run.per_run,
                                             run.n_chips, run.flags, run.notes)
    if run.learning:
        run.terms.append(_term(prof, "learning_updates", "synop_learning_update", "learning",
                               float(np.mean(result.counters["learning_updates"])) / run.per_run, run.flags))
    if run.stop_term is not None:
        run.terms.append(run.stop_term)
    energy = float(sum(t.energy_J for t in run.terms))
    dynamic = float(sum(t.energy_J for t in run.terms if t.kind != "static"))
    one = _one_replica(result, run.batch)   # one replica's layers, the samples as the batch
    comparisons = _compare(bases, one, run.mean_run["timesteps"], run.batch, precision, energy, dynamic, run.flags,
                           run.notes)
    base_fields = _baseline_fields(bases[0] if bases else None, comparisons, one, run.mean_run["timesteps"])
    activity = float(sum(t.energy_J for t in run.terms if t.counter in ACTIVITY_COUNTERS))
    scale = _break_even(base_fields["baseline_energy_per_inference_J"], energy - activity, activity, run.notes)
    if prof.scope == "per_term" and "step_time" not in prof.entries:
        run.notes.append(_TIMING_NOTES[timing])
    if run.per_run != 1:
        run.notes.append(f"replicas of the network ran side by side on the chip, {run.per_run:g} samples per run on "
                         "average: energy per inference is the run's divided by the samples it carried")
    return _report(result, prof, run, comparisons, base_fields, scale)


def _profiles(chip, baseline, static: str, timing: str | None) -> tuple[Profile, str, list[Profile]]:
    """The chip profile, the timing model and the dense baselines, each of the right kind."""
    if static not in STATIC_MODELS:
        raise ProfileError(f"static = {static!r}; choose one of {STATIC_MODELS}")
    prof = load_profile(chip)
    timing = timing or prof.timing
    if timing not in TIMING_MODELS:
        raise ProfileError(f"timing = {timing!r}; choose one of {TIMING_MODELS}")
    if prof.kind != "chip":
        raise ProfileError(f"profile '{prof.name}' is a {prof.kind} profile; pass it as baseline=, not chip=")
    many = baseline if isinstance(baseline, (list, tuple)) else ([] if baseline is None else [baseline])
    bases = [load_profile(b) for b in many]
    for b in bases:
        if b.kind != "dense":
            raise ProfileError(f"profile '{b.name}' is a {b.kind} profile; pass it as chip=, not baseline=")
    return prof, timing, bases


@dataclass
class _ChipRun:
    """A run's chip-side figures: counters per run and per inference, chip time, chips, then terms."""

    timing: str               # chip-time model (TIMING_MODELS)
    per_run: float            # samples (inferences) per simulated run
    batch: int                # samples, replicas counted
    mean_run: dict[str, float]
    mean: dict[str, float]    # per inference
    chip_time: float          # s, one run
    lat_parts: dict[str, float]
    learning: bool            # on-chip learning ran and the profile prices it per term
    n_chips: int
    flags: list[str]
    notes: list[str]
    stop_term: Any = None     # the early-stop check's energy term (neurocore.anytime), or None
    terms: list = dataclasses.field(default_factory=list)
    static_info: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, result: Any, prof: Profile, timing: str) -> _ChipRun:
        counters = _counters(result)
        flags: list[str] = []
        notes: list[str] = []
        per_run = _samples_per_run(result)
        mean_run = {k: float(np.mean(v)) for k, v in counters.items()}
        time_b, lat_parts = _CHIP_TIME[timing if "step_time" not in prof.entries else "neurocore"](
            result, prof, counters["timesteps"], flags)
        learning = "learning_updates" in result.counters and prof.scope == "per_term"
        if learning and "synop_learning_update_latency" in prof.entries:
            from neurocore.learning_sim import learning_cores  # updates run in parallel on the cores that hold them

            t_lrn = (np.asarray(result.counters["learning_updates"], np.float64) / learning_cores(result.program)
                     * _latency(prof, "synop_learning_update_latency", flags))
            time_b, lat_parts["learning"] = time_b + t_lrn, float(np.mean(t_lrn))
        stop = _stop_check_terms(result, prof, per_run, flags, notes)
        if stop:  # the early-stop check's decision latency, per check, where published
            time_b = time_b + stop[1]
            lat_parts["stop_check"] = float(np.mean(stop[1]))
        return cls(timing=timing, per_run=per_run, batch=int(round(int(result.batch_size) * per_run)), mean_run=mean_run,
                   mean={k: v / per_run for k, v in mean_run.items()}, chip_time=float(np.mean(time_b)),
                   lat_parts=lat_parts, learning=learning, n_chips=_chips_used(result.program), flags=flags,
                   notes=notes, stop_term=stop[0] if stop else None)


def _baseline_fields(base: Profile | None, comparisons: list, one: Any, timesteps: float) -> dict[str, Any]:
    """The ``baseline_*`` fields of the report, from the first baseline's throughput regime."""
    if base is None:
        return {"baseline_profile": None, "baseline_precision": None, "baseline_macs_per_inference": None,
                "baseline_energy_per_inference_J": None, "baseline_energy_lower_bound_J": None,
                "baseline_latency_s": None, "baseline_breakdown_J": {}, "baseline_terms": ()}
    thr = comparisons[1].baseline
    return {"baseline_profile": base.name, "baseline_precision": thr.precision,
            "baseline_macs_per_inference": dense_workload(one.program.layers, timesteps, thr.precision).macs,
            "baseline_energy_per_inference_J": thr.energy_per_inference_J,
            "baseline_energy_lower_bound_J": thr.lower_bound_J, "baseline_latency_s": thr.latency_s,
            "baseline_breakdown_J": dict(thr.breakdown_J), "baseline_terms": tuple(thr.terms)}


def _opt(d: dict, key: str, attr: str):
    """``d[key].attr``, or None when there is no ``key`` (no baseline)."""
    return getattr(d[key], attr) if key in d else None


def _report(result: Any, prof: Profile, run: _ChipRun, comparisons: list, base: dict[str, Any],
            scale: float | None) -> EnergyReport:
    """The EnergyReport of a priced run: totals, ratios, break-even and the dominant assumption."""
    terms, batch, per_run = run.terms, run.batch, run.per_run
    breakdown: dict[str, float] = {}
    for t in terms:
        breakdown[t.kind] = breakdown.get(t.kind, 0.0) + t.energy_J
    energy = float(sum(t.energy_J for t in terms))
    activity = float(sum(t.energy_J for t in terms if t.counter in ACTIVITY_COUNTERS))
    static_J = float(sum(t.energy_J for t in terms if t.kind == "static"))
    n_neurons = float(np.sum(result.program.neurons_per_core_used)) / per_run   # one replica's neurons
    spikes, synops = run.mean["spikes"], run.mean["synops"]
    b_energy = base["baseline_energy_per_inference_J"]
    first = {c.regime: c for c in comparisons[:2]}
    spn, spm = _div(spikes, n_neurons), _div(synops, base["baseline_macs_per_inference"])
    return EnergyReport(
        chip_profile=prof.name, chip_scope=prof.scope, batch_size=batch, n_steps=int(result.n_steps),
        n_chips_used=run.n_chips, energy_per_inference_J=energy, energy_total_J=energy * batch,
        energy_per_spike_J=_div(energy, spikes), energy_per_synop_J=_div(energy, synops),
        breakdown_J=breakdown, breakdown_total_J={k: v * batch for k, v in breakdown.items()},
        activity_energy_J=activity, fixed_energy_J=energy - activity,
        latency_timesteps=run.mean_run["timesteps"], latency_s=run.chip_time, latency_breakdown_s=run.lat_parts,
        edp_Js=energy * run.chip_time, spikes_per_inference=spikes, synops_per_inference=synops,
        spikes_per_neuron=spn, synops_per_mac=spm, **base,
        ratio_vs_baseline=_div(energy, b_energy),
        ratio_vs_baseline_lower_bound=_div(energy, base["baseline_energy_lower_bound_J"]),
        break_even_activity_scale=scale,
        break_even_spikes_per_neuron=None if scale is None or spn is None else scale * spn,
        break_even_synops_per_mac=None if scale is None or spm is None else scale * spm,
        terms=tuple(terms), flags=tuple(run.flags), notes=tuple(run.notes),
        timing_model=run.timing, samples_per_run=per_run,
        dominant_assumption=_dominant(breakdown, run.static_info, first, batch, per_run),
        options={"static": run.static_info["model"], "timing": run.timing, "samples_per_run": per_run,
                 **_program_options(result.program)},
        **_split(energy, static_J, run.static_info, b_energy),
        baselines=tuple(comparisons),
        ratio_vs_baseline_batch1=_opt(first, "batch1", "ratio"),
        ratio_vs_baseline_throughput=_opt(first, "throughput", "ratio"),
        dynamic_ratio_vs_baseline_batch1=_opt(first, "batch1", "dynamic_ratio"),
        dynamic_ratio_vs_baseline_throughput=_opt(first, "throughput", "dynamic_ratio"))


def _compare(bases: list[Profile], result: Any, timesteps: float, batch: int, precision: str | None,
             energy: float, dynamic: float, flags: list[str], notes: list[str]) -> list[BaselineComparison]:
    """Every baseline in both regimes against the chip's total and dynamic energy per inference."""
    out: list[BaselineComparison] = []
    for base in bases:
        prec = precision or base.precision
        if prec not in PRECISION_BITS:
            raise ProfileError(f"precision {prec!r} is not one of {list(PRECISION_BITS)}")
        regimes = evaluate_baseline(base, result.program.layers, timesteps, batch, prec)
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
#: Who runs an early-stop check (``StopRule.checker``) -> (energy entry per read-out counter read,
#: latency entry per check). A profile without the entry has no published figure: declared unpublished.
STOP_CHECK_ENTRIES = {"embedded": ("stop_counter_read_embedded", "stop_check_embedded_latency"),
                      "host": ("stop_counter_read_host", "stop_check_host_latency")}


def _stop_check_terms(result: Any, prof: Profile, per_run: float, flags: list[str],
                      notes: list[str]) -> tuple[Term, np.ndarray] | None:
    """The early-stop check of a run with ``stop=`` (``neurocore.anytime``): its energy term (read-out
    counters read per inference x the profile's price) and its decision latency per sample (checks x
    the price), each priced where the profile publishes it, else declared unpublished (0, flagged)."""
    reads = result.counters.get("stop_counter_reads") if hasattr(result, "counters") else None
    if reads is None:
        return None
    checker = (getattr(result, "meta", None) or {}).get("stop_checker", "embedded")
    e_key, t_key = STOP_CHECK_ENTRIES.get(checker, STOP_CHECK_ENTRIES["embedded"])
    checks = np.asarray(result.counters["stop_checks"], np.float64)
    count = float(np.mean(np.asarray(reads, np.float64))) / per_run
    if e_key in prof.entries:
        term = _term(prof, "stop_counter_reads", e_key, "stop_check", count, flags)
    else:
        term = Term(kind="stop_check", counter="stop_counter_reads", count_per_inference=count, entry=e_key,
                    value=None, unit="pJ", energy_J=0.0, status="unpublished")
        flags.append(f"'{prof.name}': the early-stop check ({checker} core reads {count:.6g} read-out counters per "
                     f"inference) has no published energy ({e_key}): priced 0 J")
    if t_key in prof.entries and not prof.entries[t_key].unpublished:
        lat = checks * prof.entries[t_key].si
    else:
        lat = np.zeros_like(checks)
        flags.append(f"'{prof.name}': the early-stop check's decision latency ({t_key}, one decision per step, "
                     f"{float(np.mean(checks)):.3g} per inference) is unpublished: chip time leaves it out")
    notes.append(f"early stop: samples ran {float(np.mean(result.counters['timesteps'])):.4g} steps on average; "
                 f"only those steps are priced, plus the {checker} core's check after each step from min_steps on")
    return term, lat


def _chip_terms(prof: Profile, program: Any, mean: dict[str, float], static: str, time_s: float, n_chips: int,
                flags: list[str], notes: list[str]) -> tuple[list[Term], dict[str, Any]]:
    """Every chip term per inference and the static attribution (``time_s``: chip time per inference)."""
    terms: list[Term] = []
    static_info: dict[str, Any] = {"model": "not modelled", "share": None, "low": None, "high": None}
    if prof.scope == "all_in":
        terms.append(_term(prof, "synops", "synop", "all_in", mean["synops"], flags))
        notes.append(f"'{prof.name}' is all-in: synops x {prof.entries['synop'].value:g} "
                     f"{prof.entries['synop'].unit}; no other term is added (static, routing and neuron "
                     "updates are inside the published figure)")
        static_info["model"] = "inside the all-in figure"
    else:
        terms += _dynamic_terms(prof, mean, flags)
        if "static_power" in prof.entries:
            term, static_info = _static_term(prof, program, static, time_s, n_chips, flags)
            terms.append(term)
        else:
            notes.append(f"'{prof.name}': static: not modelled (the profile has no static_power entry)")
    graded = prof.entries.get("synop_graded")
    if graded is not None and graded.included_in is not None and mean["synops_graded"] > 0:
        flags.append(f"'{prof.name}': {mean['synops_graded']:.6g} graded input deliveries per inference "
                     f"({100 * mean['synops_graded'] / max(mean['synops'], 1e-300):.0f} % of synops) priced as binary "
                     f"synops, a lower bound: {graded.source.split(':')[0]}")
    included = sorted({(t.entry, t.status[len("included_in:"):]) for t in terms if t.status.startswith("included")})
    if included:
        notes.append(f"'{prof.name}': priced inside another entry: "
                     + ", ".join(f"{a} (in {b})" for a, b in included))
    return terms, static_info


_COUNTER_KEYS = ("timesteps", "synops", "synops_binary", "synops_graded", "syn_mem_words_read",
                 "neuron_updates_active", "neuron_updates_idle", "spikes", "packets", "intra_tile_packets",
                 "hops_ew", "hops_ns", "hops_interchip", "input_packets")


def _counters(result: Any) -> dict[str, np.ndarray]:
    """The counters per run, plus synops per synapse unit (from ``core_steps``; all dense when absent)."""
    need = getattr(result, "require_counters", None)
    if need is not None:  # a float-twin RunResult has no chip counters: say so instead of a missing key
        need("nc.energy.estimate")
    batch = int(result.batch_size)
    out = {}
    for k in _COUNTER_KEYS:
        if k not in result.counters:
            raise ValueError(f"result.counters has no '{k}'; the energy model needs {list(_COUNTER_KEYS)}")
        v = np.asarray(result.counters[k], dtype=np.int64)
        if v.shape != (batch,):
            raise ValueError(f"result.counters['{k}'] has shape {v.shape}; expected (batch_size,) = ({batch},)")
        out[k] = v
    totals = getattr(result, "core_totals", {}) or getattr(result, "core_steps", {}) or {}
    dense = out["synops"].copy()
    for name, _, key in _UNIT_COUNTERS[1:]:
        v = (np.asarray(totals[key], np.int64).reshape(batch, -1).sum(axis=1) if key in totals
             else np.zeros(batch, np.int64))
        out[name] = v
        dense -= v
    out["synops_dense_unit"] = dense
    return out


def _dynamic_terms(prof: Profile, mean: dict[str, float], flags: list[str]) -> list[Term]:
    """Every counter x entry of :data:`CHIP_TERMS`; synops per synapse unit when the profile prices units."""
    by_unit = all(key in prof.entries for _, key, _ in _UNIT_COUNTERS[1:])
    terms = []
    for counter, key, kind in CHIP_TERMS:
        if counter == "synops" and by_unit:
            terms += [_term(prof, name, k, kind, mean[name], flags) for name, k, _ in _UNIT_COUNTERS]
        else:
            terms.append(_term(prof, counter, key, kind, mean[counter], flags))
    return terms


def _static_term(prof: Profile, program: Any, model: str, time_s: float, n_chips: int,
                 flags: list[str]) -> tuple[Term, dict[str, Any]]:
    """Static power x chip time per inference x the share ``model`` charges; its low/high corners."""
    e = prof.entry("static_power", "static energy")
    per_chip = int(program.chip.cores_per_chip)
    share, what = {"chips_used": (float(n_chips), f"{n_chips} chip(s) used"),
                   "core_fraction": (int(program.n_cores_used) / per_chip,
                                     f"{int(program.n_cores_used)}/{per_chip} of a chip's cores"),
                   "none": (0.0, "static left out")}[model]
    term = _term(prof, f"chip_time_s x {what}", "static_power", "static", time_s * share, flags)
    low = high = None
    if e.range is not None and e.priced:
        low, high = (x * UNITS[e.unit] * time_s * share for x in e.range)
    return term, {"model": model, "share": share, "low": low, "high": high}


def _samples_per_run(result: Any) -> float:
    """Inferences per simulated run: 1, or the replicas a run carried (``result.meta['samples']``)."""
    meta = getattr(result, "meta", None) or {}
    samples = meta.get("samples")
    return 1.0 if not samples else float(samples) / float(result.batch_size)


def _one_replica(result: Any, samples: int) -> Any:
    """A view of ``result`` whose program lists one replica's layers and whose batch is the samples."""
    reps = (getattr(result.program, "meta", None) or {}).get("replicas")
    if not reps and samples == int(result.batch_size):
        return result
    layers = result.program.layers
    if reps:
        keep = set(reps["projections"][0])
        layers = [lay for lay in layers if lay["name"] in keep]
    program = SimpleNamespace(layers=layers)
    return SimpleNamespace(program=program, batch_size=samples)


def _program_options(program: Any) -> dict[str, Any]:
    """The mapping choices that change the energy figures, from the Program's meta."""
    meta = getattr(program, "meta", None) or {}
    mapping = getattr(program, "mapping", None)
    reps = meta.get("replicas") or {}
    units = sorted({lay.get("synapse_unit", "dense") for lay in program.layers}) if hasattr(
        program, "layers") else []
    return {"inputs_on": "host" if mapping is None else mapping.inputs_on, "replicas": reps.get("k", 1), "synapse_units": units}


def _term(prof: Profile, counter: str, key: str, kind: str, count: float, flags: list[str]) -> Term:
    """``count x entry`` as a Term (one pricing rule for chip and dense terms)."""
    from neurocore.energy.baselines.workload import priced_term

    return priced_term(prof, counter, key, kind, count, flags)


def _latency(prof: Profile, key: str, flags: list[str]) -> float:
    e = prof.entry(key, "the chip-time model")
    if e.unpublished:
        flags.append(f"'{prof.name}': {key} is unpublished; chip time leaves it out")
    return e.si


def _tiles_of(program: Any) -> np.ndarray | None:
    """Physical tile of every used core slot, from the placement (None when the program has none)."""
    ids = getattr(program, "core_ids", None)
    return None if ids is None else program.chip.tile_of(np.asarray(ids, np.int64))


def _chips_used(program: Any) -> int:
    """Chips the placement touches (a program without ``core_ids``: ceil(cores / cores per chip))."""
    chip = program.chip
    if int(chip.n_chips) <= 1:
        return 1
    ids = getattr(program, "core_ids", None)
    if ids is None:
        return max(1, min(int(chip.n_chips), math.ceil(int(program.n_cores_used) / int(chip.cores_per_chip))))
    return chip.chips_used(ids)


def _n_tiles(program: Any) -> int:
    """Tiles holding at least one used core (placement), else ceil(cores / cores per tile)."""
    tiles = _tiles_of(program)
    if tiles is None:
        return max(1, math.ceil(int(program.n_cores_used) / int(program.chip.cores_per_tile)))
    return max(1, int(np.unique(tiles).size))


def _core_arrays(result: Any, keys: tuple[str, ...]) -> tuple[np.ndarray, ...]:
    steps, link = result.core_steps, np.asarray(result.busiest_link)
    neurons = np.asarray(result.program.neurons_per_core_used, dtype=np.float64)
    out = []
    for k in keys:
        if k not in steps:
            raise ValueError(f"result.core_steps has no '{k}'; this chip-time model needs {list(keys)}")
        a = np.asarray(steps[k], dtype=np.float64)
        if a.ndim != 3 or a.shape[2] != neurons.shape[0] or a.shape[:2] != link.shape:
            raise ValueError(f"core_steps['{k}'] {a.shape}, busiest_link {link.shape} and neurons_per_core_used "
                             f"{neurons.shape} disagree; expected (batch, n_steps, n_cores_used)")
        out.append(a)
    return (*out, neurons)


def core_timing(chip: str | dict | Profile = "loihi", timing: str | None = None,
                flags: list[str] | None = None) -> CoreTiming:
    """The per-core part of a profile's chip-time model, for ``Simulator.run(..., chip_time=)``.

    The kernel then sums, per sample, each step's slowest-core work under this model, so
    :func:`estimate` needs no per-step per-core table (``record="core_steps"``). Models:

    - ``neurocore``: synops x synop_latency + active x neuron_update_active_latency
      + idle x neuron_update_idle_latency (one form);
    - ``sanafe-simple`` (SANA-FE's ``schedule_messages_timestep_simple``): neuron processing
      and message generation = neurons x neuron_access_latency + active x
      neuron_update_latency + spikes x spike_out_latency + packets_out x packet_latency;
      message processing = packets_in x message_in_latency + synops of each synapse
      unit x its latency. A step charges the larger of the two slowest cores.

    Raises :class:`ProfileError` for a profile with a fixed ``step_time`` (it needs no per-core
    counters), an unknown timing model or a missing latency.
    """
    prof = load_profile(chip)
    timing = timing or prof.timing
    if timing not in _CORE_FORMS:
        raise ProfileError(f"timing = {timing!r}; choose one of {TIMING_MODELS}")
    if "step_time" in prof.entries:
        raise ProfileError(f"profile '{prof.name}' has a fixed step_time: its chip time needs no per-core counters")
    lat = {k: _latency(prof, k, flags if flags is not None else []) for k in _CORE_FORMS[timing][0]}
    first, second = ({term: sum(lat[k] for k in keys) for term, keys in form.items()}
                     for form in _CORE_FORMS[timing][1:])
    return CoreTiming(f"{prof.name}/{timing}", tuple(first.get(t, 0.0) for t in TERMS),
                      tuple(second.get(t, 0.0) for t in TERMS))


#: Per timing model: the latencies it reads, then its two forms as {term: latencies summed}.
_CORE_FORMS: dict[str, tuple[tuple[str, ...], dict, dict]] = {
    "neurocore": (("synop_latency", "neuron_update_active_latency", "neuron_update_idle_latency"),
                  {"synops": ("synop_latency",), "updates_active": ("neuron_update_active_latency",),
                   "updates_idle": ("neuron_update_idle_latency",)}, {}),
    "sanafe-simple": (("neuron_access_latency", "neuron_update_latency", "spike_out_latency", "packet_latency",
                       "message_in_latency", "synop_latency", "synop_sparse_latency", "synop_conv_latency"),
                      {"neurons": ("neuron_access_latency",), "updates_active": ("neuron_update_latency",),
                       "spikes": ("spike_out_latency",), "packets_out": ("packet_latency",)},
                      {"packets_in": ("message_in_latency",), "synops_dense": ("synop_latency",),
                       "synops_sparse": ("synop_sparse_latency",), "synops_conv": ("synop_conv_latency",)}),
}


def _timing_sums(result: Any, timing: CoreTiming, timesteps: np.ndarray) -> np.ndarray:
    """(batch, 2) seconds of the model's two forms: the kernel's sums, else from ``core_steps``."""
    batch = int(result.batch_size)
    sums = (getattr(result, "chip_time", None) or {}).get(timing.key)
    if sums is not None:
        sums = np.asarray(sums, np.float64)
        if sums.shape != (batch, 2):
            raise ValueError(f"result.chip_time[{timing.name!r}] has shape {sums.shape}; expected ({batch}, 2)")
        return sums
    if getattr(result, "core_steps", None):
        steps = dict(zip(CORE_STEP_NAMES, _core_arrays(result, CORE_STEP_NAMES)[:-1]))
        return evaluate(steps, result.program.neurons_per_core_used, timing, timesteps)
    raise ChipTimeError(f"this result holds neither per-step per-core counters nor chip-time sums for "
                        f"'{timing.name}', which estimate() needs: re-run with Simulator(program).run(..., "
                        f"chip_time=nc.energy.core_timing({timing.name.split('/')[0]!r}"
                        f"{', timing=' + repr(timing.name.split('/')[1]) if '/' in timing.name else ''})) "
                        "(or record='core_steps' to keep the full table)")


def _chip_time_sanafe(result: Any, prof: Profile, timesteps: np.ndarray, flags: list[str]) -> tuple[np.ndarray, dict]:
    """SANA-FE's ``simple`` timing, per step (schedule.cpp, ``schedule_messages_timestep_simple``)::

        max( max over cores of generation, max over cores of message processing ) + sync(tiles used)

    (the two forms: :func:`core_timing`). Sync is the table value at the largest key <=
    tiles holding a used core (input cores included).
    """
    sums = _timing_sums(result, core_timing(prof, "sanafe-simple", flags), timesteps)
    sync = _sync_latency(prof.entry("barrier_sync_latency", "the chip-time model"), result.program, flags,
                         prof.name, step=True)
    charged = np.minimum(np.asarray(timesteps), np.shape(result.busiest_link)[1])
    parts = {"neuron_processing": sums[:, 0], "message_processing": sums[:, 1], "sync": charged * sync}
    times = parts["neuron_processing"] + parts["message_processing"] + parts["sync"]
    return times, {k: float(np.mean(v)) for k, v in parts.items()}


def _chip_time(result: Any, prof: Profile, timesteps: np.ndarray, flags: list[str]) -> tuple[np.ndarray, dict]:
    """Chip time per sample (s), and its mean split into compute / congestion / sync."""
    if "step_time" in prof.entries:
        t = _latency(prof, "step_time", flags)
        times = timesteps.astype(np.float64) * t
        return times, {"step_time": float(np.mean(times))}
    t_ew, t_ns = (_latency(prof, k, flags) for k in _STEP_LATENCY[3:5])
    sums = _timing_sums(result, core_timing(prof, "neurocore", flags), timesteps)
    link = np.asarray(result.busiest_link, dtype=np.float64)
    if link.shape != (int(result.batch_size), int(result.n_steps)):
        raise ValueError(f"busiest_link has shape {link.shape}; expected (batch, n_steps)")
    congestion = link * max(t_ew, t_ns)
    sync_e = prof.entry("barrier_sync_latency", "the chip-time model")
    sync = _sync_latency(sync_e, result.program, flags, prof.name)
    mask = np.arange(link.shape[1])[None, :] < timesteps[:, None]
    parts = {"compute": sums[:, 0] + sums[:, 1], "congestion": (congestion * mask).sum(axis=1),
             "sync": mask.sum(axis=1) * sync}
    times = parts["compute"] + parts["congestion"] + parts["sync"]
    return times, {k: float(np.mean(v)) for k, v in parts.items()}


_TIMING_NOTES = {
    "neurocore": "chip time per step = slowest core (synops, active and idle updates, serial) "
                 "+ busiest-link packets x max hop latency + barrier sync (interpolated in tiles used); summed over "
                 "steps",
    "sanafe-simple": "chip time per step = SANA-FE 'simple': max(slowest core's neuron processing and message "
                     "generation, slowest core's message receipt and synapse processing) + barrier sync (table "
                     "step lookup by tiles used); no network contention, no per-core queues",
}


def _sync_latency(e: Entry, program: Any, flags: list[str], name: str, step: bool = False) -> float:
    """Barrier-sync latency per step (s) from the entry's table by tiles used: interpolated
    linearly, or (``step``) looked up as SANA-FE does."""
    if e.unpublished:
        flags.append(f"'{name}': barrier_sync_latency is unpublished; chip time leaves it out")
        return 0.0
    if e.table is None:
        return e.si
    tiles = _n_tiles(program)
    xs, ys = zip(*e.table)
    if step:  # SANA-FE's lookup: the value at the largest key <= tiles (the first value below all keys)
        i = int(np.searchsorted(xs, tiles, side="right")) - 1
        return ys[max(i, 0)] * UNITS[e.unit]
    return float(np.interp(tiles, xs, ys)) * UNITS[e.unit]


_CHIP_TIME = {"neurocore": _chip_time, "sanafe-simple": _chip_time_sanafe}


def _break_even(b_energy: float | None, fixed: float, activity: float, notes: list[str]) -> float | None:
    """Activity scale at which the chip's energy equals the baseline's (None: no baseline, or never)."""
    notes.append("break-even: activity-dependent terms (synops, memory reads, active updates, spikes, packets, "
                 "hops) scaled linearly together; idle updates, input, sync and static energy held fixed")
    if b_energy is None or activity <= 0:
        return None
    scale = (b_energy - fixed) / activity
    if scale < 0:
        notes.append(f"the fixed chip energy ({fixed:.4g} J) alone exceeds the baseline ({b_energy:.4g} J): "
                     "no activity level breaks even")
        return None
    return scale


def _split(energy: float, static_J: float, info: dict[str, Any], b_energy: float | None) -> dict[str, Any]:
    """The dynamic / static fields of the report, with the static range's corners and their ratios."""
    dynamic = energy - static_J
    low = None if info["low"] is None else dynamic + info["low"]
    high = None if info["high"] is None else dynamic + info["high"]
    return {"dynamic_energy_J": dynamic, "static_energy_J": static_J, "static_model": info["model"],
            "static_share": info["share"], "static_low_J": info["low"], "static_high_J": info["high"],
            "energy_low_J": low, "energy_high_J": high, "ratio_dynamic_vs_baseline": _div(dynamic, b_energy),
            "ratio_vs_baseline_low": None if low is None else _div(low, b_energy),
            "ratio_vs_baseline_high": None if high is None else _div(high, b_energy)}


def _dominant(breakdown: dict[str, float], static_info: dict[str, Any], first: dict, batch: int,
              per_run: float) -> str:
    """One sentence: which modelling choice moves the chip's figure (and its ratio) most."""
    total = sum(breakdown.values())
    if total <= 0:
        return "no energy was counted"
    static = breakdown.get("static", 0.0)
    dyn = total - static
    kind, top = max(((k, v) for k, v in breakdown.items() if k != "static"), key=lambda kv: kv[1],
                    default=("none", 0.0))
    share = f"{per_run:g} sample(s) per run" if per_run != 1 else "one sample per run"
    if static_info["model"] in ("not modelled", "inside the all-in figure"):
        head = f"static: {static_info['model']}; the largest dynamic term is {kind} ({100 * top / total:.0f} %)"
    elif static > dyn:
        head = (f"the static-power attribution dominates: {100 * static / total:.0f} % of the energy is static "
                f"(static='{static_info['model']}', {share}); dynamic alone is {dyn / total:.3g}x the total")
        if static_info["low"] is not None:
            head += (f"; across the published static range the total spans "
                     f"{(dyn + static_info['low']) / total:.3g}-{(dyn + static_info['high']) / total:.3g}x")
    else:
        head = (f"dynamic energy dominates ({100 * dyn / total:.0f} %), led by {kind} ({100 * top / total:.0f} %); "
                f"static='{static_info['model']}' adds {100 * static / total:.0f} %")
    if first:
        b1, thr = first["batch1"], first["throughput"]
        head += (f"; against '{thr.profile}' the total ratio is {_num(b1.ratio)}x at batch 1 and "
                 f"{_num(thr.ratio)}x at batch {batch} (dynamic vs dynamic: {_num(b1.dynamic_ratio)}x and "
                 f"{_num(thr.dynamic_ratio)}x)")
    return head


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


#: The per-core counters of ``RunResult.core_steps``, in ``neurocore.sim.CORE_STEP_KEYS`` order.
CORE_STEP_NAMES = TERMS[:7]

#: Shipped chip profiles whose chip-time models (each timing model they have the latencies for)
#: every run keeps by default.
DEFAULT_TIMING_PROFILES = ("loihi", "loihi-sanafe", "truenorth-per-term")


@functools.lru_cache(maxsize=1)
def _shipped_timings() -> tuple[CoreTiming, ...]:
    out = []
    for name in DEFAULT_TIMING_PROFILES:
        prof = load_profile(name)
        if "step_time" in prof.entries or prof.scope != "per_term":
            continue
        for timing in TIMING_MODELS:  # every model the profile has the latencies for
            try:
                out.append(core_timing(prof, timing))
            except ProfileError:
                continue
    return tuple(out)


register_defaults(_shipped_timings)
