"""Run inside one tool's venv: a small network trained on sklearn's digits (bundled, no
download) the way that tool's users train it, exported to NIR by the tool, simulated by
the tool on the test digits.

Usage:
  python trained_run.py OUT_DIR TOOL train          # train, quantize, export, simulate
  python trained_run.py OUT_DIR TOOL sim WEIGHTS    # rebuild from WEIGHTS (a TOOL.npz), export, simulate

TOOL (a case; its venv is the part before "_"): sinabs | sinabs_conv | snntorch | snntorch_rec |
norse | norse_cuba | spikingjelly. Writes OUT_DIR/TOOL.nir and OUT_DIR/TOOL.npz: w0, w1, ...
float32 weights of the weight-carrying modules in module order; x (N, 64) uint8 test digits (0..16; the network sees
x/16 as a constant analog input every step); y (N,) labels; hidden, out (N, T, H/10) uint8
spikes of the tool's own simulation; pred (N,) its predictions (argmax of output spike counts,
first index on ties); the same with suffix _float for the trained float weights (before they
were put on the grid, exported as OUT_DIR/TOOL_float.nir); versions.

Training (seeded, CPU, a few seconds): 64 -> H -> 10, no biases.
* sinabs: a ReLU ANN trained in torch, weights normalised by the 99.9th percentile of each
  layer's activations, then ``sinabs.from_model`` (IAF, MembraneSubtract, SingleSpike,
  min_v_mem=None: neurocore neither emits several spikes per step nor clamps v), T = 32.
* snnTorch: ``Leaky`` (beta 15/16, reset by subtraction, reset_delay=False) with
  ``surrogate.fast_sigmoid``, ``ce_count_loss``-style cross-entropy on spike counts, T = 16.
* Norse: ``LIFBoxCell`` (tau_mem_inv 250/s at dt = 1 ms: dt/tau = 1/4) with its SuperSpike
  surrogate, T = 16.
* SpikingJelly: multi-step ``IFNode`` then ``LIFNode(tau=2)``, its Sigmoid surrogate, T = 16.
After training every weight matrix is put on a power-of-two grid with 127 steps at most
(``round(w / step) * step``, the tool's own network then runs those weights): a network
quantized for an 8-bit chip, so that neurocore's integer import is exact and what remains
is the dynamics.
"""
import sys
from pathlib import Path

import nir
import numpy as np
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
out, tool = Path(sys.argv[1]), sys.argv[2]
mode = sys.argv[3]
out.mkdir(parents=True, exist_ok=True)
H, N_TEST = 48, 360
STEPS = {"sinabs": 32, "sinabs_conv": 32, "snntorch": 16, "snntorch_rec": 16, "norse": 16, "norse_cuba": 16,
         "spikingjelly": 16}
T = STEPS[tool]


def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.data.astype(np.uint8), d.target.astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(y))
    te, tr = perm[:N_TEST], perm[N_TEST:]
    return x[tr], y[tr], x[te], y[te]


def grid(w: torch.Tensor) -> torch.Tensor:
    step = 2.0 ** np.ceil(np.log2(float(w.abs().max()) / 127))
    return torch.round(w / step) * step


def linears(model):
    """Every weight-carrying module (Linear, Conv2d; an RLeaky's recurrent Linear) in module order."""
    return [m for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]


def set_weights(model, ws):
    with torch.no_grad():
        for m, w in zip(linears(model), ws):
            m.weight.copy_(torch.as_tensor(w))


def fit(model, step_fn, xtr, ytr, epochs, lr):
    """Surrogate-gradient training on spike counts (cross-entropy), Adam, batches of 64."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xs, ys = torch.as_tensor(xtr / 16.0, dtype=torch.float32), torch.as_tensor(ytr)
    g = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        for idx in torch.randperm(len(ys), generator=g).split(64):
            _, counts = step_fn(model, xs[idx])
            loss = torch.nn.functional.cross_entropy(counts, ys[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


# ---- per tool: build(), run(model, x (B, 64) float) -> (hidden (B,T,H), out (B,T,10)), export(model) ----

def sinabs_tool():
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike

    def build(ws):
        ann = torch.nn.Sequential(torch.nn.Linear(64, H, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(H, 10, bias=False))
        set_weights(ann, ws)
        return sinabs.from_model(ann, input_shape=(64,), spike_fn=SingleSpike, reset_fn=MembraneSubtract(),
                                 min_v_mem=None, batch_size=N_TEST, add_spiking_output=True).spiking_model

    def run(model, x):
        for m in model.modules():
            if isinstance(m, sl.StatefulLayer):
                m.reset_states()
        rec = {}
        hooks = [m.register_forward_hook(lambda mod, i, o, k=k: rec.__setitem__(k, o.detach().numpy()))
                 for k, m in model.named_children() if isinstance(m, sl.IAFSqueeze)]
        with torch.no_grad():
            model(x[:, None].repeat(1, T, 1).reshape(-1, 64))
        for h in hooks:
            h.remove()
        b = x.shape[0]
        h1, o = (rec[k].reshape(b, T, -1) for k in [k for k, m in model.named_children() if isinstance(m, sl.IAFSqueeze)])
        return h1, o

    def export(model):
        for m in model.modules():
            if isinstance(m, sl.StatefulLayer):
                m.reset_states()
        return sinabs.to_nir(model, torch.zeros(N_TEST, 64))

    def train(xtr, ytr):
        ann = torch.nn.Sequential(torch.nn.Linear(64, H, bias=False), torch.nn.ReLU(),
                                  torch.nn.Linear(H, 10, bias=False))
        opt = torch.optim.Adam(ann.parameters(), lr=3e-3)
        xs, ys = torch.as_tensor(xtr / 16.0, dtype=torch.float32), torch.as_tensor(ytr)
        g = torch.Generator().manual_seed(0)
        for _ in range(40):
            for idx in torch.randperm(len(ys), generator=g).split(64):
                loss = torch.nn.functional.cross_entropy(ann(xs[idx]), ys[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():   # data-based normalisation (Diehl et al. 2015), 99.9th percentile
            a1 = torch.relu(ann[0](xs))
            l1 = float(torch.quantile(a1.flatten(), 0.999))
            l2 = float(torch.quantile(ann[2](a1).clamp(min=0).flatten(), 0.999))
            return [ann[0].weight / l1, ann[2].weight * l1 / l2]

    return build, run, export, train, sinabs.__version__


def snntorch_tool():
    import snntorch as snn
    from snntorch import surrogate
    from snntorch.export_nir import export_to_nir

    beta = 15 / 16

    def build(ws):
        sg = surrogate.fast_sigmoid()
        lk = lambda n, **k: snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True,
                                      reset_delay=False, spike_grad=sg, learn_beta=False, **k)
        net = torch.nn.Sequential(torch.nn.Linear(64, H, bias=False), lk(H), torch.nn.Linear(H, 10, bias=False),
                                  lk(10))
        if ws is not None:
            set_weights(net, ws)
        return net

    def steps(net, x):
        for m in net.modules():
            if isinstance(m, snn.SpikingNeuron):
                m.reset_hidden()
        hs, os_ = [], []
        for _ in range(T):
            h = net[1](net[0](x))
            o = net[3](net[2](h))
            hs.append(h)
            os_.append(o)
        return (torch.stack(hs, 1), torch.stack(os_, 1)), torch.stack(os_, 1).sum(1)

    def run(net, x):
        with torch.no_grad():
            (h, o), _ = steps(net, x)
        return h.numpy(), o.numpy()

    def export(net):
        for m in net.modules():
            if isinstance(m, snn.SpikingNeuron):
                m.reset_hidden()
        return export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])

    def train(xtr, ytr):
        net = build(None)
        with torch.no_grad():
            net[0].weight.mul_(4.0)
            net[2].weight.mul_(4.0)
        fit(net, steps, xtr, ytr, 30, 5e-3)
        return [m.weight.detach() for m in linears(net)]

    return build, run, export, train, snn.__version__


def norse_tool():
    import norse.torch as nt

    f = lambda n, v: torch.full((n,), float(v))

    def build(ws):
        box = lambda n: nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=f(n, 250), v_th=f(n, 1), v_leak=f(n, 0),
                                                          v_reset=f(n, 0)))
        net = nt.SequentialState(torch.nn.Linear(64, H, bias=False), box(H), torch.nn.Linear(H, 10, bias=False),
                                 box(10))
        if ws is not None:
            set_weights(net, ws)
        return net

    def steps(net, x):
        s1 = s3 = None
        hs, os_ = [], []
        for _ in range(T):
            h, s1 = net[1](net[0](x), s1)
            o, s3 = net[3](net[2](h), s3)
            hs.append(h)
            os_.append(o)
        return (torch.stack(hs, 1), torch.stack(os_, 1)), torch.stack(os_, 1).sum(1)

    def run(net, x):
        with torch.no_grad():
            (h, o), _ = steps(net, x)
        return h.numpy(), o.numpy()

    def export(net):
        return nt.to_nir(net, torch.zeros(64), dt=1e-3)

    def train(xtr, ytr):
        net = build(None)
        with torch.no_grad():
            net[0].weight.mul_(8.0)
            net[2].weight.mul_(8.0)
        fit(net, steps, xtr, ytr, 15, 5e-3)
        return [m.weight.detach() for m in linears(net)]

    return build, run, export, train, "1.1.0"


def spikingjelly_tool():
    import spikingjelly
    from spikingjelly.activation_based import functional, layer, neuron, surrogate
    from spikingjelly.activation_based.nir_exchange.to_nir import export_to_nir

    def build(ws):
        net = torch.nn.Sequential(layer.Linear(64, H, bias=False), neuron.IFNode(surrogate_function=surrogate.Sigmoid()),
                                  layer.Linear(H, 10, bias=False),
                                  neuron.LIFNode(tau=2.0, surrogate_function=surrogate.Sigmoid()))
        functional.set_step_mode(net, "m")
        if ws is not None:
            set_weights(net, ws)
        return net

    def steps(net, x):
        functional.reset_net(net)
        xt = x[None].repeat(T, 1, 1)
        h = net[1](net[0](xt))
        o = net[3](net[2](h))
        return (h.transpose(0, 1), o.transpose(0, 1)), o.sum(0)

    def run(net, x):
        with torch.no_grad():
            (h, o), _ = steps(net, x)
        functional.reset_net(net)
        return h.numpy(), o.numpy()

    def export(net):
        functional.reset_net(net)
        g = export_to_nir(net, torch.zeros(T, 1, 64), dt=1e-4)
        functional.reset_net(net)
        return g

    def train(xtr, ytr):
        net = build(None)
        with torch.no_grad():
            net[0].weight.mul_(4.0)
            net[2].weight.mul_(4.0)
        fit(net, steps, xtr, ytr, 15, 5e-3)
        return [m.weight.detach() for m in linears(net)]

    return build, run, export, train, getattr(spikingjelly, "__version__", "2.0.0")


def sinabs_conv_tool():
    """Conv2d(1, 6, 3, pad 1) -> ReLU -> SumPool2d(2) -> Flatten -> Linear(96, 10): sinabs.from_model.
    (sinabs' to_nir has no AvgPool2d: its users pool with sinabs.layers.SumPool2d.)"""
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import MembraneSubtract, SingleSpike

    def ann():
        return torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, padding=1, bias=False), torch.nn.ReLU(),
                                   sl.SumPool2d(2), torch.nn.Flatten(), torch.nn.Linear(96, 10, bias=False))

    def build(ws):
        a = ann()
        set_weights(a, ws)
        return sinabs.from_model(a, input_shape=(1, 8, 8), spike_fn=SingleSpike, reset_fn=MembraneSubtract(),
                                 min_v_mem=None, batch_size=N_TEST, add_spiking_output=True).spiking_model

    def run(model, x):
        for m in model.modules():
            if isinstance(m, sl.StatefulLayer):
                m.reset_states()
        rec = {}
        names = [k for k, m in model.named_children() if isinstance(m, sl.IAFSqueeze)]
        hooks = [getattr(model, k).register_forward_hook(lambda mod, i, o, k=k: rec.__setitem__(k, o.detach().numpy()))
                 for k in names]
        with torch.no_grad():
            model(x.reshape(-1, 1, 8, 8)[:, None].repeat(1, T, 1, 1, 1).reshape(-1, 1, 8, 8))
        for h in hooks:
            h.remove()
        b = x.shape[0]
        return tuple(rec[k].reshape(b, T, -1) for k in names)

    def export(model):
        for m in model.modules():
            if isinstance(m, sl.StatefulLayer):
                m.reset_states()
        graph = sinabs.to_nir(model, torch.zeros(N_TEST, 1, 8, 8))
        # sinabs 3.1.3 leaves Conv2d.input_shape and Flatten.input_type None, which nir.write cannot
        # store: fill them from the known shapes (nothing else changes)
        for k, node in graph.nodes.items():
            if isinstance(node, nir.Conv2d) and node.input_shape is None:
                node.input_shape = np.array([8, 8])
            if isinstance(node, nir.Flatten) and (node.input_type or {}).get("input") is None:
                graph.nodes[k] = nir.Flatten(input_type={"input": np.array([6, 4, 4])}, start_dim=node.start_dim,
                                             end_dim=node.end_dim)
        return graph

    def train(xtr, ytr):
        a = ann()
        opt = torch.optim.Adam(a.parameters(), lr=3e-3)
        xs, ys = torch.as_tensor(xtr / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8), torch.as_tensor(ytr)
        g = torch.Generator().manual_seed(0)
        for _ in range(30):
            for idx in torch.randperm(len(ys), generator=g).split(64):
                loss = torch.nn.functional.cross_entropy(a(xs[idx]), ys[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():   # data-based normalisation, 99.9th percentile per spiking layer
            a1 = torch.relu(a[0](xs))
            l1 = float(torch.quantile(a1.flatten(), 0.999))
            l2 = float(torch.quantile(a[4](a[3](a[2](a1))).clamp(min=0).flatten(), 0.999))
            return [a[0].weight / l1, a[4].weight * l1 / l2]

    return build, run, export, train, sinabs.__version__


def snntorch_rec_tool():
    """Linear(64, 48) -> RLeaky(48, all-to-all recurrent Linear without bias) -> Linear(48, 10) -> Leaky."""
    import snntorch as snn
    from snntorch import surrogate
    from snntorch.export_nir import export_to_nir

    beta = 15 / 16

    def build(ws):
        sg = surrogate.fast_sigmoid()
        kw = dict(init_hidden=True, reset_delay=False, spike_grad=sg, learn_beta=False)
        net = torch.nn.Sequential(torch.nn.Linear(64, H, bias=False),
                                  snn.RLeaky(beta=torch.full((H,), beta), threshold=torch.ones(H), linear_features=H,
                                             **kw),
                                  torch.nn.Linear(H, 10, bias=False),
                                  snn.Leaky(beta=torch.full((10,), beta), threshold=torch.ones(10), **kw))
        with torch.no_grad():
            net[1].recurrent.bias.zero_()
        net[1].recurrent.bias.requires_grad_(False)
        if ws is not None:
            set_weights(net, ws)
        return net

    def steps(net, x):
        for m in net.modules():
            if isinstance(m, snn.SpikingNeuron):
                m.reset_hidden()
        hs, os_ = [], []
        for _ in range(T):
            h = net[1](net[0](x))
            o = net[3](net[2](h))
            hs.append(h)
            os_.append(o)
        return (torch.stack(hs, 1), torch.stack(os_, 1)), torch.stack(os_, 1).sum(1)

    def run(net, x):
        with torch.no_grad():
            (h, o), _ = steps(net, x)
        return h.numpy(), o.numpy()

    def export(net):
        for m in net.modules():
            if isinstance(m, snn.SpikingNeuron):
                m.reset_hidden()
        return export_to_nir(net, torch.zeros(1, 64), ignore_dims=[0])

    def train(xtr, ytr):
        net = build(None)
        with torch.no_grad():
            net[0].weight.mul_(4.0)
            net[2].weight.mul_(4.0)
            net[1].recurrent.weight.mul_(0.5)
        fit(net, steps, xtr, ytr, 30, 5e-3)
        return [m.weight.detach() for m in linears(net)]

    return build, run, export, train, snn.__version__


def norse_cuba_tool():
    """Linear(64, 48) -> LIFBoxCell -> Linear(48, 10) -> LIFCell (CubaLIF: tau_syn_inv 500/s, tau_mem_inv 250/s)."""
    import norse.torch as nt

    f = lambda n, v: torch.full((n,), float(v))

    def build(ws):
        box = nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=f(H, 250), v_th=f(H, 1), v_leak=f(H, 0), v_reset=f(H, 0)))
        cell = nt.LIFCell(nt.LIFParameters(tau_syn_inv=f(10, 500), tau_mem_inv=f(10, 250), v_th=f(10, 1),
                                           v_leak=f(10, 0), v_reset=f(10, 0)))
        net = nt.SequentialState(torch.nn.Linear(64, H, bias=False), box, torch.nn.Linear(H, 10, bias=False), cell)
        if ws is not None:
            set_weights(net, ws)
        return net

    def steps(net, x):
        s1 = s3 = None
        hs, os_ = [], []
        for _ in range(T):
            h, s1 = net[1](net[0](x), s1)
            o, s3 = net[3](net[2](h), s3)
            hs.append(h)
            os_.append(o)
        return (torch.stack(hs, 1), torch.stack(os_, 1)), torch.stack(os_, 1).sum(1)

    def run(net, x):
        with torch.no_grad():
            (h, o), _ = steps(net, x)
        return h.numpy(), o.numpy()

    def export(net):
        return nt.to_nir(net, torch.zeros(64), dt=1e-3)

    def train(xtr, ytr):
        net = build(None)
        with torch.no_grad():
            net[0].weight.mul_(8.0)
            net[2].weight.mul_(2.0)
        fit(net, steps, xtr, ytr, 15, 5e-3)
        return [m.weight.detach() for m in linears(net)]

    return build, run, export, train, "1.1.0"


TOOLS = {"sinabs": sinabs_tool, "sinabs_conv": sinabs_conv_tool, "snntorch": snntorch_tool,
         "snntorch_rec": snntorch_rec_tool, "norse": norse_tool, "norse_cuba": norse_cuba_tool,
         "spikingjelly": spikingjelly_tool}


def simulate(build, run, export, ws, xt, name):
    """The tool's network with weights ws on the test digits; its NIR export as name.nir."""
    model = build(ws)
    h, o = run(model, xt)
    nir.write(out / f"{name}.nir", export(model))
    return h.astype(np.uint8), o.astype(np.uint8)


def main():
    build, run, export, train, version = TOOLS[tool]()
    xtr, ytr, xte, yte = digits()
    xt = torch.as_tensor(xte / 16.0, dtype=torch.float32)
    if mode == "train":
        wf = [torch.as_tensor(w).detach().numpy().astype(np.float32) for w in train(xtr, ytr)]
        ws = [grid(torch.as_tensor(w)).numpy().astype(np.float32) for w in wf]
    else:
        d = np.load(sys.argv[4])
        k = sum(1 for n in d.files if n.startswith("w") and n[1:].isdigit())
        wf, ws = [d[f"w{i}_float"] for i in range(k)], [d[f"w{i}"] for i in range(k)]
        assert np.array_equal(d["x"], xte) and np.array_equal(d["y"], yte), "the digits split changed"
    hf, of = simulate(build, run, export, wf, xt, f"{tool}_float")
    h, o = simulate(build, run, export, ws, xt, tool)
    pred, pred_f = o.sum(1).argmax(1), of.sum(1).argmax(1)
    weights = {**{f"w{i}": w for i, w in enumerate(ws)}, **{f"w{i}_float": w for i, w in enumerate(wf)}}
    np.savez_compressed(out / f"{tool}.npz", **weights, x=xte, y=yte,
                        hidden=h, out=o, pred=pred, hidden_float=hf, out_float=of, pred_float=pred_f, T=T,
                        tool_version=version, nir_version=nir.__version__, torch_version=torch.__version__)
    print(f"{tool} {version}: accuracy {np.mean(pred == yte):.4f} (float weights {np.mean(pred_f == yte):.4f}), "
          f"{int(h.sum())} hidden / {int(o.sum())} output spikes")


main()
