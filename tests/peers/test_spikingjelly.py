"""SpikingJelly 2.0.0 -> NIR -> neurocore: spikes against SpikingJelly's own multi-step simulation."""
import numpy as np
import pytest

pytest.importorskip("nir")

import neurocore as nc
from neurocore.nir import load_nir

from .conftest import run_peer, shifted_match


def test_spikingjelly_if_lif(tmp_path):
    out = run_peer("spikingjelly", "spikingjelly_run.py", tmp_path)
    d = np.load(out / "mlp.npz")
    with pytest.warns(UserWarning, match="default dt"):
        g = load_nir(out / "mlp.nir", source="spikingjelly")
    assert int(g.nodes["_3"].neuron.dv) == 512            # tau = 8 steps, written as 8 * 1e-4 s
    assert g.nodes["_1"].neuron.reset == "zero"
    b, t, n = d["x"].shape
    xs = np.concatenate([d["x"], np.zeros((b, 1, n), np.float32)], axis=1).astype(np.int32)
    r = nc.Simulator(nc.compile(g, nc.chip.loihi())).run(xs, n_steps=t + 1,
                                                          probes={"_1": ["spikes"], "_3": ["spikes"]})
    m1 = shifted_match(d["spikes_1"], r.probes["_1"]["spikes"], 0)
    m3 = shifted_match(d["spikes_3"], r.probes["_3"]["spikes"], 1)
    print(f"spikingjelly: IF {m1:.4f}, LIF {m3:.4f} equal")
    assert d["spikes_1"].sum() > 0 and d["spikes_3"].sum() > 0
    assert m1 >= 0.99 and m3 >= 0.99      # measured 99.7 %, 99.6 % (float weights, 8-bit on the chip)
