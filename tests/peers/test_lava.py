"""Lava bridge: neurocore's run of a Lava network equals Lava's bit-accurate simulation."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import neurocore as nc
from neurocore.lava import LavaBridgeError, graph_from_spec, graph_spec

from .conftest import need_venv, run_peer

DATA = Path(__file__).resolve().parents[1] / "data" / "lava_bridge"


def _nc(g, x, pops):
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(x[None].astype(np.int32), n_steps=x.shape[0],
                                                          probes={p: ["spikes", "u", "v"] for p in pops})
    return r.probes


def _assert_bit_exact(spec, rec):
    g = graph_from_spec(spec)
    pops = [p["name"] for p in spec["populations"]]
    got = _nc(g, rec["x"], pops)
    for p in pops:
        assert rec[f"{p}_spikes"].sum() > 0
        for var in ("spikes", "u", "v"):
            np.testing.assert_array_equal(got[p][var][0], rec[f"{p}_{var}"], err_msg=f"{p}.{var}")


def test_recorded_lava_network_bit_exact():
    """Lava 0.10's traces (committed) of LIF + Dense with recurrence, weight_exp 1 and -1."""
    _assert_bit_exact(json.loads((DATA / "net.json").read_text()), np.load(DATA / "net.npz"))


def test_live_lava_network_bit_exact(tmp_path):
    run_peer("lava", "lava_run.py", tmp_path, "network")
    spec = json.loads((tmp_path / "net.json").read_text())
    assert spec == json.loads((DATA / "net.json").read_text())     # the recorded file is what Lava gives
    _assert_bit_exact(spec, np.load(tmp_path / "net.npz"))


def test_graph_to_lava_bit_exact(tmp_path):
    """A neurocore Graph -> Lava processes (lava_from_spec) -> Lava's simulation == neurocore's."""
    need_venv("lava")
    rng = np.random.default_rng(9)
    g = nc.Graph()
    x = g.input(10, name="x")
    a = g.population(16, nc.CubaLIF(du=300, dv=100, vth=300, bias_mant=rng.integers(0, 30, 16), bias_exp=3), name="a")
    b = g.population(6, nc.CubaLIF(du=1000, dv=0, vth=200), name="b")
    g.connect(x, a, 2 * rng.integers(-20, 50, (16, 10)), weight_exp=1)
    g.connect(a, b, 2 * rng.integers(-10, 40, (6, 16)))
    g.connect(a, a, 2 * rng.integers(-20, 20, (16, 16)) * (rng.random((16, 16)) < 0.3))
    spec = graph_spec(g)
    conv = lambda v: v.tolist() if isinstance(v, np.ndarray) else v
    (tmp_path / "g.json").write_text(json.dumps({k: [{kk: conv(vv) for kk, vv in r.items()} for r in rows]
                                                 for k, rows in spec.items()}))
    xs = (rng.random((60, 10)) < 0.3).astype(np.int64)
    np.savez(tmp_path / "g.npz", x=xs)
    run_peer("lava", "lava_run.py", tmp_path, "spec", str(tmp_path / "g.json"))
    rec = np.load(tmp_path / "spec.npz")
    got = _nc(g, xs, ["a", "b"])
    for p in ("a", "b"):
        assert rec[f"{p}_spikes"].sum() > 0
        for var in ("spikes", "u", "v"):
            np.testing.assert_array_equal(got[p][var][0], rec[f"{p}_{var}"], err_msg=f"{p}.{var}")


def test_refusals():
    g = nc.Graph()
    x = g.input(3)
    g.population(2, nc.IF(vth=10), name="if")
    g.connect(x, "if", np.ones((2, 3), int) * 2)
    with pytest.raises(LavaBridgeError, match="Lava's LIF is a CubaLIF"):
        graph_spec(g)
    g2 = nc.Graph()
    x = g2.input(3)
    g2.population(2, nc.CubaLIF(du=1, dv=1, vth=10), name="p")
    g2.connect(x, "p", np.ones((2, 3), int), delay=2)
    with pytest.raises(LavaBridgeError, match="delay 2"):
        graph_spec(g2)
    spec = json.loads((DATA / "net.json").read_text())
    spec["projections"][2]["weights"][0][0] += 1           # odd weight with weight_exp -1
    assert spec["projections"][2]["weight_exp"] == -1
    with pytest.raises(LavaBridgeError, match="multiple of 2"):
        graph_from_spec(spec)
    assert issubclass(LavaBridgeError, ValueError)


# ---- LearningDense: plastic projections ----

LEARN_PROBES = {"l1": ["spikes", "u", "v"], "l2": ["spikes", "u", "v"], "ld_stdp": ["weights"], "ld_custom": ["weights"]}


def _assert_learning_bit_exact(spec, rec, probes=LEARN_PROBES):
    g = graph_from_spec(spec)
    assert {p.name: p.kind for p in g.projections.values()}.keys() >= {k for k in probes if k.startswith("ld")}
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(rec["x"][None].astype(np.int32), n_steps=rec["x"].shape[0],
                                                          probes=probes)
    for p, vs in probes.items():
        for var in vs:
            np.testing.assert_array_equal(r.probes[p][var][0], rec[f"{p}_{var}"], err_msg=f"{p}.{var}")
    return g


def test_recorded_lava_learning_bit_exact():
    """Lava 0.10's traces (committed) of input -> LearningDense(STDPLoihi) -> LIF -> LearningDense
    (custom Loihi2FLearningRule: x2, decimated u1*w decay, dd rule, epochs of 2, EXCITATORY,
    weight_exp 1) -> LIF: spikes, u, v and the weights of both at every step, bit for bit."""
    spec = json.loads((DATA / "learn.json").read_text())
    rec = np.load(DATA / "learn.npz")
    g = _assert_learning_bit_exact(spec, rec)
    assert g.projections["ld_stdp"].kind == "plastic" and g.projections["ld_stdp"].learning.mode == "lava"
    for k in ("ld_stdp", "ld_custom"):
        w = rec[f"{k}_weights"]
        assert (np.diff(w, axis=0) != 0).sum() > 1000          # the weights really learn
    assert rec["ld_stdp_weights"].min() == -256                  # and saturate at the bottom once


def test_live_lava_learning_bit_exact(tmp_path):
    run_peer("lava", "lava_run.py", tmp_path, "learning")
    spec = json.loads((tmp_path / "learn.json").read_text())
    assert spec == json.loads((DATA / "learn.json").read_text())
    rec, ref = np.load(tmp_path / "learn.npz"), np.load(DATA / "learn.npz")
    for k in ref.files:
        np.testing.assert_array_equal(rec[k], ref[k], err_msg=k)
    _assert_learning_bit_exact(spec, rec)


def test_graph_with_learning_to_lava_bit_exact(tmp_path):
    """A neurocore Graph with nc.STDP(mode="lava") and a custom rule -> LearningDense processes ->
    Lava's simulation == neurocore's, weights included."""
    need_venv("lava")
    rng = np.random.default_rng(21)
    g = nc.Graph()
    x = g.input(12, name="x")
    a = g.population(10, nc.CubaLIF(du=400, dv=150, vth=500, bias_mant=rng.integers(0, 12, 10), bias_exp=2), name="a")
    b = g.population(5, nc.CubaLIF(du=800, dv=300, vth=200, bias_mant=rng.integers(0, 10, 5), bias_exp=3), name="b")
    g.connect(x, a, rng.integers(-50, 120, (10, 12)), name="pa",
              learning=nc.STDP(A_plus=1, A_minus=-1, tau_plus=6, tau_minus=9, mode="lava", rng_seed=3))
    rule = nc.LearningRule(dw="2^-1 * y0 * x1 - 2^-2 * x0 * y2 - 2^-4 * u0 * w", x1_impulse=24.75, x1_tau=7,
                           y2_impulse=30, y2_tau=15, t_epoch=3, mode="lava", rng_seed=5, sign_mode="excitatory")
    g.connect(a, b, rng.integers(0, 100, (5, 10)), name="pb", learning=rule)
    spec = graph_spec(g)
    conv = lambda v: v.tolist() if isinstance(v, np.ndarray) else v
    (tmp_path / "g.json").write_text(json.dumps({k: [{kk: conv(vv) for kk, vv in r.items()} for r in rows]
                                                 for k, rows in spec.items()}))
    xs = (rng.random((120, 12)) < 0.3).astype(np.int64)
    np.savez(tmp_path / "g.npz", x=xs)
    run_peer("lava", "lava_run.py", tmp_path, "spec", str(tmp_path / "g.json"))
    rec = np.load(tmp_path / "spec.npz")
    probes = {"a": ["spikes", "u", "v"], "b": ["spikes", "u", "v"], "pa": ["weights"], "pb": ["weights"]}
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(xs[None].astype(np.int32), n_steps=120, probes=probes)
    assert rec["a_spikes"].sum() > 0 and rec["b_spikes"].sum() > 0
    for p, vs in probes.items():
        for var in vs:
            np.testing.assert_array_equal(r.probes[p][var][0], rec[f"{p}_{var}"], err_msg=f"{p}.{var}")
    assert (np.diff(rec["pb_weights"], axis=0) != 0).sum() > 0


def test_lava_learning_refusals_live(tmp_path):
    """lava_spec on Lava networks it cannot translate: each a LavaBridgeError naming the reason."""
    run_peer("lava", "lava_run.py", tmp_path, "refusals")
    msgs = json.loads((tmp_path / "refusals.json").read_text())
    assert "RewardModulatedSTDP" in msgs["rstdp"] and "three-factor" in msgs["rstdp"]
    assert "Loihi3FLearningRule" in msgs["loihi3f"]
    assert "graded pre spikes" in msgs["graded"]
    assert "tag_1 / tag_2" in msgs["tags"]
    assert "weight_exp -1" in msgs["weight_exp"]
    assert "s_in_bap" in msgs["bap"]
    assert msgs["quirk"].startswith("spec ok: ")          # Lava takes "(-y2)" (and drops its sign) ...
    with pytest.raises(LavaBridgeError, match=r"\(-y2\).*Lava would read it differently"):
        graph_from_spec(json.loads(msgs["quirk"][len("spec ok: "):]))     # ... neurocore refuses it


def test_learning_refusals():
    spec = json.loads((DATA / "learn.json").read_text())
    bad = json.loads(json.dumps(spec))
    bad["projections"][0]["learning"]["dw"] = "(x1 - 3 + 5) * y0"      # Lava reads (x1 - 3)
    with pytest.raises(LavaBridgeError, match="cannot express its rule exactly"):
        graph_from_spec(bad)
    bad = json.loads(json.dumps(spec))
    bad["projections"][1]["weight_exp"] = -2
    with pytest.raises(LavaBridgeError, match="negative weight_exp"):
        graph_from_spec(bad)
    g = nc.Graph()
    x = g.input(3, name="x")
    g.population(2, nc.CubaLIF(du=1, dv=1, vth=10), name="p")
    g.connect(x, "p", np.full((2, 3), 4), learning=nc.STDP(mode="chip"), name="chip")
    with pytest.raises(LavaBridgeError, match="mode='chip'"):
        graph_spec(g)
    g2 = nc.Graph()
    x = g2.input(3, name="x")
    r = g2.input(2, name="r")
    g2.population(2, nc.CubaLIF(du=1, dv=1, vth=10), name="p")
    g2.connect(x, "p", np.full((2, 3), 4), learning=nc.RSTDP(mode="lava"), name="rs")
    g2.connect(r, "p", nc.one_to_one(2), reward=True, name="rew")
    with pytest.raises(LavaBridgeError, match="three-factor"):
        graph_spec(g2)
