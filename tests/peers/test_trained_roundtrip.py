"""The trained digits networks the other way: neurocore's graph (imported from the tool's
file) written with save_nir/to_nir, read by the tool's own NIR importer, simulated by the
tool, compared with neurocore's run of the same graph on the same graded input."""
from pathlib import Path

import numpy as np
import pytest

nir = pytest.importorskip("nir")

import neurocore as nc
from neurocore.nir import load_nir, save_nir, to_nir

from .conftest import need_venv, run_peer
from .test_trained import DATA, DT


def _roundtrip(case, tmp_path, write):
    tool = case.split("_")[0]
    need_venv(tool)
    d = np.load(DATA / f"{case}.npz")
    T = int(d["T"])
    g = load_nir(DATA / f"{case}.nir", source=tool, graded_inputs=True, dt=DT.get(tool))
    x = d["x"].astype(np.int32) * 16                  # round(x/16 * input_scale 256)
    dt = write(g, tmp_path / "nc.nir")
    inp = next(iter(g.nodes.values()))
    shape = tuple(inp.shape) if inp.shape is not None else (inp.n,)
    np.savez(tmp_path / "x.npz", x=np.repeat(x[:, None], T, 1).reshape(len(x), T, *shape).astype(np.float32))
    run_peer(tool, "nir_import_run.py", tool, str(tmp_path / "nc.nir"), str(tmp_path / "x.npz"),
             str(tmp_path / "out.npz"), str(dt))
    got = np.load(tmp_path / "out.npz")
    pops = [k for k, v in g.nodes.items() if hasattr(v, "neuron")]
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(np.repeat(x[:, None], T + 1, 1), n_steps=T + 1,
                                                          probes={p: ["spikes"] for p in pops})
    h, o = r.probes[pops[0]]["spikes"][:, :T], r.probes[pops[1]]["spikes"][:, 1:T + 1]
    th, to = got[f"spikes_{pops[0].replace('.', '.1_')}"], got[f"spikes_{pops[1]}"]   # snnTorch: 1.lif -> 1.1_lif
    mh, mo = float(np.mean(th == h)), float(np.mean(to == o))
    y = d["y"]
    acc_tool, acc_nc = float(np.mean(to.sum(1).argmax(1) == y)), float(np.mean(o.sum(1).argmax(1) == y))
    print(f"neurocore -> {case}: spikes equal hidden {mh:.5f} output {mo:.5f}; accuracy tool {acc_tool:.4f} "
          f"neurocore {acc_nc:.4f}")
    assert o.sum() > 0
    return mh, mo, acc_tool, acc_nc


def test_roundtrip_norse(tmp_path):
    """Norse reads neurocore's CubaLIF (du = 4095) as LIBox(tau_syn = dt) -> LIFBox: exact."""
    mh, mo, at, an = _roundtrip("norse", tmp_path, lambda g, p: (save_nir(g, p, dt=1e-3), 1e-3)[1])
    assert mh == mo == 1.0 and at == an


def test_roundtrip_spikingjelly(tmp_path):
    """SpikingJelly spikes at v >= threshold: to_nir(target="sinabs") writes the threshold one v
    unit up (the same tie rule as sinabs), and the round trip is exact (without it, measured
    99.967 % / 99.793 %)."""
    def write(g, p):
        nir.write(p, to_nir(g, dt=1e-4, target="sinabs"))
        return 1e-4
    mh, mo, at, an = _roundtrip("spikingjelly", tmp_path, write)
    assert mh == mo == 1.0 and at == an


def test_roundtrip_sinabs(tmp_path):
    """sinabs.from_nir makes MultiSpike IAF layers that clamp v at -threshold (min_v_mem): where v
    reaches two thresholds in a step or falls below -1 threshold it differs (measured 99.997 % /
    99.815 %, accuracy equal)."""
    mh, mo, at, an = _roundtrip("sinabs", tmp_path, lambda g, p: (save_nir(g, p, dt=1.0, compat="nir-1.0.4"), 1.0)[1])
    assert mh >= 0.999 and mo >= 0.995 and abs(at - an) <= 0.005


def test_roundtrip_snntorch_loses_subtractive_reset(tmp_path):
    """snnTorch 1.0's importer builds every CubaLIF as Synaptic(reset_mechanism="zero") at dt = 1e-4:
    the trained network resets by subtraction, which NIR cannot say, so snnTorch's run of the
    file differs (measured: spikes 93.47 % / 95.79 % equal). Reported, not hidden."""
    mh, mo, at, an = _roundtrip("snntorch", tmp_path, lambda g, p: (save_nir(g, p, dt=1e-4), 1e-4)[1])
    assert 0.9 <= mh < 0.99 and 0.9 <= mo < 0.99


def test_roundtrip_norse_cubalif(tmp_path):
    """A trained LIFBoxCell -> LIFCell network: neurocore's CubaLIF (du < 4095) read by Norse as
    LIBox -> LIFBox: exact."""
    mh, mo, at, an = _roundtrip("norse_cuba", tmp_path, lambda g, p: (save_nir(g, p, dt=1e-3), 1e-3)[1])
    assert mh == mo == 1.0 and at == an


def test_roundtrip_snntorch_recurrent(tmp_path):
    """The trained RLeaky network: snnTorch's importer rebuilds neurocore's self-loop as a recurrent
    layer (it prints "replace rnn subgraph with nirgraph"; neurocore's CubaLIF(du=4095) becomes
    RSynaptic(alpha=0), reset to zero). Measured 70.15 % / 79.03 % of spikes equal and 20.56 %
    accuracy in snnTorch (95.28 % in neurocore). Not only the lost subtractive reset: against the
    same graph with every reset set to zero it still agrees on only 69.6 % / 79.9 % (the cause
    inside snnTorch's recurrent import is not isolated)."""
    mh, mo, at, an = _roundtrip("snntorch_rec", tmp_path, lambda g, p: (save_nir(g, p, dt=1e-4), 1e-4)[1])
    assert 0.6 <= mh < 0.9 and 0.6 <= mo < 0.9


def test_roundtrip_sinabs_cnn(tmp_path):
    """The imported Conv2d and SumPool2d come back as conv2d projections with their ConvSpec, so
    to_nir writes Conv2d / SumPool2d nodes sinabs can read (it could not read the flat Affine it got
    before). MultiSpike's v clamp as in test_roundtrip_sinabs: measured 99.996 % / 99.589 %, accuracy
    equal (95.28 %)."""
    mh, mo, at, an = _roundtrip("sinabs_conv", tmp_path,
                                lambda g, p: (save_nir(g, p, dt=1.0, compat="nir-1.0.4"), 1.0)[1])
    assert mh >= 0.999 and mo >= 0.99 and abs(at - an) <= 0.005
