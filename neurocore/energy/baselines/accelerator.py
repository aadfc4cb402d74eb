"""Dense accelerator with an explicit memory hierarchy (``model = "memory_hierarchy"``).

Energy per inference at batch ``B``::

    E = MACs x mac_<precision>
      + weight words (64 b) per inference x E(level holding all weights)
      + activation words (64 b) per inference x E(level holding the batch's largest layer in + out)

Weights are read once per evaluation per batch (shared by the batch), so the
weight term falls as ``1/B``; the activation level is chosen by the batch's
working set (a layer-at-a-time schedule keeps one layer's inputs and outputs for
the whole batch on chip), so a large batch may move activations to a dearer
level. Writes are priced as reads. No published throughput: no latency.
"""
from __future__ import annotations

from neurocore.energy.baselines.workload import BaselineResult, DenseWorkload, priced_term
from neurocore.energy.profiles import Profile

__all__ = ["memory_hierarchy"]


def _level(prof: Profile, nbytes: float) -> str:
    for key, cap in prof.memory_levels:
        if cap is None or nbytes <= cap:
            return key
    return prof.memory_levels[-1][0]


def memory_hierarchy(prof: Profile, work: DenseWorkload, batch: int, regime: str) -> BaselineResult:
    """Price ``work`` at batch ``batch`` on a memory-hierarchy profile (see the module docstring)."""
    flags: list[str] = []
    prec = work.precision
    w_stored, a_set = work.weight_bytes_stored(), work.act_working_set(batch)
    w_level, a_level = _level(prof, w_stored), _level(prof, a_set)
    terms = [priced_term(prof, f"dense_macs ({prec})", f"mac_{prec}", "macs", work.macs, flags),
             priced_term(prof, "weight_words_64b", w_level, "weight_reads",
                         work.weight_bytes_per_inference(batch) / 8, flags),
             priced_term(prof, "activation_words_64b", a_level, "activation_reads_writes",
                         work.act_bytes_per_inference() / 8, flags)]
    notes = [f"'{prof.name}' at batch {batch}: weights ({w_stored:.6g} B) priced at {w_level}; activations "
             f"(largest layer in+out for the batch, {a_set:.6g} B) at {a_level}; writes priced as reads"]
    flags.append(f"'{prof.name}': no published throughput; baseline latency not estimated")
    breakdown: dict[str, float] = {}
    for t in terms:
        breakdown[t.kind] = breakdown.get(t.kind, 0.0) + t.energy_J
    energy = float(sum(t.energy_J for t in terms))
    return BaselineResult(profile=prof.name, model=prof.model or "memory_hierarchy", regime=regime, batch_size=batch,
                          precision=prec, energy_per_inference_J=energy,
                          dynamic_energy_per_inference_J=energy,  # per-op energies only: no idle term
                          time_per_inference_s=None, latency_s=None, lower_bound_J=None, breakdown_J=breakdown,
                          terms=tuple(terms), flags=tuple(flags), notes=tuple(notes) + work.notes)
