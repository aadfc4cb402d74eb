"""Run inside the Norse venv (norse 1.1.0): a small seeded Norse network, exported with
``norse.torch.to_nir`` (dt = 1 ms, Norse's default) and simulated step by step in Norse.

Usage: python norse_run.py OUT_DIR -> OUT_DIR/mlp.nir, mlp.npz (x, spikes_1, spikes_3, versions)
Linear(20, 32) -> LIFBoxCell (tau_mem_inv 125/s) -> Linear(32, 10) -> LIFCell (tau_syn_inv
250/s, tau_mem_inv 125/s); weights on a 1/64 grid, no biases (a bias after the first layer
would get one extra step in neurocore). dt/tau = 1/8 and 1/4: decays exact on 4096.
"""
import sys
from pathlib import Path

import nir
import norse
import norse.torch as nt
import numpy as np
import torch

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
rng = np.random.default_rng(4)
B, T = 4, 40
# per-neuron parameters: scalar ones become 0-d NIR arrays that nir 1.0.8's writer refuses
# ("Scalar datasets don't support chunk/filter options")
f = lambda n, v: torch.full((n,), float(v))
box = nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=f(32, 125), v_th=f(32, 1), v_leak=f(32, 0), v_reset=f(32, 0)))
cell = nt.LIFCell(nt.LIFParameters(tau_syn_inv=f(10, 250), tau_mem_inv=f(10, 125), v_th=f(10, 1), v_leak=f(10, 0),
                                   v_reset=f(10, 0)))
model = nt.SequentialState(torch.nn.Linear(20, 32, bias=False), box, torch.nn.Linear(32, 10, bias=False), cell)
with torch.no_grad():
    model[0].weight.copy_(torch.round(model[0].weight * 8 * 64) / 64)
    model[2].weight.copy_(torch.round(model[2].weight * 12 * 64) / 64)
x = (rng.random((B, T, 20)) < 0.3).astype(np.float32)
rec = {"1": [], "3": []}
state = None
with torch.no_grad():
    for t in range(T):
        h = torch.as_tensor(x[:, t])
        h = model[0](h)
        s1, st1 = model[1](h, None if state is None else state[0])
        s3, st3 = model[3](model[2](s1), None if state is None else state[1])
        state = (st1, st3)
        rec["1"].append(s1.numpy().copy())
        rec["3"].append(s3.numpy().copy())
graph = nt.to_nir(model, torch.as_tensor(x[0, 0]), dt=1e-3)
nir.write(out / "mlp.nir", graph)
np.savez(out / "mlp.npz", x=x, norse=norse.__version__ if hasattr(norse, "__version__") else "1.1.0",
         nir=nir.__version__, torch=torch.__version__, **{f"spikes_{k}": np.stack(v, 1) for k, v in rec.items()})
print("ok", nir.__version__)
