"""Run inside the snnTorch venv: small seeded snnTorch networks, exported with
``snntorch.export_nir.export_to_nir`` and simulated step by step in snnTorch.

Usage: python snntorch_run.py OUT_DIR
Writes OUT_DIR/{mlp,rec}.nir and .npz (x (B, T, n_in), spikes_<layer> (B, T, n), versions).
The second layer has no bias: neurocore's one-step latency between populations would
add one extra step of it (see the README's Interoperability table).
Weights and biases lie on a 1/64 grid (a network quantized for a chip), beta = 15/16,
reset by subtraction with reset_delay=False (the reset in the spiking step, as neurocore).
beta is given per neuron: with a scalar beta, snnTorch 1.0's exporter writes shapeless LIF
nodes that nir 1.0.8's type check refuses ("type mismatch: 0.output: [[32]] -> 1.input: []").
"""
import sys
from pathlib import Path

import nir
import numpy as np
import snntorch as snn
import torch
from snntorch.export_nir import export_to_nir

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(1)
B, T, BETA = 4, 40, 15 / 16


def grid(model, gain):
    with torch.no_grad():
        for m, g in zip([m for m in model if isinstance(m, torch.nn.Linear)], gain):
            m.weight.copy_(torch.round(m.weight * g * 64) / 64)
            if m.bias is not None:
                m.bias.copy_(torch.round(m.bias * 64) / 64)


def run(name, model, x, spiking):
    for m in model.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.reset_hidden()
    rec = {k: [] for k in spiking}
    with torch.no_grad():
        for t in range(T):
            h = torch.as_tensor(x[:, t])
            for k, m in model.named_children():
                h = m(h)
                if isinstance(h, tuple):
                    h = h[0]
                if k in spiking:
                    rec[k].append(h.numpy().copy())
    graph = export_to_nir(model, torch.as_tensor(x[:, 0]), ignore_dims=[0])
    nir.write(out / f"{name}.nir", graph)
    np.savez(out / f"{name}.npz", x=x, snntorch=snn.__version__, nir=nir.__version__, torch=torch.__version__,
             **{f"spikes_{k}": np.stack(v, 1) for k, v in rec.items()})


mlp = torch.nn.Sequential(torch.nn.Linear(20, 32), snn.Leaky(beta=torch.full((32,), BETA), threshold=torch.ones(32), init_hidden=True, reset_delay=False),
                          torch.nn.Linear(32, 10, bias=False), snn.Leaky(beta=torch.full((10,), BETA), threshold=torch.ones(10), init_hidden=True, reset_delay=False))
grid(mlp, [1.0, 2.0])
run("mlp", mlp, (rng.random((B, T, 20)) < 0.3).astype(np.float32), ["1", "3"])

rec = torch.nn.Sequential(torch.nn.Linear(20, 16),
                          snn.RLeaky(beta=torch.full((16,), BETA), threshold=torch.ones(16), linear_features=16, init_hidden=True, reset_delay=False))
grid(rec, [1.0])
with torch.no_grad():
    rec[1].recurrent.weight.copy_(torch.round(rec[1].recurrent.weight * 64) / 64)
    rec[1].recurrent.bias.zero_()
run("rec", rec, (rng.random((B, T, 20)) < 0.3).astype(np.float32), ["1"])
print("ok", snn.__version__, nir.__version__)
