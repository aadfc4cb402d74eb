"""Run inside the SpikingJelly venv (spikingjelly 2.0.0): a seeded multi-step network,
exported with ``spikingjelly.activation_based.nir_exchange.to_nir.export_to_nir`` (dt = 1e-4,
its default) and simulated in SpikingJelly.

Usage: python spikingjelly_run.py OUT_DIR -> OUT_DIR/mlp.nir, mlp.npz (x (B, T, 20), spikes_1, spikes_3)
Linear(20, 32) -> IFNode -> Linear(32, 10, no bias) -> LIFNode(tau = 8, decay_input), hard
reset to 0, float weights (SpikingJelly spikes at v >= threshold; ties have measure zero).
"""
import sys
from pathlib import Path

import nir
import numpy as np
import spikingjelly
import torch
from spikingjelly.activation_based import functional, layer, neuron
from spikingjelly.activation_based.nir_exchange.to_nir import export_to_nir

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(6)
B, T = 4, 40
net = torch.nn.Sequential(layer.Linear(20, 32), neuron.IFNode(), layer.Linear(32, 10, bias=False),
                          neuron.LIFNode(tau=8.0))
functional.set_step_mode(net, "m")
with torch.no_grad():
    net[0].weight.mul_(1.5)
    net[2].weight.mul_(16.0)
x = (rng.random((B, T, 20)) < 0.3).astype(np.float32)
rec = {}
for k in ("1", "3"):
    net[int(k)].register_forward_hook(lambda m, i, o, k=k: rec.__setitem__(k, o.detach().numpy().copy()))
with torch.no_grad():
    net(torch.as_tensor(x).transpose(0, 1))          # (T, B, n)
saved = dict(rec)                                    # export runs the net again
functional.reset_net(net)
graph = export_to_nir(net, torch.as_tensor(x).transpose(0, 1)[:, :1], dt=1e-4)
functional.reset_net(net)
nir.write(out / "mlp.nir", graph)
np.savez(out / "mlp.npz", x=x, spikingjelly=getattr(spikingjelly, "__version__", "2.0.0"), nir=nir.__version__,
         **{f"spikes_{k}": v.transpose(1, 0, 2) for k, v in saved.items()})
print("ok", nir.__version__)
