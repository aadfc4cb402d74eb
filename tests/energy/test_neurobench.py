"""neurobench_metrics(): exact NeuroBench keys, values by hand from the fake run."""
import json
import math

import pytest

from neurocore.energy import estimate, neurobench_metrics

from .test_estimate import COUNTERS, fake_result

REL = 1e-12


def test_keys_are_exactly_neurobench():
    m = neurobench_metrics(fake_result())
    assert set(m) == {"Footprint", "ConnectionSparsity", "ClassificationAccuracy", "ActivationSparsity",
                      "MembraneUpdates", "SynapticOperations", "neurocore_hardware"}
    assert set(m["SynapticOperations"]) == {"Effective_MACs", "Effective_ACs", "Dense"}
    json.dumps(m)


def test_values_by_hand():
    m = neurobench_metrics(fake_result(), accuracy=0.75)
    # weights: 150 x 8 bits + 10 x 4 bits = 1240 bits = 155 B; state: 15 neurons x (24 + 24) bits = 90 B
    assert m["Footprint"] == 155 + 90
    assert m["ConnectionSparsity"] == round(1 - 160 / 225, 4)
    assert m["ClassificationAccuracy"] == 0.75
    assert m["ActivationSparsity"] == pytest.approx(1 - 12 / (15 * 6), rel=REL)
    assert m["MembraneUpdates"] == 12
    ops = m["SynapticOperations"]
    assert (ops["Effective_MACs"], ops["Effective_ACs"], ops["Dense"]) == (20, 100, 225 * 3)
    hw = m["neurocore_hardware"]
    assert hw["neuron_spikes"] == 6 and hw["synaptic_events"] == 120 and hw["noc_packets"] == 7
    assert hw["noc_hops"] == 6.5 and hw["footprint_weight_bytes"] == 155 and hw["footprint_state_bytes"] == 90
    assert "energy_J" not in hw


def test_accuracy_from_result_or_none():
    assert neurobench_metrics(fake_result(accuracy=0.5))["ClassificationAccuracy"] == 0.5
    assert neurobench_metrics(fake_result(accuracy=0.5), accuracy=0.9)["ClassificationAccuracy"] == 0.9
    assert neurobench_metrics(fake_result())["ClassificationAccuracy"] is None


def test_hardware_energy_under_its_own_key():
    m = neurobench_metrics(fake_result(), chip="loihi")
    r = estimate(fake_result(), chip="loihi", baseline=None)
    hw = m["neurocore_hardware"]
    assert hw["energy_J"] == r.energy_per_inference_J and hw["latency_s"] == r.latency_s
    assert hw["energy_per_synaptic_event_J"] == pytest.approx(r.energy_per_inference_J / 120, rel=REL)
    assert hw["chip_profile"] == "loihi"


def test_silent_run():
    c = {k: [0, 0] for k in COUNTERS}
    m = neurobench_metrics(fake_result(counters=c))
    assert m["ActivationSparsity"] == 1.0 and m["SynapticOperations"]["Dense"] == 0.0
    assert not math.isnan(m["MembraneUpdates"])
