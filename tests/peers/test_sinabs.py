"""sinabs 3.1.3 -> NIR -> neurocore: spikes against sinabs' own simulation."""
import warnings

import numpy as np
import pytest

pytest.importorskip("nir")

import neurocore as nc
from neurocore.nir import load_nir

from .conftest import run_peer, shifted_match

CHIP = nc.chip.loihi()


@pytest.fixture(scope="module")
def sinabs_out(tmp_path_factory):
    return run_peer("sinabs", "sinabs_run.py", tmp_path_factory.mktemp("sinabs"))


def _run_nc(g, x, pops, extra):
    b, t = x.shape[:2]
    xs = np.concatenate([x.reshape(b, t, -1), np.zeros((b, extra, x[0, 0].size), x.dtype)], axis=1)
    r = nc.Simulator(nc.compile(g, CHIP)).run(xs, n_steps=t + extra, probes={p: ["spikes"] for p in pops})
    return {p: r.probes[p]["spikes"].reshape(b, t + extra, -1) for p in pops}


def test_sinabs_mlp_analog_input(sinabs_out):
    d = np.load(sinabs_out / "mlp.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")            # a named source: nothing is guessed
        g = load_nir(sinabs_out / "mlp.nir", source="sinabs", graded_inputs=True)
    imp = g.meta["nir_import"]
    assert imp["dt"] == 1.0 and imp["reset"] == "subtract" and imp["decay"] == "exp"
    assert g.nodes["1"].neuron.reset == "subtract"
    x = np.round(d["x"] * imp["input_scale"]).astype(np.int32)
    s = _run_nc(g, x, ["1", "3"], 2)
    hid, out = shifted_match(d["spikes_1"], s["1"], 0), shifted_match(d["spikes_3"], s["3"], 1)
    assert d["spikes_1"].sum() > 0 and d["spikes_3"].sum() > 0
    print(f"sinabs mlp: hidden IF {hid:.4f}, output LIF {out:.4f} of (sample, step, neuron) equal")
    # weights on a 1/64 grid, input on a 1/256 grid: the IF layer is exact; the LIF's
    # exp(-1/8) decay becomes dv = round(4096*(1 - exp(-1/8))) = 481 with trunc0 (measured 99.4 %).
    # (A bias on the second layer would get one extra step: neurocore's one-step latency.)
    assert hid == 1.0 and out >= 0.99


def test_sinabs_mlp_float_weights_quantization_error(sinabs_out):
    """Float weights: 8-bit weight quantization shifts some spikes by a step; measured, not hidden."""
    d = np.load(sinabs_out / "mlp_float.npz")
    g = load_nir(sinabs_out / "mlp_float.nir", source="sinabs", graded_inputs=True)
    x = np.round(d["x"] * g.meta["nir_import"]["input_scale"]).astype(np.int32)
    s = _run_nc(g, x, ["1", "3"], 2)
    hid, out = shifted_match(d["spikes_1"], s["1"], 0), shifted_match(d["spikes_3"], s["3"], 1)
    counts = np.abs(s["1"][:, :-2].sum(1) - d["spikes_1"].sum(1)).max()
    print(f"sinabs mlp, float weights: hidden {hid:.4f}, output {out:.4f} equal; hidden counts differ by <= {counts}")
    assert hid >= 0.97 and out >= 0.94 and counts <= 1      # measured 98.1 %, 95.3 %


def test_sinabs_conv_pool(sinabs_out):
    d = np.load(sinabs_out / "conv.npz")
    g = load_nir(sinabs_out / "conv.nir", source="sinabs")
    assert g.nodes["1"].shape == (4, 8, 8)
    s = _run_nc(g, d["x"].astype(np.int32), ["1", "5"], 2)
    conv, out = shifted_match(d["spikes_1"], s["1"], 0), shifted_match(d["spikes_5"], s["5"], 1)
    print(f"sinabs conv: conv IF {conv:.4f}, output IF {out:.4f} equal")
    assert d["spikes_5"].sum() > 0
    # float conv/linear weights, 8-bit on the chip (measured: 99.4 % and 98.2 %)
    assert conv >= 0.99 and out >= 0.97


def test_sinabs_without_source_warns(sinabs_out):
    with pytest.warns(UserWarning, match="reset"):
        g = load_nir(sinabs_out / "conv.nir")
    assert g.meta["nir_import"]["dt"] == 1.0          # r = 1 everywhere: discrete time
    assert g.nodes["1"].neuron.reset == "zero"
