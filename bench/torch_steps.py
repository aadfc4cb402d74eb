"""Dense PyTorch float32 steps of the FF workload: the peer neurocore is timed against at batch.

This is how snnTorch / SpikingJelly / sinabs-style simulators run a converted SNN: one
dense matrix product per layer per step over the whole batch. The baseline is pinned:

* ``torch.inference_mode()``, float32, every buffer preallocated;
* per layer per step exactly one ``addmm`` (``v += s_prev @ W``), one threshold
  (``torch.gt`` into a preallocated bool buffer, copied into the float spike buffer) and
  one reset by subtraction (``v.sub_(s, alpha=vth)``);
* the same ``torch.set_num_threads`` as neurocore's ``n_threads`` (set by the caller);
* warm-up excluded (the caller times repeated calls).

Step order is neurocore's: the input a layer integrates at step t is what its sources
emitted at step t - 1 (every FF projection has delay 1), so layers are visited last to
first and each reads its source's spikes of the previous step. Weights and thresholds
are the workload's integer mantissas in float32; every partial sum is an integer below
2**24, so the run is exact and its spike counts equal neurocore's (checked by the caller).

:class:`TorchGraph` is the same pinned step for any feed-forward graph of IF populations
(the converted digits CNN): per population per step one ``conv2d`` (a projection carrying
a :class:`~neurocore.graph.nodes.ConvSpec` whose matrix the kernel reproduces exactly) or
one ``addmm`` (any other projection, its dense matrix), the bias add, the threshold and the
reset. It takes the chip's integers: weights ``mantissa << (act_shift + weight_exp)``,
thresholds ``vth << vth_shift``, biases ``bias_mant << bias_exp``, initial ``v0``.

Both classes run on ``device="cuda"`` too (the caller checks ``torch.cuda.is_available()``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["TorchFF", "TorchGraph"]


class TorchFF:
    """A prepared dense-PyTorch FF run for one input batch ``(B, T, 784)`` of 0/1 values."""

    def __init__(self, w, inputs: np.ndarray, device: str = "cpu"):
        import torch

        self.torch = torch
        self.device = device
        self.x = torch.as_tensor(np.ascontiguousarray(inputs, np.float32), device=device)  # (B, T, C)
        B = inputs.shape[0]
        self.W = [torch.as_tensor(layer["wt"], device=device) for layer in w.layers]
        names = [layer["dst"] for layer in w.layers]
        self.names = names
        self.vth = [float(w.neurons[n]["vth"]) for n in names]
        self.v = [torch.zeros(B, W.shape[1], device=device) for W in self.W]
        self.s = [torch.zeros(B, W.shape[1], device=device) for W in self.W]
        self.sb = [torch.zeros(B, W.shape[1], dtype=torch.bool, device=device) for W in self.W]
        self.counts = [torch.zeros(B, W.shape[1], device=device) for W in self.W]

    def run(self, n_steps: int, count: bool = False) -> dict[str, np.ndarray] | None:
        """Simulate ``n_steps``; with ``count`` also sum spikes (not part of the timed baseline)."""
        torch = self.torch
        L = len(self.W)
        with torch.inference_mode():
            for i in range(L):
                self.v[i].zero_()
                self.s[i].zero_()
                self.counts[i].zero_()
            zero_in = torch.zeros_like(self.x[:, 0])
            for t in range(n_steps):
                for i in range(L - 1, -1, -1):
                    src = (self.x[:, t - 1] if t > 0 else zero_in) if i == 0 else self.s[i - 1]
                    v = self.v[i]
                    torch.addmm(v, src, self.W[i], out=v)
                    torch.gt(v, self.vth[i], out=self.sb[i])
                    self.s[i].copy_(self.sb[i])
                    v.sub_(self.s[i], alpha=self.vth[i])
                    if count:
                        self.counts[i].add_(self.s[i])
            if self.device != "cpu":
                torch.cuda.synchronize()
        if not count:
            return None
        return {n: c.cpu().numpy().astype(np.int64) for n, c in zip(self.names, self.counts)}


#: float32 holds every integer of magnitude below 2**24 exactly.
EXACT = 1 << 24


def _conv_kernel(pr, shift: int) -> np.ndarray | None:
    """The integer kernel (C_out, C_in/groups, kh, kw) a conv2d projection's matrix expands, or None.

    Read back from the matrix's non-zeros and checked: the kernel's own expansion
    (``conv2d_matrix``) must equal the projection's matrix entry for entry, else None
    (the matrix is then run as a dense ``addmm``)."""
    from neurocore.graph.layers import conv2d_matrix

    cs = pr.conv
    if cs is None or cs.pool or cs.in_shape is None:
        return None
    o, cg, kh, kw = cs.kernel_shape
    _, ho, wo = cs.out_shape
    c, h, w = cs.in_shape
    (sh, sw), (ph, pw), (dh, dw) = cs.stride, cs.padding, cs.dilation
    m = pr.weights.tocoo()
    oc, rem = np.divmod(m.row, ho * wo)
    oy, ox = np.divmod(rem, wo)
    cin, rem = np.divmod(m.col, h * w)
    iy, ix = np.divmod(rem, w)
    ky, kyr = np.divmod(iy - oy * sh + ph, dh)
    kx, kxr = np.divmod(ix - ox * sw + pw, dw)
    ic = cin - (oc // (o // cs.groups)) * cg
    ok = (kyr == 0) & (kxr == 0) & (ky >= 0) & (ky < kh) & (kx >= 0) & (kx < kw) & (ic >= 0) & (ic < cg)
    if not ok.all():
        return None
    kernel = np.zeros(cs.kernel_shape, np.int64)
    kernel[oc, ic, ky, kx] = m.data
    back, _ = conv2d_matrix(kernel, cs.in_shape, cs.stride, cs.padding, cs.dilation, cs.groups)
    if back.shape != pr.weights.shape or (back != pr.weights).nnz:
        return None
    return kernel << shift


def _if_params(pop, chip) -> dict:
    """A population's IF integers (threshold, bias, v0, reset); ValueError for other neuron dynamics."""
    low = pop.neuron.lowered(pop.n, chip.decay_bits)
    unity = 1 << chip.decay_bits
    if (low["du"] != unity - 1).any() or (low["dv"] != 0).any() or (low["refractory"] != 0).any():
        raise ValueError(f"population {pop.name!r}: TorchGraph runs IF neurons (du = {unity - 1}, dv = 0, no "
                         f"refractory period); this one has {type(pop.neuron).__name__} dynamics")
    if len(set(low["reset"].tolist())) != 1:
        raise ValueError(f"population {pop.name!r}: TorchGraph needs one reset mode per population")
    return {"vth": low["vth"] << chip.vth_shift, "bias": low["bias_mant"] << low["bias_exp"], "v0": low["v0"],
            "subtract": bool(low["reset"][0] == 1)}


def _exact(name: str, a: np.ndarray) -> np.ndarray:
    if a.size and int(np.abs(a).max()) >= EXACT:
        raise ValueError(f"{name}: integers up to {int(np.abs(a).max())} are not exact in float32 (>= 2**24)")
    return np.asarray(a, np.float32)


class TorchGraph:
    """A prepared dense-PyTorch run of a feed-forward graph of IF populations, on the chip's integers.

    Parameters
    ----------
    graph : nc.Graph
        One projection into each population; projections from an input have delay 0 or 1,
        projections between populations delay 1 (neurocore's step order is then reproduced by
        visiting populations last to first). Anything else raises ValueError.
    chip : ChipSpec
    inputs : (B, T, C) int
        The chip's input channel values (spikes or graded), as ``Simulator.run`` feeds the kernel.
    device : str
    """

    def __init__(self, graph, chip, inputs: np.ndarray, device: str = "cpu"):
        import torch

        self.torch, self.device = torch, device
        self.x = torch.as_tensor(_exact("inputs", np.asarray(inputs, np.int64)), device=device)
        B = inputs.shape[0]
        chan, off = {}, 0
        for node in graph.inputs:
            chan[node.name] = (off, off + node.n)
            off += node.n
        into = {}
        for pr in graph.projections.values():
            if pr.dst in into:
                raise ValueError(f"population {pr.dst!r} has two projections in; TorchGraph takes one")
            into[pr.dst] = pr
        self.layers = []
        order = [p.name for p in graph.populations]
        for pop in graph.populations:
            pr = into.get(pop.name)
            if pr is None:
                raise ValueError(f"population {pop.name!r} has no projection in")
            self.layers.append(self._layer(pr, pop, chip, chan, order, B))

    def _layer(self, pr, pop, chip, chan, order, B) -> dict:
        torch, dev = self.torch, self.device
        from_input = pr.src in chan
        if (from_input and pr.delay not in (0, 1)) or (not from_input and (
                pr.delay != 1 or order.index(pr.src) >= order.index(pop.name))):
            raise ValueError(f"projection {pr.name!r}: TorchGraph takes delay 0/1 from inputs and delay 1 from an "
                             f"earlier population (got delay {pr.delay} from {pr.src!r})")
        shift = chip.act_shift + pr.weight_exp
        p = _if_params(pop, chip)
        kernel = _conv_kernel(pr, shift)
        L = {"name": pop.name, "src": pr.src, "delay": pr.delay, "from_input": from_input,
             "chan": chan.get(pr.src), "src_idx": None if from_input else order.index(pr.src),
             "subtract": p["subtract"], "conv": pr.conv if kernel is not None else None}
        if kernel is not None:
            L["W"] = torch.as_tensor(_exact(pr.name, kernel), device=dev)
            L["buf"] = torch.zeros((B, *pr.conv.out_shape), device=dev)
        else:
            L["W"] = torch.as_tensor(_exact(pr.name, pr.weights.T.toarray().astype(np.int64) << shift), device=dev)
        vth = np.unique(p["vth"])
        L["vth"] = float(vth[0]) if vth.size == 1 else torch.as_tensor(_exact("vth", p["vth"]), device=dev)
        L["bias"] = (torch.as_tensor(_exact("bias", p["bias"]), device=dev) if p["bias"].any() else None)
        L["v0"] = torch.as_tensor(_exact("v0", p["v0"]), device=dev).expand(B, pop.n).contiguous()
        for k in ("v", "s", "counts"):
            L[k] = torch.zeros(B, pop.n, device=dev)
        L["sb"] = torch.zeros(B, pop.n, dtype=torch.bool, device=dev)
        return L

    def _source(self, L, t):
        if not L["from_input"]:
            return self.layers[L["src_idx"]]["s"]
        a, b = L["chan"]
        tt = t - L["delay"]
        return self.x[:, tt, a:b] if tt >= 0 else self._zero[:, a:b]

    def _integrate(self, L, src):
        torch, v = self.torch, L["v"]
        if L["conv"] is not None:
            cs = L["conv"]
            x = src.reshape(src.shape[0], *cs.in_shape)
            L["buf"].copy_(torch.nn.functional.conv2d(x, L["W"], None, cs.stride, cs.padding, cs.dilation,
                                                      cs.groups))
            v.add_(L["buf"].view(v.shape))
        else:
            torch.addmm(v, src, L["W"], out=v)
        if L["bias"] is not None:
            v.add_(L["bias"])

    def run(self, n_steps: int, count: bool = False) -> dict[str, np.ndarray] | None:
        """Simulate ``n_steps``; with ``count`` also sum spikes (not part of the timed baseline)."""
        torch = self.torch
        with torch.inference_mode():
            self._zero = torch.zeros_like(self.x[:, 0])
            for L in self.layers:
                L["v"].copy_(L["v0"])
                L["s"].zero_()
                L["counts"].zero_()
            for t in range(n_steps):
                for L in reversed(self.layers):
                    self._integrate(L, self._source(L, t))
                    v = L["v"]
                    torch.gt(v, L["vth"], out=L["sb"])
                    L["s"].copy_(L["sb"])
                    if not L["subtract"]:
                        v.masked_fill_(L["sb"], 0.0)
                    elif isinstance(L["vth"], float):
                        v.sub_(L["s"], alpha=L["vth"])
                    else:
                        v.addcmul_(L["s"], L["vth"], value=-1.0)
                    if count:
                        L["counts"].add_(L["s"])
            if self.device != "cpu":
                torch.cuda.synchronize()
        if not count:
            return None
        return {L["name"]: L["counts"].cpu().numpy().astype(np.int64) for L in self.layers}
