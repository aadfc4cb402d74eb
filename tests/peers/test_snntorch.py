"""snnTorch 1.0.0 -> NIR -> neurocore: spikes against snnTorch's own step-by-step simulation."""
import warnings

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurocore as nc
from neurocore.nir import from_nir, load_nir

from .conftest import run_peer, shifted_match

CHIP = nc.chip.loihi()


@pytest.fixture(scope="module")
def snn_out(tmp_path_factory):
    return run_peer("snntorch", "snntorch_run.py", tmp_path_factory.mktemp("snntorch"))


def _run_nc(g, x, pops, extra):
    b, t, n = x.shape
    xs = np.concatenate([x, np.zeros((b, extra, n), x.dtype)], axis=1)
    r = nc.Simulator(nc.compile(g, CHIP)).run(xs, n_steps=t + extra, probes={p: ["spikes"] for p in pops})
    return {p: r.probes[p]["spikes"].reshape(b, t + extra, -1) for p in pops}


def test_snntorch_leaky_mlp(snn_out):
    d = np.load(snn_out / "mlp.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = load_nir(snn_out / "mlp.nir", source="snntorch")
    assert g.meta["nir_import"]["dt"] == pytest.approx(1e-4)        # snnTorch writes r = tau/dt, dt = 1e-4
    assert int(g.nodes["1"].neuron.dv) == 256                        # beta = 15/16
    s = _run_nc(g, d["x"].astype(np.int32), ["1", "3"], 2)
    hid, out = shifted_match(d["spikes_1"], s["1"], 0), shifted_match(d["spikes_3"], s["3"], 1)
    print(f"snntorch mlp: hidden {hid:.4f}, output {out:.4f} of (sample, step, neuron) equal")
    assert d["spikes_3"].sum() > 0
    # Equal while v stays below 2 thresholds: above that, snnTorch's reset_delay=False "avoid double
    # reset" term (mem += (reset - spk)*thr with reset = mem_prev > thr) undoes a subtraction that
    # neurocore keeps (with gains 2x/3x this network measured 97.5 % / 86.9 %).
    assert hid >= 0.99 and out >= 0.99


def test_snntorch_rleaky_recurrent(snn_out):
    d = np.load(snn_out / "rec.npz")
    g = load_nir(snn_out / "rec.nir", source="snntorch")
    assert any(p.src == p.dst == "1.lif" for p in g.projections.values())   # the recurrent edge
    s = _run_nc(g, d["x"].astype(np.int32), ["1.lif"], 1)
    m = shifted_match(d["spikes_1"], s["1.lif"], 0)
    print(f"snntorch RLeaky: {m:.4f} equal")
    assert d["spikes_1"].sum() > 0 and m >= 0.99


def test_nested_subgraph_is_inlined():
    """A NIRGraph node inside a NIRGraph (how nir.NIRGraph nests a recurrent layer) imports."""
    inner = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([3])}),
                                "lif": nir.LIF(tau=np.full(3, 16e-4), r=np.full(3, 16.0), v_leak=np.zeros(3),
                                               v_threshold=np.ones(3)),
                                "w_rec": nir.Linear(weight=np.eye(3) * 0.5),
                                "output": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    outer = nir.NIRGraph(nodes={"in": nir.Input(input_type={"input": np.array([2])}),
                                "fc": nir.Linear(weight=np.ones((3, 2))), "rec": inner,
                                "out": nir.Output(output_type={"output": np.array([3])})},
                         edges=[("in", "fc"), ("fc", "rec"), ("rec", "out")], type_check=False)
    g = from_nir(outer, source="snntorch")
    assert "rec.lif" in g.nodes and g.meta["nir_import"]["dt"] == pytest.approx(1e-4)
    assert sorted((p.src, p.dst) for p in g.projections.values()) == [("in", "rec.lif"), ("rec.lif", "rec.lif")]
