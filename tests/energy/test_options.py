"""Named energy options: each changes exactly the terms it names, computed here by hand."""
import numpy as np
import pytest
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.energy import EnergyReport, estimate
from neurocore.errors import MappingError, ProfileError
from neurocore.mapping.replicate import replicate, sample_spike_counts

from .test_estimate import CORE_ACTIVE, CORE_MORE, CORE_SYNOPS, NEURONS, fake_result

REL = 1e-12
pJ, ns = 1e-12, 1e-9


def _terms(r):
    return {t.counter: t.energy_J for t in r.terms}


def test_static_models_change_only_the_static_term():
    res = fake_result()
    full = estimate(res, "loihi", None, static="chips_used")
    frac = estimate(res, "loihi", None, static="core_fraction")
    none = estimate(res, "loihi", None, static="none")
    t = full.latency_s
    assert full.static_energy_J == pytest.approx(0.104 * t, rel=REL)
    assert frac.static_energy_J == pytest.approx(0.104 * t * 2 / 128, rel=REL)   # 2 of 128 cores
    assert none.static_energy_J == 0.0
    for r in (full, frac, none):
        assert r.dynamic_energy_J == pytest.approx(full.dynamic_energy_J, rel=REL)
        assert r.energy_per_inference_J == pytest.approx(r.dynamic_energy_J + r.static_energy_J, rel=REL)
        assert r.latency_s == t
        dyn = {k: v for k, v in _terms(r).items() if not k.startswith("chip_time")}
        assert dyn == {k: v for k, v in _terms(full).items() if not k.startswith("chip_time")}
    assert (full.static_model, frac.static_model, none.static_model) == ("chips_used", "core_fraction", "none")
    # corners from the profile's published range 0.029-0.104 W
    assert full.static_low_J == pytest.approx(0.029 * t, rel=REL)
    assert full.static_high_J == pytest.approx(0.104 * t, rel=REL)
    assert full.energy_low_J == pytest.approx(full.dynamic_energy_J + 0.029 * t, rel=REL)
    assert none.static_low_J == 0.0
    with pytest.raises(ProfileError, match="static"):
        estimate(res, "loihi", None, static="half")


def test_ratios_for_dynamic_and_total():
    r = estimate(fake_result(), "loihi", "gpu-h100")
    b = r.baseline_energy_per_inference_J
    assert r.ratio_vs_baseline == pytest.approx(r.energy_per_inference_J / b, rel=REL)
    assert r.ratio_dynamic_vs_baseline == pytest.approx(r.dynamic_energy_J / b, rel=REL)
    assert r.ratio_vs_baseline_low == pytest.approx(r.energy_low_J / b, rel=REL)
    assert r.ratio_vs_baseline_high == pytest.approx(r.energy_high_J / b, rel=REL)
    assert "static" in r.dominant_assumption and "batch 2" in r.dominant_assumption
    assert r.options["static"] == "chips_used" and r.options["timing"] == "neurocore"
    assert EnergyReport.from_json(r.to_json()) == r


def test_sanafe_simple_timing_by_hand():
    r = estimate(fake_result(), "loihi-sanafe", None)
    assert r.timing_model == "sanafe-simple"
    total = 0.0
    for b in range(2):
        for s in range(3):
            gen = [NEURONS[c] * 6.0 + CORE_ACTIVE[b][s][c] * 3.7 + CORE_MORE["spikes"][b][s][c] * 30.0
                   + CORE_MORE["packets_out"][b][s][c] * 5.1 for c in range(2)]
            proc = [CORE_MORE["packets_in"][b][s][c] * 16.0 + CORE_SYNOPS[b][s][c] * 3.8 for c in range(2)]
            total += (max(max(gen), max(proc)) + 600) * ns      # 2 cores, no placement -> 1 tile -> 0.6 us
    assert r.latency_s == pytest.approx(total / 2, rel=REL)
    assert sum(r.latency_breakdown_s.values()) == pytest.approx(r.latency_s, rel=REL)


def test_synapse_units_priced_apart():
    res = fake_result()
    res.core_steps = dict(res.core_steps, synops_sparse=np.ones((2, 3, 2), np.int32),
                          synops_conv=np.full((2, 3, 2), 2, np.int32))
    r = estimate(res, "loihi-sanafe", None)
    t = _terms(r)
    assert t["synops_sparse_unit"] == pytest.approx(6 * 33.6 * pJ, rel=REL)
    assert t["synops_conv_unit"] == pytest.approx(12 * 24.0 * pJ, rel=REL)
    assert t["synops_dense_unit"] == pytest.approx((120 - 18) * 35.5 * pJ, rel=REL)
    # a profile without unit entries prices every synop at 'synop'
    assert _terms(estimate(res, "loihi", None))["synops"] == pytest.approx(120 * 23.6 * pJ, rel=REL)


def test_syn_memory_priced_per_word_when_the_profile_says_so():
    """Fewer weight bits -> fewer 64-bit words read -> less energy, only where a profile prices words."""
    prof = nc.energy.load_profile("loihi").to_dict()
    prof["name"] = "loihi-words"
    prof["entries"]["syn_mem_word_read"] = {"value": 5.0, "unit": "pJ", "source": "test: a made-up word price"}
    rng = np.random.default_rng(1)
    w = rng.integers(1, 7, (40, 60))
    energies = []
    for bits in (8, 4):
        chip = nc.chip.ChipSpec(name=f"w{bits}", weight_bits=bits)
        g = nc.Graph()
        x = g.input(60, name="x")
        g.dense(x, w, nc.IF(vth=200), name="h")
        r = nc.Simulator(nc.compile(g, chip)).run((rng.random((1, 10, 60)) < 0.3).astype(np.int32), 10)
        rep = estimate(r, prof, None)
        words = r.totals()["syn_mem_words_read"]
        assert _terms(rep)["syn_mem_words_read"] == pytest.approx(words * 5 * pJ, rel=REL)
        energies.append((words, _terms(rep)["syn_mem_words_read"]))
    assert energies[1][0] < energies[0][0] and energies[1][1] < energies[0][1]


def _lenet_like():
    rng = np.random.default_rng(0)
    g = nc.Graph()
    x = g.input(64, name="x")
    h = g.dense(x, rng.integers(1, 5, (300, 64)), nc.IF(vth=300), name="h")
    g.dense(h, rng.integers(1, 5, (10, 300)), nc.IF(vth=300), name="o")
    return g


def test_chips_counted_from_the_placement():
    """A network on 4 cores spread over a 2x2 board of 2-core chips: static is charged for the chips touched."""
    chip = nc.chip.ChipSpec(name="board", tiles_x=1, tiles_y=1, cores_per_tile=2, chips_x=2, chips_y=2,
                            neurons_per_core=100)
    p = nc.compile(_lenet_like(), chip, placement="in_order")
    tiles = p.core_ids // chip.cores_per_tile
    chips = np.unique((tiles // chip.mesh_x) * chip.chips_x + tiles % chip.mesh_x)
    r = nc.Simulator(p).run(np.ones((1, 5, 64), np.int32), 5)
    rep = estimate(r, "loihi", None)
    assert rep.n_chips_used == chips.size == p.mapping.n_chips_used
    assert rep.static_energy_J == pytest.approx(0.104 * chips.size * rep.latency_s, rel=REL)


def test_replicas_run_each_sample_on_its_own_copy():
    rng = np.random.default_rng(2)
    chip = nc.chip.ChipSpec(name="c", tiles_x=4, tiles_y=2, cores_per_tile=2, neurons_per_core=16)
    g = nc.Graph()
    x = g.input(20, name="x")
    h = g.dense(x, rng.integers(-3, 8, (24, 20)), nc.IF(vth=100), name="h")
    g.dense(h, rng.integers(-3, 8, (5, 24)), nc.IF(vth=100), name="o")
    X = (rng.random((7, 12, 20)) < 0.3).astype(np.int32)
    one = nc.Simulator(nc.compile(g, chip)).run(X, 12)
    p = nc.compile(g, chip, replicas=3)
    assert p.meta["replicas"]["k"] == 3 and p.n_inputs == 60
    r = nc.Simulator(p).run(X, 12)
    assert r.batch_size == 3 and r.meta["samples"] == 7          # runs of 3, 3 and 1 sample(s)
    for name, counts in sample_spike_counts(r).items():
        assert_array_equal(counts, one.spike_counts[name])
    # the same synaptic events; the last run's 2 spare replicas add their idle updates; routing follows
    # where the copies were placed (it is simulated, not copied)
    e1, e3 = estimate(one, "loihi", "gpu-h100", static="none"), estimate(r, "loihi", "gpu-h100", static="none")
    idle_extra = 2 * 12 * 29 * 52 * pJ / 7                        # 2 spare replicas x 12 steps x 29 neurons
    assert e3.breakdown_J["synaptic_ops"] == pytest.approx(e1.breakdown_J["synaptic_ops"], rel=1e-12)
    assert e3.breakdown_J["neuron_updates"] == pytest.approx(e1.breakdown_J["neuron_updates"] + idle_extra, rel=1e-12)
    hops = r.totals()
    assert e3.breakdown_J["routing"] == pytest.approx((hops["intra_tile_packets"] * 1.7 + hops["hops_ew"] * 3.0
                                                       + hops["hops_ns"] * 4.0) * pJ / 7, rel=1e-12)
    assert e3.baseline_energy_per_inference_J == e1.baseline_energy_per_inference_J
    assert e3.batch_size == 7 and e3.samples_per_run == pytest.approx(7 / 3)
    # static: the run's chip time shared by the samples it carried
    s3 = estimate(r, "loihi", None)
    assert s3.static_energy_J == pytest.approx(0.104 * s3.latency_s * 3 / 7, rel=REL)
    fill = nc.compile(g, chip, replicas="fill")
    assert fill.meta["replicas"]["k"] == chip.n_cores // nc.compile(g, chip).n_cores_used
    with pytest.raises(MappingError, match="replicas"):
        nc.compile(g, chip, replicas=0)
    with pytest.raises(MappingError, match="already replicated"):
        nc.compile(replicate(g, 2), chip, replicas=2)


def test_graded_inputs_on_loihi1_are_flagged_as_a_lower_bound():
    r = estimate(fake_result(), "loihi", None)
    assert any("20 graded input deliveries" in f and "lower bound" in f for f in r.flags)
    assert _terms(r)["synops"] == pytest.approx(120 * 23.6 * pJ, rel=REL)     # graded priced as binary
    no_graded = dict(__import__("tests.energy.test_estimate", fromlist=["COUNTERS"]).COUNTERS, synops_graded=[0, 0])
    assert not any("graded" in f for f in estimate(fake_result(counters=no_graded), "loihi", None).flags)


def test_table_says_dynamic_static_and_what_dominates():
    text = estimate(fake_result(), "loihi", "gpu-h100").table()
    for s in ("dynamic energy / inference", "static energy / inference", "static model", "chip / baseline (dynamic)",
              "what drives the ratio"):
        assert s in text
    assert "static: not modelled" in estimate(fake_result(), "loihi-sanafe", None).table()


def test_inputs_on_changes_only_routing_terms():
    """inputs_on='cores' adds the input packets' hops and intra-tile deliveries; every other term is unchanged."""
    rng = np.random.default_rng(4)
    chip = nc.chip.ChipSpec(name="c", tiles_x=4, tiles_y=2, cores_per_tile=2, neurons_per_core=16)
    g = nc.Graph()
    x = g.input(20, name="x")
    g.dense(x, rng.integers(1, 8, (24, 20)), nc.IF(vth=100), name="h")
    X = (rng.random((2, 10, 20)) < 0.3).astype(np.int32)
    host = nc.Simulator(nc.compile(g, chip, placement="in_order")).run(X, 10)
    cores = nc.Simulator(nc.compile(g, chip, placement="in_order", inputs_on="cores")).run(X, 10)
    a, b = estimate(host, "loihi", None, static="none"), estimate(cores, "loihi", None, static="none")
    ta, tb = _terms(a), _terms(b)
    changed = {k for k in ta if ta[k] != pytest.approx(tb[k], rel=1e-12, abs=0)}
    assert changed <= {"intra_tile_packets", "hops_ew", "hops_ns"} and changed
    c = cores.totals()
    assert tb["hops_ew"] == pytest.approx(c["hops_ew"] / 2 * 3.0 * pJ, rel=REL)
    assert host.totals()["input_packets"] == c["input_packets"]
    assert host.totals()["hops_ew"] + host.totals()["hops_ns"] == 0 < c["hops_ew"] + c["hops_ns"]
