"""NeuroBench-compatible metrics from a run's exact counters.

NeuroBench (2.3.0, ``neurobench/metrics``) reports, per sample:
``Footprint``, ``ConnectionSparsity``, ``ActivationSparsity``, ``MembraneUpdates``,
``ClassificationAccuracy`` and ``SynapticOperations`` =
``{"Effective_MACs", "Effective_ACs", "Dense"}``. This module fills exactly those
keys from neurocore's counters, and puts neurocore's hardware figures under their
own key, ``neurocore_hardware``, so the NeuroBench keys stay comparable.

How each key is counted here
----------------------------
Footprint (bytes)
    Stored weights at their fixed-point width, ``ceil(sum(synapses x weight_bits) / 8)``,
    plus neuron state, ``ceil(neurons x (u_bits + v_bits) / 8)``. NeuroBench counts
    torch parameters and buffers at their dtype; synapse-table index bits and
    per-neuron parameters are not counted here.
ConnectionSparsity
    ``1 - sum(synapses) / sum(dense_macs)``, rounded to 4 decimals as NeuroBench
    does (absent synapses count as zeros; for a conv the denominator is the
    expanded connection count, not the kernel size).
ActivationSparsity
    ``1 - sum(spikes) / sum(neurons x timesteps)`` over the batch: the fraction of
    (neuron, step) outputs that are zero. External inputs are not neurons.
MembraneUpdates
    Mean ``neuron_updates_active`` per sample: (neuron, step) pairs that received
    input or spiked. NeuroBench counts membranes that changed, plus every neuron at
    the first step; a leaking idle neuron changes too, so this can be lower.
ClassificationAccuracy
    ``accuracy`` if given, else ``result.accuracy_value`` if present, else None.
SynapticOperations
    ``Effective_ACs`` = mean ``synops_binary`` (deliveries of binary spikes);
    ``Effective_MACs`` = mean ``synops_graded`` (deliveries of graded values);
    ``Dense`` = ``sum(dense_macs) x mean timesteps``: every (source, target) pair of
    every projection at every step, as NeuroBench's hooks count a layer per step.
    Biases and pooling are not counted (as in NeuroBench).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["NEUROBENCH_KEYS", "neurobench_metrics"]

NEUROBENCH_KEYS = ("Footprint", "ConnectionSparsity", "ClassificationAccuracy", "ActivationSparsity",
                   "MembraneUpdates", "SynapticOperations")


def neurobench_metrics(result: Any, accuracy: float | None = None, chip: Any = None) -> dict[str, Any]:
    """NeuroBench metric dict for one run.

    Parameters
    ----------
    result : RunResult-like
        Needs ``counters``, ``program.layers``, ``program.neurons_per_core_used``
        and ``program.chip`` (``u_bits``, ``v_bits``); see :func:`neurocore.energy.estimate`.
    accuracy : float, optional
        Classification accuracy in [0, 1]; defaults to ``result.accuracy_value``.
    chip : str, dict or Profile, optional
        If given, ``neurocore_hardware`` also holds energy and latency from
        :func:`neurocore.energy.estimate` on this chip profile.

    Returns
    -------
    dict
        The NeuroBench keys (per sample) plus ``neurocore_hardware``.
    """
    c = result.counters
    prog = result.program
    layers = prog.layers
    n_neurons = int(np.sum(prog.neurons_per_core_used))
    weight_bits = sum(int(lay["synapses"]) * int(lay["weight_bits"]) for lay in layers)
    weight_bytes = math.ceil(weight_bits / 8)
    state_bytes = math.ceil(n_neurons * (int(prog.chip.u_bits) + int(prog.chip.v_bits)) / 8)
    synapses = sum(int(lay["synapses"]) for lay in layers)
    dense_pairs = sum(int(lay["dense_macs"]) for lay in layers)
    steps = np.asarray(c["timesteps"], dtype=np.int64)
    outputs = n_neurons * int(steps.sum())
    spikes_total = int(np.sum(c["spikes"]))
    if accuracy is None:
        accuracy = getattr(result, "accuracy_value", None)
    metrics: dict[str, Any] = {
        "Footprint": weight_bytes + state_bytes,
        "ConnectionSparsity": round(1.0 - synapses / dense_pairs, 4) if dense_pairs else 0.0,
        "ClassificationAccuracy": None if accuracy is None else float(accuracy),
        "ActivationSparsity": 1.0 - spikes_total / outputs if outputs else 1.0,
        "MembraneUpdates": float(np.mean(c["neuron_updates_active"])),
        "SynapticOperations": {
            "Effective_MACs": float(np.mean(c["synops_graded"])),
            "Effective_ACs": float(np.mean(c["synops_binary"])),
            "Dense": float(dense_pairs * np.mean(steps)),
        },
    }
    hops = (np.asarray(c["hops_ew"], dtype=np.int64) + np.asarray(c["hops_ns"], dtype=np.int64))
    hw: dict[str, Any] = {
        "footprint_weight_bytes": weight_bytes,
        "footprint_state_bytes": state_bytes,
        "neurons": n_neurons,
        "timesteps": float(np.mean(steps)),
        "neuron_spikes": float(np.mean(c["spikes"])),
        "synaptic_events": float(np.mean(c["synops"])),
        "noc_packets": float(np.mean(c["packets"])),
        "noc_hops": float(np.mean(hops)),
    }
    if chip is not None:
        from neurocore.energy._estimate import estimate

        rep = estimate(result, chip=chip, baseline=None)
        hw.update({"chip_profile": rep.chip_profile, "energy_J": rep.energy_per_inference_J,
                   "latency_s": rep.latency_s, "energy_per_synaptic_event_J": rep.energy_per_synop_J})
    metrics["neurocore_hardware"] = hw
    return metrics
