"""Run inside the sinabs venv: build a small seeded sinabs network, export it with
``sinabs.to_nir``, simulate it in sinabs on analog and on spike input, write an .npz.

Usage: python sinabs_run.py OUT_DIR
Writes OUT_DIR/{mlp,conv}.nir and OUT_DIR/{mlp,conv}.npz with keys x (B, T, ...) and
spikes_<layer> (B, T, n) for every spiking layer (sinabs' own forward pass), plus versions.
"""
import sys
from pathlib import Path

import nir
import numpy as np
import sinabs
import sinabs.layers as sl
import torch
from sinabs.activation import MembraneSubtract, SingleSpike

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
B, T = 4, 40


def iaf():
    return sl.IAFSqueeze(batch_size=B, spike_fn=SingleSpike, reset_fn=MembraneSubtract(), spike_threshold=1.0)


def lif(tau):
    return sl.LIFSqueeze(batch_size=B, tau_mem=tau, spike_fn=SingleSpike, reset_fn=MembraneSubtract(),
                         spike_threshold=1.0, norm_input=True)


def fill_none(graph, shapes):
    """sinabs 3.1.3 leaves Conv2d.input_shape and Flatten.input_type as None, which nir.write
    cannot store; fill them from the known layer shapes (nothing else is changed)."""
    for k, node in graph.nodes.items():
        if isinstance(node, nir.Conv2d) and node.input_shape is None:
            node.input_shape = np.array(shapes[k][1:])
        if isinstance(node, nir.Flatten) and (node.input_type or {}).get("input") is None:
            graph.nodes[k] = nir.Flatten(input_type={"input": np.array(shapes[k])}, start_dim=node.start_dim,
                                         end_dim=node.end_dim)


def run(name, model, x, shapes=None):
    """x: (B, T, ...) -> per spiking layer its spikes (B, T, n), then export."""
    for m in model.modules():          # to_nir of an earlier export ran the model: start from rest
        if isinstance(m, sl.StatefulLayer):
            m.reset_states()
    spikes = {}
    hooks = [m.register_forward_hook(lambda mod, i, o, k=k: spikes.__setitem__(k, o.detach().numpy()))
             for k, m in model.named_children() if isinstance(m, (sl.IAFSqueeze, sl.LIFSqueeze))]
    with torch.no_grad():
        model(torch.as_tensor(x).reshape(B * T, *x.shape[2:]))
    for h in hooks:
        h.remove()
    for m in model.modules():
        if isinstance(m, sl.StatefulLayer):
            m.reset_states()
    graph = sinabs.to_nir(model, torch.as_tensor(x[:1, 0]).repeat(B, *([1] * (x.ndim - 2))))
    fill_none(graph, shapes or {})
    nir.write(out / f"{name}.nir", graph)
    rec = {f"spikes_{k}": v.reshape(B, T, -1) for k, v in spikes.items()}
    np.savez(out / f"{name}.npz", x=x, sinabs=sinabs.__version__, nir=nir.__version__, torch=torch.__version__, **rec)


rng = np.random.default_rng(0)
# MLP 20-32-10: IAF hidden, LIF (tau 8 steps) output, analog input in [0, 1)
mlp = torch.nn.Sequential(torch.nn.Linear(20, 32), iaf(), torch.nn.Linear(32, 10, bias=False), lif(8.0))
with torch.no_grad():
    mlp[0].weight.mul_(1.5)
    mlp[2].weight.mul_(12.0)
x_analog = (np.round(rng.random((B, T, 20)) * 256) / 256).astype(np.float32)   # on neurocore's 1/256 input grid
run("mlp_float", mlp, x_analog)
# the same MLP with weights and biases on a 1/64 grid (a network quantized for a chip)
with torch.no_grad():
    for m in (mlp[0], mlp[2]):
        m.weight.copy_(torch.round(m.weight * 64) / 64)
        if m.bias is not None:
            m.bias.copy_(torch.round(m.bias * 64) / 64)
run("mlp", mlp, x_analog)
# Conv 2x8x8 -> conv3x3(4) -> IAF -> sumpool2 -> flatten -> linear 64->6 -> IAF, spike input
conv = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3, padding=1, bias=False), iaf(), sl.SumPool2d(2),
                           torch.nn.Flatten(), torch.nn.Linear(64, 6, bias=False), iaf())
with torch.no_grad():
    conv[0].weight.mul_(2.0)
run("conv", conv, (rng.random((B, T, 2, 8, 8)) < 0.3).astype(np.float32),
    shapes={"0": (2, 8, 8), "3": (4, 4, 4)})
print("ok", sinabs.__version__, nir.__version__)
