"""estimate(): every figure equals counters x profile entries, computed here by hand."""
import copy
import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from neurocore.chip.spec import ChipSpec
from neurocore.energy import EnergyReport, estimate, load_profile
from neurocore.errors import ProfileError

REL = 1e-12
pJ, ns = 1e-12, 1e-9

COUNTERS = {"timesteps": [3, 3], "synops": [100, 140], "synops_binary": [80, 120], "synops_graded": [20, 20],
            "syn_mem_words_read": [30, 40], "neuron_updates_active": [10, 14], "neuron_updates_idle": [35, 31],
            "spikes": [5, 7], "packets": [6, 8], "intra_tile_packets": [2, 3], "hops_ew": [4, 6], "hops_ns": [1, 2],
            "hops_interchip": [0, 0], "input_packets": [9, 9], "overflow_u": [0, 0], "overflow_v": [0, 0]}
# (batch=2, steps=3, cores=2)
CORE_SYNOPS = [[[20, 10], [30, 5], [25, 10]], [[40, 10], [30, 20], [20, 20]]]
CORE_ACTIVE = [[[3, 1], [2, 1], [2, 1]], [[4, 2], [3, 1], [2, 2]]]
BUSIEST = [[2, 1, 0], [3, 0, 1]]
# the per-core arrays SANA-FE's timing reads (synops all on the dense unit here)
CORE_MORE = {"spikes": [[[1, 0], [1, 1], [0, 2]], [[2, 1], [1, 1], [1, 1]]],
             "packets_out": [[[2, 0], [1, 1], [0, 2]], [[3, 1], [1, 2], [1, 0]]],
             "packets_in": [[[4, 2], [3, 1], [2, 2]], [[5, 2], [3, 3], [2, 1]]],
             "synops_sparse": [[[0, 0]] * 3] * 2, "synops_conv": [[[0, 0]] * 3] * 2}
NEURONS = [10, 5]
BIG = [{"name": "big", "n_src": 1000, "n_dst": 1000, "synapses": 10**6, "dense_macs": 10**6, "weight_bits": 8,
        "recurrent": False}]
LAYERS = [{"name": "fc1", "n_src": 20, "n_dst": 10, "synapses": 150, "dense_macs": 200, "weight_bits": 8,
           "recurrent": False},
          {"name": "rec", "n_src": 5, "n_dst": 5, "synapses": 10, "dense_macs": 25, "weight_bits": 4,
           "recurrent": True}]


def fake_result(counters=None, chip=None, n_cores_used=2, neurons=None, layers=None, accuracy=None, **over):
    counters = {k: np.asarray(v, dtype=np.int64) for k, v in (counters or COUNTERS).items()}
    batch = len(counters["timesteps"])
    neurons = np.asarray(NEURONS if neurons is None else neurons, dtype=np.int64)
    program = SimpleNamespace(chip=chip or ChipSpec(name="loihi"), n_cores_used=n_cores_used,
                              neurons_per_core_used=neurons, layers=copy.deepcopy(layers or LAYERS))
    r = SimpleNamespace(counters=counters, program=program, batch_size=batch, n_steps=3,
                        core_steps={"synops": np.asarray(CORE_SYNOPS, dtype=np.int32),
                                    "updates_active": np.asarray(CORE_ACTIVE, dtype=np.int32),
                                    **{k: np.asarray(v, dtype=np.int32) for k, v in CORE_MORE.items()}},
                        busiest_link=np.asarray(BUSIEST, dtype=np.int64))
    for k, v in over.items():
        setattr(r, k, v)
    if accuracy is not None:
        r.accuracy_value = accuracy
    return r


def mean(k, counters=COUNTERS):
    return sum(counters[k]) / len(counters[k])


def step_time_by_hand(t_syn, t_act, t_idle, t_hop, t_sync):
    """Mean chip time per inference: loops, independent of the implementation."""
    total = 0.0
    for b in range(2):
        for s in range(3):
            cores = [CORE_SYNOPS[b][s][c] * t_syn + CORE_ACTIVE[b][s][c] * t_act
                     + (NEURONS[c] - CORE_ACTIVE[b][s][c]) * t_idle for c in range(2)]
            total += max(cores) + BUSIEST[b][s] * t_hop + t_sync
    return total / 2


def loihi_energy_by_hand(chip_time):
    return (mean("synops") * 23.6 * pJ + mean("neuron_updates_active") * 81 * pJ
            + mean("neuron_updates_idle") * 52 * pJ + mean("intra_tile_packets") * 1.7 * pJ
            + mean("hops_ew") * 3.0 * pJ + mean("hops_ns") * 4.0 * pJ + 0.104 * chip_time)


def test_loihi_every_figure_by_hand():
    r = estimate(fake_result(), chip="loihi", baseline=None)
    t = step_time_by_hand(3.5 * ns, 8.4 * ns, 5.3 * ns, 6.5 * ns, 113 * ns)   # 2 cores -> 1 tile -> 113 ns
    e = loihi_energy_by_hand(t)
    assert r.latency_s == pytest.approx(t, rel=REL)
    assert r.latency_timesteps == 3
    assert r.energy_per_inference_J == pytest.approx(e, rel=REL)
    assert r.energy_total_J == pytest.approx(2 * e, rel=REL)
    assert r.energy_per_spike_J == pytest.approx(e / 6, rel=REL)
    assert r.energy_per_synop_J == pytest.approx(e / 120, rel=REL)
    assert r.edp_Js == pytest.approx(e * t, rel=REL)
    b = r.breakdown_J
    assert b["synaptic_ops"] == pytest.approx(120 * 23.6 * pJ, rel=REL)
    assert b["neuron_updates"] == pytest.approx((12 * 81 + 33 * 52) * pJ, rel=REL)
    assert b["routing"] == pytest.approx((2.5 * 1.7 + 5 * 3.0 + 1.5 * 4.0) * pJ, rel=REL)
    assert b["static"] == pytest.approx(0.104 * t, rel=REL)
    assert b["memory_reads"] == b["spike_generation"] == b["input"] == b["sync"] == 0.0
    assert sum(b.values()) == pytest.approx(e, rel=REL)
    assert r.breakdown_total_J["synaptic_ops"] == pytest.approx(2 * 120 * 23.6 * pJ, rel=REL)
    for term in r.terms:   # each term is its count times its entry
        entry = load_profile("loihi").entries[term.entry]
        assert term.energy_J == pytest.approx(term.count_per_inference * entry.si, rel=REL, abs=0)
    assert r.spikes_per_neuron == pytest.approx(6 / 15, rel=REL)


def test_latency_breakdown_sums():
    r = estimate(fake_result(), chip="loihi", baseline=None)
    assert sum(r.latency_breakdown_s.values()) == pytest.approx(r.latency_s, rel=REL)
    assert r.latency_breakdown_s["sync"] == pytest.approx(3 * 113 * ns, rel=REL)
    assert r.latency_breakdown_s["congestion"] == pytest.approx((3 + 4) / 2 * 6.5 * ns, rel=REL)


def test_steps_past_timesteps_not_charged():
    c = dict(COUNTERS, timesteps=[2, 3])
    r = estimate(fake_result(counters=c), chip="loihi", baseline=None)
    full = estimate(fake_result(), chip="loihi", baseline=None)
    # sample 0 loses its last step: compute max(25*3.5+2*8.4+8*5.3, 10*3.5+1*8.4+4*5.3) + 0 links + 113
    last = max(25 * 3.5 + 2 * 8.4 + 8 * 5.3, 10 * 3.5 + 1 * 8.4 + 4 * 5.3) * ns + 113 * ns
    assert r.latency_s == pytest.approx(full.latency_s - last / 2, rel=REL)


def test_unpublished_priced_zero_and_flagged():
    r = estimate(fake_result(), chip="loihi", baseline=None)
    flagged = " ".join(r.flags)
    for key in ("spike_out", "packet", "input_packet", "barrier_sync"):
        assert f"{key} is unpublished" in flagged
        term = next(t for t in r.terms if t.entry == key)
        assert term.energy_J == 0.0 and term.status == "unpublished" and term.value is None
    assert "hop_interchip" not in flagged                 # counter is 0: nothing left out
    syn_mem = next(t for t in r.terms if t.entry == "syn_mem_word_read")
    assert syn_mem.status == "included_in:synop" and syn_mem.energy_J == 0.0
    assert not any("syn_mem_word_read is" in f for f in r.flags)
    c = dict(COUNTERS, hops_interchip=[1, 1])
    assert any("hop_interchip is unpublished" in f for f in estimate(fake_result(counters=c), "loihi", None).flags)


def test_all_in_adds_nothing_else():
    r = estimate(fake_result(), chip="truenorth", baseline=None)
    assert r.energy_per_inference_J == pytest.approx(120 * 26 * pJ, rel=REL)
    assert r.breakdown_J == {"all_in": r.energy_per_inference_J}
    assert len(r.terms) == 1 and r.terms[0].counter == "synops"
    assert r.latency_s == pytest.approx(3 * 1e-3, rel=REL)
    assert r.fixed_energy_J == 0.0


def test_truenorth_per_term_by_hand():
    c = dict(COUNTERS, hops_interchip=[2, 0])
    r = estimate(fake_result(counters=c), chip="truenorth-per-term", baseline=None)
    t = 3 * 1e-3
    e = 120 * 1.5 * pJ + (5 + 1.5) * 2.3 * pJ + 1 * 832 * pJ + 0.0645 * t
    assert r.energy_per_inference_J == pytest.approx(e, rel=REL)
    assert [f for f in r.flags if "unpublished" in f] == [
        "'truenorth-per-term': input_packet is unpublished; input_packets (9 per inference) priced 0 J"]


def test_sanafe_profile_with_neurocore_timing():
    """loihi-sanafe prices as SANA-FE (input messages pay axon_out, no static); timing='neurocore' still works."""
    r = estimate(fake_result(), chip="loihi-sanafe", baseline=None, timing="neurocore")
    t = step_time_by_hand(3.8 * ns, 9.7 * ns, 6.0 * ns, 6.5 * ns, 600 * ns)
    e = (120 * 35.5 + 12 * 72.8 + 33 * 51.2 + 6 * 69.3 + (7 + 9) * 111 + 5 * 3.0 + 1.5 * 4.2) * pJ
    assert r.latency_s == pytest.approx(t, rel=REL)
    assert r.energy_per_inference_J == pytest.approx(e, rel=REL)
    assert r.static_energy_J == 0.0 and r.static_model == "not modelled" and "static" not in r.breakdown_J
    assert r.timing_model == "neurocore"


@pytest.mark.parametrize("cores, sync_ns", [(2, 113), (64, 113 + (465 - 113) * 15 / 31), (128, 465), (4096, 465)])
def test_barrier_sync_interpolated_in_tiles(cores, sync_ns):
    r = estimate(fake_result(n_cores_used=cores), chip="loihi", baseline=None)
    assert r.latency_breakdown_s["sync"] == pytest.approx(3 * sync_ns * ns, rel=REL)


def test_static_power_counts_chips_used():
    chip = ChipSpec(name="board", chips_x=2)
    r = estimate(fake_result(chip=chip, n_cores_used=130), chip="loihi", baseline=None)
    assert r.n_chips_used == 2
    assert r.breakdown_J["static"] == pytest.approx(2 * 0.104 * r.latency_s, rel=REL)
    assert estimate(fake_result(chip=chip), chip="loihi", baseline=None).n_chips_used == 1


# ---- dense baselines --------------------------------------------------------------------------
MACS = 200 + 25 * 3                   # the recurrent layer runs every step
W_BYTES = (200 + 25 * 3) / 2          # int8 weights read once per evaluation per batch of 2
A_BYTES = 30 + 10 * 3                 # inputs read + outputs written per evaluation


def test_dense_45nm_by_hand():
    r = estimate(fake_result(), chip="loihi", baseline="dense-45nm")
    e = MACS * 0.23 * pJ + W_BYTES / 8 * 10 * pJ + A_BYTES / 8 * 10 * pJ    # 225 B and 60 B fit 8 KB
    assert r.baseline_macs_per_inference == MACS
    assert r.baseline_energy_per_inference_J == pytest.approx(e, rel=REL)
    assert r.baseline_breakdown_J["macs"] == pytest.approx(MACS * 0.23 * pJ, rel=REL)
    assert r.baseline_latency_s is None and r.baseline_energy_lower_bound_J is None
    assert any("no published throughput" in f for f in r.flags)
    assert r.ratio_vs_baseline == pytest.approx(r.energy_per_inference_J / e, rel=REL)
    assert r.synops_per_mac == pytest.approx(120 / MACS, rel=REL)


def test_dense_45nm_memory_level_by_size():
    r = estimate(fake_result(layers=BIG), chip="loihi", baseline="dense-45nm", precision="fp32")
    w, a = 4e6 / 2, 2000 * 4                        # fp32: 4 MB of weights -> DRAM; 16 KB of activations -> 32 KB
    e = 1e6 * 4.6 * pJ + w / 8 * 1950 * pJ + a / 8 * 20 * pJ
    assert r.baseline_energy_per_inference_J == pytest.approx(e, rel=REL)
    assert r.baseline_precision == "fp32"
    assert any("dram_read_64b" in n and "sram_32KB_read_64b" in n for n in r.notes)


def test_gpu_roofline_and_lower_bound_by_hand():
    r = estimate(fake_result(), chip="loihi", baseline="gpu-h100-roofline")
    ops, peak, bw = 2 * MACS, 1978.9e12, 3.35e12
    lower = ops * 700 / peak
    t_batch = max(2 * ops / peak, 2 * (W_BYTES + A_BYTES) / bw)
    assert r.baseline_energy_lower_bound_J == pytest.approx(lower, rel=REL)
    assert r.baseline_energy_per_inference_J == pytest.approx(700 * t_batch / 2, rel=REL)
    assert r.baseline_latency_s == pytest.approx(t_batch, rel=REL)
    assert r.ratio_vs_baseline_lower_bound == pytest.approx(r.energy_per_inference_J / lower, rel=REL)


def test_gpu_batch1_is_memory_bound_orders_above_lower_bound():
    c = {k: v[:1] for k, v in COUNTERS.items()}
    r = fake_result(counters=c, layers=BIG)
    r.core_steps = {k: v[:1] for k, v in r.core_steps.items()}
    r.busiest_link = r.busiest_link[:1]
    rep = estimate(r, chip="loihi", baseline="gpu-h100-roofline")
    assert rep.baseline_energy_per_inference_J / rep.baseline_energy_lower_bound_J > 100
    assert any("memory-bound" in n for n in rep.notes)


@pytest.mark.parametrize("chip", ["loihi", "loihi-sanafe", "truenorth", "truenorth-per-term"])
@pytest.mark.parametrize("baseline", ["gpu-h100-roofline", "dense-45nm"])
def test_break_even_consistent(chip, baseline):
    r = estimate(fake_result(layers=BIG), chip=chip, baseline=baseline)
    k = r.break_even_activity_scale
    if chip == "truenorth-per-term":   # 64.5 mW x 3 ticks of 1 ms exceeds either baseline: never breaks even
        assert k is None and r.fixed_energy_J > r.baseline_energy_per_inference_J
        return
    assert k is not None and k > 0
    assert r.fixed_energy_J + k * r.activity_energy_J == pytest.approx(r.baseline_energy_per_inference_J, rel=REL)
    assert r.fixed_energy_J + r.activity_energy_J == pytest.approx(r.energy_per_inference_J, rel=REL)
    assert r.break_even_spikes_per_neuron == pytest.approx(k * 6 / 15, rel=REL)
    assert r.break_even_synops_per_mac == pytest.approx(k * 120 / 1e6, rel=REL)


def test_break_even_by_rerunning_scaled_counters():
    """All-in: scaling the synop counter by k* gives exactly the baseline energy."""
    r = estimate(fake_result(layers=BIG), chip="truenorth", baseline="dense-45nm")
    k = r.break_even_activity_scale
    assert 120 * k * 26 * pJ == pytest.approx(r.baseline_energy_per_inference_J, rel=REL)
    # counters are integers: the rerun's rounding error is below 1e-4 at these counts
    scaled = estimate(fake_result(counters=dict(COUNTERS, synops=[round(100 * k), round(140 * k)])), "truenorth", None)
    assert scaled.energy_per_inference_J == pytest.approx(r.baseline_energy_per_inference_J, rel=1e-4)


def test_never_breaks_even_is_none():
    big_static = load_profile("loihi").to_dict()
    big_static["name"] = "hot"
    big_static["entries"]["static_power"] = {"value": 1e6, "unit": "W", "source": "a test heater"}
    r = estimate(fake_result(), chip=big_static, baseline="dense-45nm")
    assert r.break_even_activity_scale is None and r.break_even_spikes_per_neuron is None
    assert any("no activity level breaks even" in n for n in r.notes)


# ---- user profiles and errors ---------------------------------------------------------------------
def test_user_dict_profile_by_hand():
    entries = {k: {"value": 1.0, "unit": "pJ", "source": "test"} for k in
               ("synop", "syn_mem_word_read", "neuron_update_active", "neuron_update_idle", "spike_out", "packet",
                "intra_tile_packet", "hop_ew", "hop_ns", "hop_interchip", "input_packet", "barrier_sync")}
    entries["static_power"] = {"value": 0, "unit": "W", "source": "test"}
    entries["step_time"] = {"value": 2, "unit": "us", "source": "test"}
    prof = {"name": "unit", "kind": "chip", "scope": "per_term", "citations": ["test"], "entries": entries}
    r = estimate(fake_result(), chip=prof, baseline=None)
    counted = ["synops", "syn_mem_words_read", "neuron_updates_active", "neuron_updates_idle", "spikes", "packets",
               "intra_tile_packets", "hops_ew", "hops_ns", "hops_interchip", "input_packets", "timesteps"]
    assert r.energy_per_inference_J == pytest.approx(sum(mean(k) for k in counted) * pJ, rel=REL)
    assert r.latency_s == pytest.approx(3 * 2e-6, rel=REL)
    assert r.chip_profile == "unit" and r.flags == ()


def test_missing_entry_names_profile_and_key():
    d = load_profile("loihi").to_dict()
    d["name"] = "partial"
    del d["entries"]["hop_ns"]
    with pytest.raises(ProfileError, match=r"profile 'partial' has no entry 'hop_ns'.*hops_ns"):
        estimate(fake_result(), chip=d, baseline=None)
    d = load_profile("loihi").to_dict()
    del d["entries"]["synop_latency"]
    with pytest.raises(ProfileError, match=r"'synop_latency'"):
        estimate(fake_result(), chip=d, baseline=None)
    d = load_profile("gpu-h100").to_dict()
    del d["entries"]["peak_ops_fp16"]
    with pytest.raises(ProfileError, match=r"'peak_ops_fp16'"):
        estimate(fake_result(), chip="loihi", baseline=d, precision="fp16")


def test_unpublished_latency_is_flagged():
    d = load_profile("loihi").to_dict()
    d["entries"]["synop_latency"] = {"value": None, "unit": "ns", "unpublished": True, "source": "none"}
    r = estimate(fake_result(), chip=d, baseline=None)
    assert any("synop_latency is unpublished" in f for f in r.flags)
    assert r.latency_s == pytest.approx(step_time_by_hand(0.0, 8.4 * ns, 5.3 * ns, 6.5 * ns, 113 * ns), rel=REL)


def test_wrong_kinds_and_bad_result():
    with pytest.raises(ProfileError, match="pass it as baseline="):
        estimate(fake_result(), chip="gpu-h100")
    with pytest.raises(ProfileError, match="pass it as chip="):
        estimate(fake_result(), chip="loihi", baseline="truenorth")
    c = dict(COUNTERS)
    del c["hops_ns"]
    with pytest.raises(ValueError, match="'hops_ns'"):
        estimate(fake_result(counters=c))
    with pytest.raises(ProfileError, match="precision"):
        estimate(fake_result(), baseline="gpu-h100", precision="int3")


# ---- report object -------------------------------------------------------------------------------
@pytest.mark.parametrize("baseline", ["gpu-h100", "dense-45nm", None])
def test_json_round_trip(baseline):
    r = estimate(fake_result(), chip="loihi", baseline=baseline)
    d = r.to_dict()
    assert "energy_per_inference_J" in d and "latency_s" in d and "edp_Js" in d
    assert EnergyReport.from_dict(d) == r
    assert EnergyReport.from_json(r.to_json()) == r
    assert isinstance(r.terms[0], type(EnergyReport.from_json(r.to_json()).terms[0]))


def test_from_dict_rejects_bad_keys():
    from neurocore.errors import FileFormatError

    d = estimate(fake_result(), chip="loihi", baseline=None).to_dict()
    d.pop("latency_s")
    with pytest.raises(FileFormatError, match="latency_s"):
        EnergyReport.from_dict(d)


def test_table_is_readable():
    r = estimate(fake_result(), chip="loihi", baseline="gpu-h100")
    text = r.table()
    assert str(r) == text
    for s in ("'loihi'", "'gpu-h100'", "energy / inference", "break-even", "synops", "flags:", "unpublished"):
        assert s in text
    assert dataclasses.is_dataclass(r) and math.isfinite(r.energy_per_inference_J)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.energy_per_inference_J = 0.0


def _real_run(**kw):
    import neurocore as nc

    rng = np.random.default_rng(3)
    g = nc.Graph()
    x = g.input(40, name="x")
    a = g.population(300, nc.IF(vth=12), name="a")
    g.connect(x, a, rng.integers(-2, 6, (300, 40)) * (rng.random((300, 40)) < 0.3))
    g.connect(a, g.population(20, nc.IF(vth=8), name="b"), rng.integers(-1, 4, (20, 300)))
    p = nc.compile(g, dataclasses.replace(nc.chip.loihi(), neurons_per_core=64))
    return nc.Simulator(p).run((rng.random((5, 30, 40)) < 0.3).astype(np.int32), 30, **kw)


@pytest.mark.parametrize("chip", ["loihi", "loihi-sanafe"])
def test_kernel_chip_time_equals_the_per_step_table(chip):
    """A default run keeps only the kernel's chip-time sums; estimate() from them equals estimate()
    from the full per-step per-core table, bit for bit."""
    compact, full = _real_run(), _real_run(record="core_steps")
    assert compact.core_steps == {} and full.core_steps
    a, b = estimate(compact, chip=chip), estimate(full, chip=chip)
    assert a.latency_s == b.latency_s and a.latency_breakdown_s == b.latency_breakdown_s
    assert a.energy_per_inference_J == b.energy_per_inference_J
    full.chip_time = {}  # the table alone gives the same figures
    assert estimate(full, chip=chip).latency_s == b.latency_s


def test_estimate_refuses_without_per_core_data():
    from neurocore.energy import core_timing
    from neurocore.errors import ChipTimeError

    r = _real_run()
    prof = dict(load_profile("loihi").to_dict(), name="my-chip")
    prof["entries"] = dict(prof["entries"], synop_latency={"value": 9, "unit": "ns", "source": "test [T]"})
    with pytest.raises(ChipTimeError, match=r"neither per-step per-core counters nor chip-time sums for "
                                            r"'my-chip/neurocore'.*chip_time=nc.energy.core_timing"):
        estimate(r, chip=prof)
    mine = _real_run(chip_time=[core_timing(prof)])
    assert estimate(mine, chip=prof).latency_s == estimate(_real_run(record="core_steps"), chip=prof).latency_s
    with pytest.raises(ChipTimeError):
        estimate(mine, chip="loihi")  # only the model it was given
