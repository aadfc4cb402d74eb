"""Run inside a tool's venv: import a NIR file with the tool's own reader, simulate it on
the given input and write every spiking layer's spikes.

Usage: python nir_import_run.py TOOL NIR_FILE INPUT_NPZ OUT_NPZ [DT]
TOOL: sinabs (sinabs.from_nir), snntorch (snntorch.import_nir.import_from_nir; its dt is fixed
at 1e-4), norse (norse.torch.from_nir, DT default 1e-3) or spikingjelly
(spikingjelly.activation_based.nir_exchange.from_nir.import_from_nir, DT default 1e-4).
INPUT_NPZ holds x (B, T, n). OUT_NPZ gets spikes_<module name> (B, T, n).
"""
import sys

import nir
import numpy as np
import torch

tool, path, inp, outp = sys.argv[1:5]
x = np.load(inp)["x"].astype(np.float32)
B, T = x.shape[:2]
graph = nir.read(path)
rec = {}


def hook(name):
    def f(mod, i, o):
        o = o[0] if isinstance(o, tuple) else o
        rec.setdefault(name, []).append(o.detach().numpy().copy())
    return f


with torch.no_grad():
    if tool == "sinabs":
        import sinabs
        import sinabs.layers as sl

        model = sinabs.from_nir(graph, batch_size=B)
        for k, m in model.named_modules():
            if isinstance(m, sl.StatefulLayer):
                m.register_forward_hook(hook(k))
        model(torch.as_tensor(x.reshape(B * T, *x.shape[2:])))
        spikes = {k: v[0].reshape(B, T, -1) for k, v in rec.items()}
        version = sinabs.__version__
    elif tool == "snntorch":
        import snntorch as snn
        from snntorch.import_nir import import_from_nir

        model = import_from_nir(graph)
        for k, m in model.named_modules():
            if isinstance(m, snn.SpikingNeuron):
                m.register_forward_hook(hook(k))
        for t in range(T):
            model(torch.as_tensor(x[:, t]))
        spikes = {k: np.stack(v, 1).reshape(B, T, -1) for k, v in rec.items()}
        version = snn.__version__
    elif tool == "norse":
        import norse.torch as nt
        from norse.torch.utils import import_nir as ni

        model = nt.from_nir(graph, dt=float(sys.argv[5]) if len(sys.argv) > 5 else 1e-3)
        for k, m in model.named_modules():
            if isinstance(m, (ni.CubaLIF, nt.LIFBoxCell, nt.IAFCell)) and not any(
                    k.startswith(j + ".") for j in rec):
                rec[k] = []
                m.register_forward_hook(hook(k))
        rec.clear()
        state = None
        for t in range(T):
            _, state = model(torch.as_tensor(x[:, t]), state)
        spikes = {k: np.stack(v, 1).reshape(B, T, -1) for k, v in rec.items()}
        version = "1.1.0"
    elif tool == "spikingjelly":
        import spikingjelly
        from spikingjelly.activation_based import functional
        from spikingjelly.activation_based.nir_exchange.from_nir import import_from_nir

        model = import_from_nir(graph, dt=float(sys.argv[5]) if len(sys.argv) > 5 else 1e-4)
        for k, m in model.named_modules():
            if type(m).__name__ == "_NIRStatefulModule":      # its wrapped node is called without hooks
                m.register_forward_hook(hook(k))
        state = None
        for t in range(T):
            _, state = model(torch.as_tensor(x[:, t]), state)
        functional.reset_net(model)
        spikes = {k: np.stack(v, 1).reshape(B, T, -1) for k, v in rec.items()}
        version = getattr(spikingjelly, "__version__", "2.0.0")
    else:
        raise SystemExit(f"unknown tool {tool!r}")
np.savez(outp, version=version, nir=nir.__version__, **{f"spikes_{k}": v for k, v in spikes.items()})
print("ok", sorted(spikes))
