"""Lava bridge: neurocore's run of a Lava network equals Lava's bit-accurate simulation."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

import neurocore as nc
from neurocore.lava import LavaBridgeError, graph_from_spec, graph_spec

from .conftest import VENVS, run_peer

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
    if not (VENVS / "lava" / "bin" / "python").exists():
        pytest.skip("no Lava venv (make it with Python 3.10: see README, Interoperability)")
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
