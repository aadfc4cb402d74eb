"""Trained digits networks of sinabs, snnTorch, Norse and SpikingJelly: the tool's NIR export
imported with load_nir and run by neurocore against the tool's own simulation.

The files in tests/data/peers_trained were made by tests/peers/make_trained.py (each tool in
its venv; versions inside each .npz). Always: neurocore against the committed tool outputs.
With the tool's venv: the tool's simulation re-run live from the committed weights (it must
give the committed spikes again) and neurocore on the live export.
"""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nir")

import neurocore as nc
from neurocore.nir import load_nir

from .conftest import run_peer

DATA = Path(__file__).resolve().parents[1] / "data" / "peers_trained"
#: cases: the tool is the part before "_" (sinabs_conv: a converted CNN; snntorch_rec: an RLeaky
#: recurrent layer, a nested NIR subgraph; norse_cuba: a LIFCell, NIR CubaLIF, output layer)
TOOLS = ["sinabs", "sinabs_conv", "snntorch", "snntorch_rec", "norse", "norse_cuba", "spikingjelly"]
DT = {"norse": 1e-3, "spikingjelly": 1e-4}      # the step each exporter was told; sinabs/snnTorch: from r
#: measured (neuron, step) agreement, grid weights: hidden, output (see test_trained_matches_tool)
MIN_MATCH = {"sinabs": (1.0, 1.0), "sinabs_conv": (1.0, 1.0), "snntorch": (0.999, 0.99), "snntorch_rec": (0.99, 0.975),
             "norse": (1.0, 1.0), "norse_cuba": (1.0, 1.0), "spikingjelly": (0.999, 0.99)}
#: accuracy difference allowed (points / 100): 0.5 points, except where the dynamics differ (snntorch_rec,
#: see test_snntorch_recurrent_mismatch_cause: measured 0.56 points)
ACC_TOL = {"snntorch_rec": 0.01}
#: float weights (8-bit on import): (accuracy tolerance, min hidden match, min output match)
FLOAT_TOL = {"sinabs_conv": (0.006, 0.95, 0.97), "snntorch_rec": (0.005, 0.95, 0.95)}


def _neurocore(nir_path, case, x_digits, T):
    """neurocore's run of the tool's NIR on x/16 held for T steps: hidden (N, T, H), out (N, T, 10),
    output aligned with the tool's steps (neurocore's second layer spikes one step later)."""
    tool = case.split("_")[0]
    g = load_nir(nir_path, source=tool, graded_inputs=True, dt=DT.get(tool))
    scale = g.meta["nir_import"]["input_scale"]
    x = np.round(x_digits.astype(np.float64) / 16 * scale).astype(np.int32)      # exact: x/16 on a 1/16 grid
    assert x.shape[1] == g.nodes[next(iter(g.nodes))].n
    pops = [k for k, v in g.nodes.items() if hasattr(v, "neuron")]
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(np.repeat(x[:, None], T + 1, 1), n_steps=T + 1,
                                                          probes={p: ["spikes"] for p in pops})
    return g, r.probes[pops[0]]["spikes"][:, :T], r.probes[pops[1]]["spikes"][:, 1:T + 1]


def _compare(d, hid, out, suffix=""):
    y = d["y"]
    pred = out.sum(1).argmax(1)
    acc_tool, acc_nc = float(np.mean(d[f"pred{suffix}"] == y)), float(np.mean(pred == y))
    mh = float(np.mean(hid == d[f"hidden{suffix}"]))
    mo = float(np.mean(out == d[f"out{suffix}"]))
    return acc_tool, acc_nc, mh, mo


@pytest.mark.parametrize("tool", TOOLS)
def test_trained_matches_tool(tool):
    """Grid weights (the tool's network quantized for an 8-bit chip): accuracy within 0.5 points,
    (neuron, step) spikes >= 99 %. Measured (python -m pytest tests/peers/test_trained.py -s):
    hidden / output spikes equal, accuracy tool vs neurocore: sinabs 100 % / 100 %, 96.94 both;
    sinabs CNN 100 % / 100 %, 95.28 both; Norse 100 % / 100 %, 94.17 both; Norse with a LIFCell
    output 100 % / 100 %, 95.83 both; snnTorch RLeaky 99.08 % / 97.92 %, 94.72 vs 95.28
    (test_snntorch_recurrent_mismatch_cause); snnTorch 99.998 % / 99.694 %, 95.56 vs 95.83 (its
    reset_delay=False "double reset" term above two thresholds); SpikingJelly 99.967 % /
    99.793 %, 94.17 both (it spikes at v == threshold; with zero reset neurocore's v0 = 1
    shift of IF does not apply, see neurocore.nir_sources)."""
    d = np.load(DATA / f"{tool}.npz")
    _, hid, out = _neurocore(DATA / f"{tool}.nir", tool, d["x"], int(d["T"]))
    acc_tool, acc_nc, mh, mo = _compare(d, hid, out)
    print(f"{tool} {d['tool_version']}: accuracy tool {acc_tool:.4f} neurocore {acc_nc:.4f}; "
          f"spikes equal hidden {mh:.5f} output {mo:.5f}")
    assert acc_tool > 0.9 and d["out"].sum() > 0
    assert abs(acc_tool - acc_nc) <= ACC_TOL.get(tool, 0.005)
    assert mh >= MIN_MATCH[tool][0] and mo >= MIN_MATCH[tool][1]


@pytest.mark.parametrize("tool", TOOLS)
def test_trained_float_weights_quantization_error(tool):
    """The float weights as trained: neurocore quantizes them to 8 bits on import; the error is
    measured and bounded, not hidden. Measured (hidden / output spikes equal, accuracy tool vs
    neurocore): sinabs 95.95 % / 98.17 %, 97.22 vs 96.94; sinabs CNN 97.46 % / 97.95 %, 95.83 vs
    95.28; snnTorch 97.65 % / 98.38 %, 95.56 vs 95.83; snnTorch RLeaky 97.38 % / 95.33 %, 95.28
    both; Norse 99.22 % / 98.84 %, 94.44 vs 94.17; Norse LIFCell 99.34 % / 98.85 %, 95.83 both;
    SpikingJelly 99.32 % / 98.69 %, 94.17 both."""
    d = np.load(DATA / f"{tool}.npz")
    _, hid, out = _neurocore(DATA / f"{tool}_float.nir", tool, d["x"], int(d["T"]))
    acc_tool, acc_nc, mh, mo = _compare(d, hid, out, "_float")
    print(f"{tool} float weights: accuracy tool {acc_tool:.4f} neurocore {acc_nc:.4f}; "
          f"spikes equal hidden {mh:.5f} output {mo:.5f}")
    tol, min_h, min_o = FLOAT_TOL.get(tool, (0.005, 0.95, 0.97))
    assert abs(acc_tool - acc_nc) <= tol and mh >= min_h and mo >= min_o


@pytest.mark.parametrize("tool", TOOLS)
def test_trained_live(tool, tmp_path):
    """The tool's own simulation, re-run now from the committed weights, gives the committed
    spikes; neurocore on the tool's fresh export matches as on the committed file."""
    run_peer(tool.split("_")[0], "trained_run.py", tmp_path, tool, "sim", str(DATA / f"{tool}.npz"))
    live, ref = np.load(tmp_path / f"{tool}.npz"), np.load(DATA / f"{tool}.npz")
    for k in ("hidden", "out", "pred", "out_float"):
        np.testing.assert_array_equal(live[k], ref[k], err_msg=k)
    _, hid, out = _neurocore(tmp_path / f"{tool}.nir", tool, ref["x"], int(ref["T"]))
    acc_tool, acc_nc, mh, mo = _compare(ref, hid, out)
    assert abs(acc_tool - acc_nc) <= ACC_TOL.get(tool, 0.005)
    assert mh >= MIN_MATCH[tool][0] and mo >= MIN_MATCH[tool][1]


def test_snntorch_recurrent_mismatch_cause():
    """Why the trained RLeaky network differs (hidden 99.08 %, output 97.92 %, accuracy 94.72 vs
    95.28 %): snnTorch's reset_delay=False step decides the spike on v - threshold whenever the
    previous step's v *after* its reset still exceeded the threshold (its "avoid double reset"
    term, see test_snntorch.py), neurocore on v. Measured: in every one of the 190 samples with
    a differing hidden spike, the first difference follows a step where neurocore's post-reset
    v was above the threshold."""
    d = np.load(DATA / "snntorch_rec.npz")
    g = load_nir(DATA / "snntorch_rec.nir", source="snntorch", graded_inputs=True)
    T = int(d["T"])
    x = d["x"].astype(np.int32) * 16
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(np.repeat(x[:, None], T + 1, 1), n_steps=T + 1,
                                                          probes={"1.lif": ["spikes", "v"]})
    h, v = r.probes["1.lif"]["spikes"][:, :T], r.probes["1.lif"]["v"][:, :T]
    theta = g.nodes["1.lif"].neuron.vth * 2 ** nc.chip.loihi().vth_shift
    firsts = [np.argwhere(h[b] != d["hidden"][b]) for b in range(len(h))]
    firsts = [(b, *f[f[:, 0].argmin()]) for b, f in enumerate(firsts) if len(f)]
    assert len(firsts) > 100
    assert all(t > 0 and v[b, t - 1, n] > theta for b, t, n in firsts)
