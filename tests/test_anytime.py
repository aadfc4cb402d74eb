"""Anytime inference: the early-stop rule in the kernel, its NumPy twin, calibration and the energy curve."""
import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.anytime import StopRule, decode_at_steps, predict_stopped, readout_traces, stop_steps
from neurocore.errors import SimulationError, StopRuleError
from neurocore.kernels import reference as ref

from .kernels.strategies import networks

KERNEL_COUNTERS = ("timesteps", "synops", "synops_binary", "synops_graded", "syn_mem_words_read",
                   "neuron_updates_active", "neuron_updates_idle", "spikes", "packets", "intra_tile_packets",
                   "hops_ew", "hops_ns", "hops_interchip", "input_packets", "overflow_u", "overflow_v")


def _hand_built(seed=0, n_in=12, n_hid=24, n_out=4):
    """Input -> hidden (LIF) -> 4 IF read-out neurons, with a recurrent hidden projection."""
    rng = np.random.default_rng(seed)
    chip = nc.chip.ChipSpec(name="t", tiles_x=2, tiles_y=2, cores_per_tile=2, neurons_per_core=8)
    g = nc.Graph()
    x = g.input(n_in, name="x")
    h = g.population(n_hid, nc.CubaLIF(du=4095, dv=100, vth=300), name="h")
    o = g.population(n_out, nc.IF(vth=300), name="out")
    g.connect(x, h, weights=rng.integers(-40, 100, (n_hid, n_in)), weight_exp=0)
    g.connect(h, h, weights=rng.integers(-30, 30, (n_hid, n_hid)) * (rng.random((n_hid, n_hid)) < 0.2), delay=1)
    g.connect(h, o, weights=rng.integers(-60, 120, (n_out, n_hid)), delay=1)
    xin = (rng.random((7, 30, n_in)) < rng.random((7, 1, n_in))).astype(np.int32)
    return chip, g, xin


def _check_stopped_equals_fixed(sim, xin, r, i):
    """Sample i of a stopped run equals a run of exactly its steps, and is zero after them."""
    s = int(r.steps[i])
    one = sim.run(xin[i: i + 1, :s], n_steps=s, probes={"out": ["v", "spikes"]})
    for k in KERNEL_COUNTERS:
        assert r.counters[k][i] == one.counters[k][0], k
    for name in r.spike_counts:
        assert_array_equal(r.spike_counts[name][i], one.spike_counts[name][0])
    for k in r.core_steps:
        assert_array_equal(r.core_steps[k][i, :s], one.core_steps[k][0], err_msg=k)
        assert not r.core_steps[k][i, s:].any()
    assert_array_equal(r.busiest_link[i, :s], one.busiest_link[0])
    assert_array_equal(r.final_state["u"][i], one.final_state["u"][0])
    assert_array_equal(r.final_state["v"][i], one.final_state["v"][0])
    assert_array_equal(r.probes["out"]["v"][i, :s], one.probes["out"]["v"][0])
    assert not r.probes["out"]["v"][i, s:].any()


def test_stopped_sample_equals_a_run_of_its_steps():
    chip, g, xin = _hand_built()
    sim = nc.Simulator(nc.compile(g, chip))
    r = sim.run(xin, n_steps=30, stop=StopRule(margin=3, min_steps=4, population="out"), probes={"out": ["v", "spikes"]})
    assert 4 <= r.steps.min() and r.steps.min() < 30  # the rule fires, on some samples at least
    assert len(set(r.steps.tolist())) > 1
    for i in range(xin.shape[0]):
        _check_stopped_equals_fixed(sim, xin, r, i)
    # the decision itself: the first step >= min_steps whose leading count leads by >= margin
    assert_array_equal(r.steps, stop_steps(StopRule(3, 4), r.probes["out"]["spikes"], 30))
    assert_array_equal(r.counters["stop_checks"], r.steps - 4 + 1)
    assert_array_equal(r.counters["stop_counter_reads"], (r.steps - 3) * 4)


def test_stopping_is_independent_of_batch_position_size_block_and_threads():
    chip, g, xin = _hand_built(seed=3)
    sim = nc.Simulator(nc.compile(g, chip))
    rule = StopRule(margin=2, min_steps=2, population="out")
    base = sim.run(xin, n_steps=30, stop=rule, n_threads=1, block=1)
    perm = np.random.default_rng(0).permutation(xin.shape[0])
    for kw in ({"n_threads": 2, "block": 3}, {"n_threads": 1, "block": 7}, {"n_threads": 3, "block": 2}):
        r = sim.run(xin[perm], n_steps=30, stop=rule, **kw)
        assert_array_equal(r.steps, base.steps[perm])
        for k in KERNEL_COUNTERS:
            assert_array_equal(r.counters[k], base.counters[k][perm], err_msg=f"{k} {kw}")
        assert_array_equal(r.final_state["v"], base.final_state["v"][perm])
        assert_array_equal(r.core_steps["synops"], base.core_steps["synops"][perm])
    for i in (0, 4):  # a batch of one
        r = sim.run(xin[i: i + 1], n_steps=30, stop=rule)
        assert r.steps[0] == base.steps[i]
        assert_array_equal(r.final_state["u"][0], base.final_state["u"][i])


@pytest.mark.parametrize("rule", [StopRule(margin=10**9, population="out"), StopRule(margin=0, min_steps=31,
                                                                                      population="out")])
def test_a_rule_that_never_fires_equals_no_rule(rule):
    chip, g, xin = _hand_built(seed=1)
    sim = nc.Simulator(nc.compile(g, chip))
    probes = {"h": ["u", "v", "spikes"], "out": ["v"]}
    a = sim.run(xin, n_steps=30, probes=probes)
    b = sim.run(xin, n_steps=30, probes=probes, stop=rule)
    assert_array_equal(b.steps, np.full(xin.shape[0], 30))
    for k in KERNEL_COUNTERS:
        assert_array_equal(a.counters[k], b.counters[k], err_msg=k)
    for k in a.core_steps:
        assert_array_equal(a.core_steps[k], b.core_steps[k])
    for pop, d in a.probes.items():
        for var, arr in d.items():
            assert_array_equal(arr, b.probes[pop][var])
    assert_array_equal(a.busiest_link, b.busiest_link)
    assert_array_equal(a.link_packets, b.link_packets)


def test_margin_zero_stops_at_min_steps():
    chip, g, xin = _hand_built(seed=2)
    sim = nc.Simulator(nc.compile(g, chip))
    r = sim.run(xin, n_steps=30, stop=StopRule(margin=0, min_steps=5, population="out"))
    fixed = sim.run(xin[:, :5], n_steps=5)
    assert_array_equal(r.steps, 5)
    for k in KERNEL_COUNTERS:
        assert_array_equal(r.counters[k], fixed.counters[k], err_msg=k)


@given(networks(), st.integers(0, 3), st.integers(1, 6), st.integers(1, 3), st.data())
def test_stopping_kernel_matches_reference(net, margin, min_steps, block, data):
    chip, g, x, T = net
    pop = data.draw(st.sampled_from([p.name for p in g.populations]))
    program = nc.compile(g, chip)
    probes = {p.name: ["u", "v", "spikes"] for p in g.populations}
    rule = StopRule(margin=margin, min_steps=min_steps, population=pop)
    r = nc.Simulator(program).run(x, n_steps=T, probes=probes, stop=rule, n_threads=2, block=block)
    want = ref.simulate(g, chip, x, T, stop=(margin, min_steps, pop))
    counted = ref.count(program, x, want["spikes"], want["active"], steps=want["steps"])
    assert_array_equal(r.steps, want["steps"])
    for pm in program.populations.values():
        sl = slice(pm.offset, pm.offset + pm.n)
        for var in ("u", "v", "spikes"):
            assert_array_equal(r.probes[pm.name][var], want[var][:, :, sl], err_msg=f"{var} of {pm.name}")
        assert_array_equal(r.spike_counts[pm.name], want["spikes"][:, :, sl].sum(1))
    assert_array_equal(r.final_state["u"], want["u_final"])
    assert_array_equal(r.final_state["v"], want["v_final"])
    assert_array_equal(r.counters["overflow_u"], want["overflow_u"])
    assert_array_equal(r.counters["overflow_v"], want["overflow_v"])
    for k, v in counted["counters"].items():
        assert_array_equal(r.counters[k], v, err_msg=k)
    for k, v in counted["core_steps"].items():
        assert_array_equal(r.core_steps[k], v, err_msg=f"core_steps[{k!r}]")
    assert_array_equal(r.busiest_link, counted["busiest_link"])
    assert_array_equal(r.link_packets, counted["link_packets"])


@pytest.mark.parametrize("kwargs,match", [
    ({"margin": -1}, "margin must be an int >= 0"), ({"margin": 1.5}, "margin must be an int"),
    ({"margin": True}, "margin must be an int"), ({"margin": 2, "min_steps": 0}, "min_steps must be an int >= 1"),
    ({"margin": 2, "min_steps": "3"}, "min_steps must be"), ({"margin": 2, "rule": "entropy"}, "unknown StopRule rule"),
    ({"margin": 2, "checker": "fpga"}, "unknown StopRule checker"), ({"margin": 2, "population": 3}, "population must be"),
])
def test_bad_stop_rule_parameters_raise(kwargs, match):
    with pytest.raises(StopRuleError, match=match):
        StopRule(**kwargs)
    assert issubclass(StopRuleError, ValueError) and issubclass(StopRuleError, nc.NeurocoreError)


def test_stop_rule_must_fit_the_program():
    chip, g, xin = _hand_built()
    sim = nc.Simulator(nc.compile(g, chip))
    with pytest.raises(StopRuleError, match="'nope' is not in the Program"):
        sim.run(xin, n_steps=30, stop=StopRule(margin=2, population="nope"))
    with pytest.raises(StopRuleError, match="needs population="):
        sim.run(xin, n_steps=30, stop=StopRule(margin=2))
    with pytest.raises(SimulationError, match="must be a neurocore.StopRule"):
        sim.run(xin, n_steps=30, stop=3)
    rep = nc.Simulator(nc.compile(g, chip, replicas=2))
    with pytest.raises(SimulationError, match="replicas"):
        rep.run(np.concatenate([xin[:2], xin[:2]], axis=2), n_steps=30, stop=StopRule(margin=2, population="out"))


def test_stopped_result_saves_and_loads(tmp_path):
    chip, g, xin = _hand_built()
    r = nc.Simulator(nc.compile(g, chip)).run(xin, n_steps=30, stop=StopRule(margin=3, population="out"))
    r.save(tmp_path / "r.npz")
    back = nc.RunResult.load(tmp_path / "r.npz")
    assert_array_equal(back.steps, r.steps)
    assert_array_equal(back.counters["stop_counter_reads"], r.counters["stop_counter_reads"])


# ---- converted networks: predictions, calibration, the curve, energy --------------------------
@pytest.fixture(scope="module")
def digits_program():
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden_layer_sizes=(32,), max_iter=80, random_state=0).fit(X[:1000], y[:1000])
    chip = nc.chip.loihi()
    return nc.compile(nc.convert(mlp, calibration=X[:300], chip=chip), chip), X, y


def test_converted_predictions_are_those_at_the_stop_step(digits_program):
    program, X, y = digits_program
    sim = nc.Simulator(program)
    Xs = X[1000:1060]
    r = sim.run(Xs, n_steps=20, stop=StopRule(margin=2))
    assert r.steps.mean() < 20
    for s in np.unique(r.steps)[:4]:
        idx = np.flatnonzero(r.steps == s)
        assert_array_equal(r.predictions[idx], sim.run(Xs[idx], n_steps=int(s)).predictions)
    # the offline twin used by calibrate gives the same steps and predictions
    _, spikes, v = readout_traces(program, Xs, 20)
    pred, steps = predict_stopped(program.codec, StopRule(margin=2), spikes, v, 20)
    assert_array_equal(steps, r.steps)
    assert_array_equal(pred, r.predictions)


def test_calibrate_chooses_on_calibration_data(digits_program):
    program, X, y = digits_program
    rule, table = StopRule.calibrate(program, X[1000:1200], y[1000:1200], n_steps=20, target=0.003,
                                     margins=[1, 2, 4, 8], min_steps=[1, 3])
    best = table.rows[table.chosen]
    assert (rule.margin, rule.min_steps) == (best["margin"], best["min_steps"])
    assert best["accuracy"] >= table.fixed_accuracy - 0.003 - 1e-12
    eligible = [r for r in table.rows if r["accuracy"] >= table.fixed_accuracy - 0.003 - 1e-12]
    assert best["mean_steps"] == min(r["mean_steps"] for r in eligible)
    assert len(table.rows) == 8 and "<- chosen" in str(table)
    with pytest.raises(StopRuleError, match="target must be"):
        StopRule.calibrate(program, X[:10], y[:10], target=5)
    with pytest.raises(StopRuleError, match="margins must be"):
        StopRule.calibrate(program, X[:10], y[:10], margins=[-1])
    with pytest.raises(StopRuleError, match="no candidate rule keeps calibration accuracy"):
        StopRule.calibrate(program, X[1000:1200], y[1000:1200], n_steps=20, target=0.0, margins=[1], min_steps=[1])
    chip, g, _ = _hand_built()
    with pytest.raises(StopRuleError, match="has no codec"):
        StopRule.calibrate(nc.compile(g, chip), X[:10], y[:10])


def test_accuracy_vs_energy_prices_only_the_steps_run(digits_program, tmp_path):
    program, X, y = digits_program
    curve = nc.accuracy_vs_energy(program, X[1000:1100], y[1000:1100], n_steps=16, margins=[1, 3],
                                  fixed_steps=[4, 16])
    fixed = {r.parameter: r for r in curve.of("fixed")}
    stop = {r.parameter: r for r in curve.of("stop")}
    assert fixed[16].mean_steps == 16 and stop[1].mean_steps < stop[3].mean_steps <= 16
    assert stop[3].energy_J < fixed[16].energy_J and stop[3].latency_s < fixed[16].latency_s
    assert any("early-stop check" in f and "no published energy" in f for f in curve.flags)
    json.dumps(curve.to_dict())
    assert "stop" in str(curve)
    pytest.importorskip("matplotlib")
    curve.plot(tmp_path / "curve.png")
    assert (tmp_path / "curve.png").stat().st_size > 0
    with pytest.raises(StopRuleError, match="plot x="):
        curve.plot(x="watts")


def test_estimate_prices_a_published_check(digits_program):
    """A profile that publishes the check's cost gets it priced; the shipped ones declare it unpublished."""
    from importlib import resources

    program, X, y = digits_program
    r = nc.Simulator(program).run(X[1000:1040], n_steps=16, stop=StopRule(margin=2))
    plain = nc.energy.estimate(r, chip="loihi", baseline=None)
    term = next(t for t in plain.terms if t.kind == "stop_check")
    assert term.status == "unpublished" and term.energy_J == 0
    assert term.count_per_inference == pytest.approx(np.mean(r.counters["stop_counter_reads"]))
    prof = json.loads((resources.files("neurocore.energy") / "profiles" / "loihi.json").read_text())
    prof["name"] = "loihi-with-check"
    prof["entries"]["stop_counter_read_embedded"] = {"value": 10.0, "unit": "pJ", "source": "test value"}
    prof["entries"]["stop_check_embedded_latency"] = {"value": 100.0, "unit": "ns", "source": "test value"}
    priced = nc.energy.estimate(r, chip=prof, baseline=None)
    term = next(t for t in priced.terms if t.kind == "stop_check")
    assert term.energy_J == pytest.approx(np.mean(r.counters["stop_counter_reads"]) * 10e-12)
    assert priced.latency_s - plain.latency_s == pytest.approx(np.mean(r.counters["stop_checks"]) * 100e-9)


def test_decode_at_steps_groups_by_step_count(digits_program):
    program, X, _ = digits_program
    codec = program.codec
    counts = np.array([[3, 1] + [0] * 8, [0, 5] + [0] * 8])
    v = np.zeros_like(counts)
    assert_array_equal(decode_at_steps(codec, counts, v, np.array([4, 9])), [0, 1])


def test_cli_run_with_stop_margin(tmp_path):
    import subprocess
    import sys

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "neurocore", *map(str, args)], capture_output=True, text=True,
                              timeout=300)

    chip, g, xin = _hand_built()
    program = nc.compile(g, chip)
    program.save(tmp_path / "prog.npz")
    np.save(tmp_path / "x.npy", xin)
    r = cli("run", tmp_path / "prog.npz", "--inputs", tmp_path / "x.npy", "--steps", 30, "--stop-margin", 3,
            "--stop-min-steps", 4, "--stop-population", "out", "-o", tmp_path / "res.npz")
    assert r.returncode == 0, r.stderr
    assert "early stop (3-spike margin from step 4)" in r.stdout
    res = nc.RunResult.load(tmp_path / "res.npz")
    want = nc.Simulator(program).run(xin, n_steps=30, stop=StopRule(margin=3, min_steps=4, population="out"))
    assert_array_equal(res.steps, want.steps)
    r = cli("report", tmp_path / "res.npz", "--baseline", "dense-45nm")
    assert r.returncode == 0, r.stderr
    assert "early-stop check" in r.stdout
    r = cli("run", tmp_path / "prog.npz", "--inputs", tmp_path / "x.npy", "--steps", 30, "--stop-margin", -1,
            "--stop-population", "out", "-o", tmp_path / "bad.npz")
    assert r.returncode != 0 and "margin must be an int >= 0" in r.stderr
    assert not (tmp_path / "bad.npz").exists()


def test_plot_without_matplotlib_says_which_extra(digits_program, monkeypatch):
    import builtins

    from neurocore.anytime_energy import AnytimeCurve, AnytimeRow
    from neurocore.report import PlotDependencyError

    curve = AnytimeCurve("loihi", 8, 1, 1, rows=[AnytimeRow("fixed", 8, 0.9, 8.0, 1e-6, 1e-4)])
    real = builtins.__import__

    def no_mpl(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib here")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_mpl)
    with pytest.raises(PlotDependencyError, match=r"neurocore\[plot\]"):
        curve.plot()


def test_a_converted_sample_cannot_stop_before_its_output_is_reached(digits_program):
    program, X, _ = digits_program
    latency = program.codec.latency
    with pytest.raises(StopRuleError, match=f"use min_steps >= {latency + 1}"):
        nc.Simulator(program).run(X[:5], n_steps=10, stop=StopRule(margin=0, min_steps=latency))
    r = nc.Simulator(program).run(X[:5], n_steps=10, stop=StopRule(margin=0, min_steps=latency + 1))
    assert_array_equal(r.steps, latency + 1)
