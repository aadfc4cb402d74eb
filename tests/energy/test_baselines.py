"""Dense baselines: each model's figures by hand, both regimes, measured profiles and their errors."""
import copy

import pytest

from neurocore.energy import EnergyReport, estimate, load_profile
from neurocore.energy.baselines import MODELS, REGIMES, BaselineResult, dense_workload, evaluate
from neurocore.errors import ProfileError
from tests.energy.test_estimate import BIG, LAYERS, fake_result

REL = 1e-12
H100 = {"peak": 1978.9e12, "bw": 3.35e12, "launch": 3e-6, "active": 267.0, "idle": 80.3}


def test_models_dispatch_and_regimes():
    assert set(MODELS) == {"memory_hierarchy", "roofline", "gpu", "measured"}
    assert REGIMES == ("batch1", "throughput")
    out = evaluate("gpu-h100", LAYERS, 3, 2)
    assert [out[k].batch_size for k in REGIMES] == [1, 2]
    assert all(isinstance(r, BaselineResult) and r.regime == k for k, r in out.items())


def test_gpu_kernels_launch_bound_by_hand():
    """fc1 once + the recurrent layer 3 times = 4 kernels, each launch-bound at 3 us."""
    out = evaluate("gpu-h100", LAYERS, 3, 2)
    for regime, batch in (("batch1", 1), ("throughput", 2)):
        r = out[regime]
        t = 4 * H100["launch"]
        assert r.latency_s == pytest.approx(t, rel=REL)
        assert r.time_per_inference_s == pytest.approx(t / batch, rel=REL)
        assert r.energy_per_inference_J == pytest.approx(H100["active"] * t / batch, rel=REL)
        assert r.dynamic_energy_per_inference_J == pytest.approx((H100["active"] - H100["idle"]) * t / batch, rel=REL)
        assert r.breakdown_J["launch_overhead"] == pytest.approx(r.energy_per_inference_J, rel=REL)
        assert r.breakdown_J["compute"] == r.breakdown_J["memory"] == 0.0
        assert r.lower_bound_J == pytest.approx(2 * (200 + 25 * 3) * 700 / H100["peak"], rel=REL)
        hbm = [t for t in r.terms if t.kind == "memory_traffic"][0]
        w = (200 + 25 * 3) + batch * (30 + 10 * 3)            # weights + batch x (in + out), int8, per evaluation
        assert hbm.count_per_inference == pytest.approx(w / batch, rel=REL)
        assert hbm.status == "included_in:active_power" and hbm.energy_J == 0.0


def test_gpu_kernels_compute_and_memory_bound_by_hand():
    for batch, cause in ((4096, "compute"), (512, "launch_overhead")):
        r = evaluate("gpu-h100", BIG, 1, batch)["throughput"]
        compute = batch * 2e6 / H100["peak"]
        memory = (1e6 + batch * 2000) / H100["bw"]
        t = max(H100["launch"], compute, memory)
        assert r.latency_s == pytest.approx(t, rel=REL)
        assert r.breakdown_J[cause] == pytest.approx(H100["active"] * t / batch, rel=REL)
    d = load_profile("gpu-h100").to_dict()
    d["entries"]["memory_bandwidth"]["value"] = 0.001          # 1 GB/s: memory-bound
    r = evaluate(d, BIG, 1, 8)["throughput"]
    assert r.latency_s == pytest.approx((1e6 + 8 * 2000) / 1e9, rel=REL)
    assert r.breakdown_J["memory"] == pytest.approx(r.energy_per_inference_J, rel=REL)


def test_gpu_unfused_activation_kernels_and_fp32():
    d = load_profile("gpu-h100").to_dict()
    d["entries"]["kernels_per_layer"]["value"] = 2
    r = evaluate(d, LAYERS, 3, 2, precision="fp32")["throughput"]
    assert r.latency_s == pytest.approx(8 * H100["launch"], rel=REL)
    assert r.precision == "fp32"
    d["entries"]["kernels_per_layer"]["value"] = 1.5
    with pytest.raises(ProfileError, match="kernels_per_layer must be a whole number"):
        evaluate(d, LAYERS, 3, 2)


def test_gpu_unpublished_idle_gives_no_dynamic():
    d = load_profile("gpu-h100").to_dict()
    d["entries"]["idle_power"] = {"value": None, "unit": "W", "unpublished": True, "source": "none"}
    r = evaluate(d, LAYERS, 3, 2)["batch1"]
    assert r.dynamic_energy_per_inference_J is None and r.energy_per_inference_J > 0
    assert any("idle_power is unpublished" in f for f in r.flags)
    d["entries"]["active_power"] = {"value": None, "unit": "W", "unpublished": True, "source": "none"}
    with pytest.raises(ProfileError, match="'active_power' must be a published positive number"):
        evaluate(d, LAYERS, 3, 2)


def test_roofline_both_regimes_by_hand():
    out = evaluate("gpu-h100-roofline", LAYERS, 3, 2)
    for regime, batch in (("batch1", 1), ("throughput", 2)):
        nbytes = (200 + 25 * 3) / batch + (30 + 10 * 3)
        t = max(batch * 2 * 275 / H100["peak"], batch * nbytes / H100["bw"])
        assert out[regime].energy_per_inference_J == pytest.approx(700 * t / batch, rel=REL)
        assert out[regime].dynamic_energy_per_inference_J is None


def test_memory_hierarchy_batch1_vs_throughput_by_hand():
    pJ = 1e-12
    out = evaluate("dense-45nm", LAYERS, 3, 2)
    for regime, batch in (("batch1", 1), ("throughput", 2)):
        e = 275 * 0.23 * pJ + 275 / batch / 8 * 10 * pJ + 60 / 8 * 10 * pJ
        assert out[regime].energy_per_inference_J == pytest.approx(e, rel=REL)
        assert out[regime].dynamic_energy_per_inference_J == out[regime].energy_per_inference_J
        assert out[regime].latency_s is None


def test_dense_workload_counts():
    w = dense_workload(LAYERS, 3, "fp16")
    assert w.macs == 275 and w.bytes_per_value == 2
    assert w.weight_bytes_per_inference(5) == pytest.approx(275 * 2 / 5, rel=REL)
    assert w.act_working_set(4) == 30 * 2 * 4
    with pytest.raises(ProfileError, match="precision"):
        dense_workload(LAYERS, 3, "int3")


# ---- estimate() integration --------------------------------------------------------------------
def test_estimate_reports_every_baseline_in_both_regimes():
    r = estimate(fake_result(), chip="loihi", baseline=["gpu-h100", "dense-45nm", "gpu-h100-roofline"])
    assert [(c.profile, c.regime) for c in r.baselines] == [
        (p, g) for p in ("gpu-h100", "dense-45nm", "gpu-h100-roofline") for g in REGIMES]
    dyn = sum(t.energy_J for t in r.terms if t.kind != "static")
    static = sum(t.energy_J for t in r.terms if t.kind == "static")
    assert static > 0 and dyn + static == pytest.approx(r.energy_per_inference_J, rel=REL)
    g1, gt = r.comparison("gpu-h100", "batch1"), r.comparison("gpu-h100", "throughput")
    assert r.baseline_profile == "gpu-h100"
    assert r.baseline_energy_per_inference_J == gt.baseline.energy_per_inference_J
    assert r.ratio_vs_baseline == r.ratio_vs_baseline_throughput == pytest.approx(
        r.energy_per_inference_J / gt.baseline.energy_per_inference_J, rel=REL)
    assert r.ratio_vs_baseline_batch1 == pytest.approx(r.energy_per_inference_J / g1.baseline.energy_per_inference_J,
                                                       rel=REL)
    assert r.dynamic_ratio_vs_baseline_batch1 == pytest.approx(dyn / g1.baseline.dynamic_energy_per_inference_J,
                                                               rel=REL)
    assert r.comparison("gpu-h100-roofline", "batch1").dynamic_ratio is None
    with pytest.raises(KeyError, match="no comparison"):
        r.comparison("gpu-a100")
    text = r.table()
    assert "chip vs each dense baseline" in text and "batch1" in text and "throughput" in text
    assert EnergyReport.from_json(r.to_json()) == r


def test_estimate_old_json_without_new_fields_still_loads():
    r = estimate(fake_result(), chip="loihi", baseline="dense-45nm")
    d = r.to_dict()
    for k in ("baselines", "ratio_vs_baseline_batch1", "ratio_vs_baseline_throughput",
              "dynamic_ratio_vs_baseline_batch1", "dynamic_ratio_vs_baseline_throughput"):
        d.pop(k)
    old = EnergyReport.from_dict(d)
    assert old.baselines == () and old.ratio_vs_baseline == r.ratio_vs_baseline


def test_gpu_kernel_model_breaks_even_consistently():
    r = estimate(fake_result(layers=BIG), chip="loihi", baseline="gpu-h100")
    k = r.break_even_activity_scale
    assert k is not None and r.fixed_energy_J + k * r.activity_energy_J == pytest.approx(
        r.baseline_energy_per_inference_J, rel=REL)


# ---- measured profiles ---------------------------------------------------------------------------
def measured_profile(**entries):
    d = {"name": "cpu-test", "kind": "dense", "scope": "per_term", "model": "measured", "precision": "fp32",
         "citations": ["a test measurement"],
         "measurement": {"date": "2026-12-01", "host": "test", "cpu": "test cpu", "threads": 1,
                         "layers": [{"n_src": 20, "n_dst": 10, "dense_macs": 200, "recurrent": False},
                                    {"n_src": 5, "n_dst": 5, "dense_macs": 25, "recurrent": True}],
                         "batches": [1, 2], "timesteps": 3, "power_attribution": "tdp_share"},
         "entries": {"time_per_batch_b1": {"value": 10e-6, "unit": "s", "source": "measured"},
                     "time_per_batch_b2": {"value": 12e-6, "unit": "s", "source": "measured"},
                     "active_power": {"value": 5.0, "unit": "W", "source": "TDP share"},
                     "idle_power": {"value": 2.0, "unit": "W", "source": "measured"}}}
    d["entries"].update(entries)
    return d


def test_measured_by_hand():
    out = evaluate(measured_profile(), LAYERS, 3, 2)
    assert out["batch1"].energy_per_inference_J == pytest.approx(5.0 * 10e-6, rel=REL)
    assert out["throughput"].energy_per_inference_J == pytest.approx(5.0 * 12e-6 / 2, rel=REL)
    assert out["throughput"].dynamic_energy_per_inference_J == pytest.approx(3.0 * 12e-6 / 2, rel=REL)
    assert out["throughput"].time_per_inference_s == pytest.approx(6e-6, rel=REL)
    r = estimate(fake_result(), chip="loihi", baseline=measured_profile())
    assert r.ratio_vs_baseline_batch1 == pytest.approx(r.energy_per_inference_J / 50e-6, rel=REL)


def test_measured_without_power_gives_time_only():
    p = measured_profile(active_power={"value": None, "unit": "W", "unpublished": True,
                                       "source": "no RAPL, CPU SKU unknown"})
    r = estimate(fake_result(), chip="loihi", baseline=p)
    c = r.comparison("cpu-test", "batch1")
    assert c.baseline.energy_per_inference_J is None and c.ratio is None and c.baseline.latency_s == 10e-6
    assert r.baseline_energy_per_inference_J is None and r.break_even_activity_scale is None
    assert any("active_power is unpublished" in f for f in r.flags)


def test_measured_errors():
    with pytest.raises(ProfileError, match="no timing at batch 4.*--batch 1 4"):
        evaluate(measured_profile(), LAYERS, 3, 4)
    other = copy.deepcopy(LAYERS)
    other[0]["n_dst"] = 11
    with pytest.raises(ProfileError, match="this run's network is"):
        evaluate(measured_profile(), other, 3, 2)
    with pytest.raises(ProfileError, match="re-measure with --timesteps"):
        evaluate(measured_profile(), LAYERS, 5, 2)
    with pytest.raises(ProfileError, match="cannot be applied to a measurement"):
        evaluate(measured_profile(), LAYERS, 3, 2, precision="int8")
    bad = measured_profile()
    del bad["measurement"]
    with pytest.raises(ProfileError, match="needs a 'measurement' object"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="pass it as chip="):
        evaluate("loihi", LAYERS, 3, 2)


# ---- bench/measure_dense.py: writes a profile that estimate() reads ----------------------------
def _measure_module():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "bench" / "measure_dense.py"
    spec = importlib.util.spec_from_file_location("measure_dense", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def tiny_program(tmp_path):
    import numpy as np

    import neurocore as nc

    rng = np.random.default_rng(0)
    g = nc.Graph()
    x = g.input(2 * 5 * 5, shape=(2, 5, 5))
    c = g.conv2d(x, rng.integers(-5, 5, (3, 2, 3, 3)), nc.IF(vth=10), padding=1, name="c1")
    g.dense(c, rng.integers(-5, 5, (4, 75)), nc.IF(vth=10), name="out")
    prog = nc.compile(g, nc.chip.loihi())
    path = tmp_path / "prog.npz"
    prog.save(path)
    return prog, path


def test_measure_dense_writes_a_profile_estimate_reads(tiny_program, tmp_path):
    pytest.importorskip("torch")
    import numpy as np

    import neurocore as nc

    prog, path = tiny_program
    md = _measure_module()
    out = tmp_path / "cpu.json"
    prof = md.main(["--program", str(path), "--batch", "1", "3", "--min-time", "0.02", "--repeats", "2",
                    "--power", "tdp-share", "--tdp-w", "100", "--tdp-cores", "10", "--tdp-source", "a test TDP",
                    "--out", str(out)])
    p = load_profile(out)
    assert p.model == "measured" and p.measurement["batches"] == [1, 3] and p.measurement["threads"] == 1
    assert {"date", "host", "cpu", "command", "versions", "power_attribution"} <= set(p.measurement)
    assert p.entries["active_power"].value == pytest.approx(10.0) and p.entries["idle_power"].unpublished
    assert prof["measurement"]["layers"][0] == {"n_src": 50, "n_dst": 75, "dense_macs": 75 * 18,
                                                "recurrent": False}
    r = nc.Simulator(prog).run(np.ones((3, 4, 50), np.int32), n_steps=4)
    rep = estimate(r, chip="loihi", baseline=str(out))
    c = rep.comparison(p.name, "throughput")
    assert c.baseline.energy_per_inference_J == pytest.approx(10.0 * p.entries["time_per_batch_b3"].value / 3,
                                                              rel=REL)


def test_measure_dense_errors_keep_the_old_file(tiny_program, tmp_path):
    pytest.importorskip("torch")
    _, path = tiny_program
    md = _measure_module()
    out = tmp_path / "cpu.json"
    out.write_text("previous")
    with pytest.raises(ProfileError, match="needs --tdp-w, --tdp-cores and --tdp-source"):
        md.main(["--program", str(path), "--min-time", "0.01", "--repeats", "1", "--power", "tdp-share",
                 "--out", str(out)])
    if not md.rapl_files():
        with pytest.raises(ProfileError, match="no readable RAPL counter"):
            md.main(["--program", str(path), "--min-time", "0.01", "--repeats", "1", "--power", "rapl",
                     "--out", str(out)])
    assert out.read_text() == "previous"
    with pytest.raises(ProfileError, match="must be >= 1"):
        md.main(["--program", str(path), "--batch", "0", "--out", str(out)])


def test_measure_dense_write_is_atomic(tmp_path, monkeypatch):
    md = _measure_module()
    out = tmp_path / "p.json"
    out.write_text("previous")

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(md.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        md.write_atomic(out, "new")
    assert out.read_text() == "previous" and sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]


def test_shipped_baseline_profiles_anchor_numbers():
    g = load_profile("gpu-h100")
    e = g.entries
    assert g.model == "gpu" and e["power"].si == 700
    assert e["launch_overhead"].si == pytest.approx(3e-6, rel=REL) and e["launch_overhead"].range == (3, 20)
    assert (e["active_power"].value, e["idle_power"].value) == (267, 80.3)
    assert e["min_kernel_time"].included_in == "launch_overhead"
    assert e["hbm_traffic"].included_in == "active_power" and e["kernels_per_layer"].value == 1
    assert all("[S]" in e[k].source for k in ("launch_overhead", "active_power", "idle_power"))
    assert load_profile("gpu-h100-roofline").model == "roofline"
    m = load_profile("cpu-demo-mlp")
    assert m.model == "measured" and m.measurement["batches"] == [1, 540] and m.measurement["threads"] == 1
    assert [(x["n_src"], x["n_dst"]) for x in m.measurement["layers"]] == [(64, 128), (128, 64), (64, 10)]
    assert m.entries["active_power"].unpublished and "RAPL" in m.entries["active_power"].source
    assert m.entries["time_per_batch_b1"].value > 0 and m.entries["time_per_batch_b540"].value > 0
