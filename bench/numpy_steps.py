"""Float32 NumPy steps of the benchmark workloads: the references neurocore is timed against.

Two variants per workload, both one Python loop over steps with vectorised NumPy inside:

* ``event``: synaptic input is the sum of the spiking sources' weight rows,
  ``I = W[spiking_rows].sum(0)`` with ``W`` the dense (n_src, n_dst) float32 matrix;
* ``dense``: ``I = s @ W`` with the 0/1 spike vector ``s`` (a BLAS gemv).

Both follow neurocore's step order exactly: the input a layer integrates at step t
is what its sources emitted at step t - 1 (every projection has delay 1).

FF (IF, reset by subtraction): weights and thresholds are the workload's integer
mantissas held in float32, and every partial sum is an integer below 2**24, so the
float32 run is exact and its spike counts equal neurocore's (which the benchmark checks;
the one difference would be v saturating at 24 bits, which does not change spikes here).

CUBA (CubaLIF): the float32 twin of the same fixed-point model (same decays, bias,
threshold, weights and refractory period) without truncation, so its spike counts
are close to neurocore's but not identical.
"""
from __future__ import annotations

import numpy as np

__all__ = ["VARIANTS", "run", "run_cuba", "run_ff"]

VARIANTS = ("event", "dense")


def run_ff(w, variant: str = "event", n_steps: int | None = None) -> dict[str, np.ndarray]:
    """Feed-forward IF network; returns spike counts per source node (``input`` included)."""
    T = w.n_steps if n_steps is None else n_steps
    x = w.inputs[0, :T].astype(bool)
    xf = x.astype(np.float32)
    Ws = [layer["wt"] for layer in w.layers]
    names = [layer["dst"] for layer in w.layers]
    th = [np.float32(w.neurons[n]["vth"]) for n in names]
    v = [np.zeros(W.shape[1], np.float32) for W in Ws]
    inp = [np.zeros(W.shape[1], np.float32) for W in Ws]
    counts = [np.zeros(W.shape[1], np.int64) for W in Ws]
    L = len(Ws)
    event = variant == "event"
    for t in range(T):
        spk = []
        for i in range(L):
            vi = v[i]
            vi += inp[i]
            s = vi > th[i]
            vi -= s * th[i]
            counts[i] += s
            spk.append(s)
        if event:
            inp[0] = Ws[0][np.flatnonzero(x[t])].sum(0)
            for i in range(1, L):
                inp[i] = Ws[i][np.flatnonzero(spk[i - 1])].sum(0)
        else:
            inp[0] = xf[t] @ Ws[0]
            for i in range(1, L):
                inp[i] = spk[i - 1].astype(np.float32) @ Ws[i]
    out = {"input": x.sum(0).astype(np.int64)}
    out.update(dict(zip(names, counts)))
    return out


def run_cuba(w, variant: str = "event", n_steps: int | None = None) -> dict[str, np.ndarray]:
    """CUBA float32 twin; returns spike counts per population (``exc``, ``inh``)."""
    T = w.n_steps if n_steps is None else n_steps
    p = w.neurons["all"]
    N = p["n"]
    We, Wi = (layer["wt"] for layer in w.layers)  # (Ne, N), (Ni, N)
    Ne = We.shape[0]
    du, dv = np.float32(p["decay_u"]), np.float32(p["decay_v"])
    bias, vth, R = np.float32(p["bias"]), np.float32(p["vth"]), p["refractory"]
    u = np.zeros(N, np.float32)
    v = p["v0"].astype(np.float32).copy()
    refr = np.zeros(N, np.int32)
    inp = np.zeros(N, np.float32)
    counts = np.zeros(N, np.int64)
    event = variant == "event"
    for t in range(T):
        u *= du
        u += inp
        held = refr > 0
        vn = v * dv
        vn += u
        vn += bias
        np.copyto(v, vn, where=~held)
        s = (v > vth) & ~held
        v[s] = 0.0
        refr -= held
        refr[s] = R
        counts += s
        if event:
            idx = np.flatnonzero(s)
            if idx.size:
                ie, ii = idx[idx < Ne], idx[idx >= Ne] - Ne
                inp = We[ie].sum(0) + Wi[ii].sum(0)
            else:
                inp = np.zeros(N, np.float32)
        else:
            sf = s.astype(np.float32)
            inp = sf[:Ne] @ We + sf[Ne:] @ Wi
    return {"exc": counts[:Ne], "inh": counts[Ne:]}


_RUNNERS = {"ff": run_ff, "cuba": run_cuba}


def run(w, variant: str = "event", n_steps: int | None = None) -> dict[str, np.ndarray]:
    """Dispatch on ``w.name``."""
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r}; choose from {VARIANTS}")
    return _RUNNERS[w.name](w, variant, n_steps)


def run_ff_batch(w, n_steps: int | None = None, snntorch_reset: bool = False) -> dict[str, np.ndarray]:
    """FF over the whole batch at once, dense float32 BLAS: ``v += s_prev @ W`` per layer per step.

    ``w.inputs`` is (B, T, 784); the same step order as :func:`run_ff` (layers visited last to
    first so each reads its source's spikes of the previous step). Returns per-population
    spike counts (B, n) int64.

    ``snntorch_reset``: decide each spike as snnTorch's ``Leaky(reset_mechanism="subtract",
    reset_delay=False)`` does, on ``v + a - vth * [v > vth]`` (``v`` the previous step's
    membrane after its reset), the membrane still ending at ``v + a - vth * spike``; the twin
    that shows snnTorch's counts differ from neurocore's by that rule alone (see ``peer_runner``)."""
    T = w.n_steps if n_steps is None else n_steps
    x = w.inputs[:, :T].astype(np.float32)
    B = x.shape[0]
    Ws = [layer["wt"] for layer in w.layers]
    names = [layer["dst"] for layer in w.layers]
    th = [np.float32(w.neurons[n]["vth"]) for n in names]
    v = [np.zeros((B, W.shape[1]), np.float32) for W in Ws]
    s = [np.zeros((B, W.shape[1]), np.float32) for W in Ws]
    counts = [np.zeros((B, W.shape[1]), np.int64) for W in Ws]
    zero = np.zeros((B, x.shape[2]), np.float32)
    tmp = [np.empty((B, W.shape[1]), np.float32) for W in Ws]
    for t in range(T):
        for i in range(len(Ws) - 1, -1, -1):
            src = (x[:, t - 1] if t > 0 else zero) if i == 0 else s[i - 1]
            np.matmul(src, Ws[i], out=tmp[i])
            pre = (v[i] > th[i]) * th[i] if snntorch_reset else None  # snnTorch's reset of the previous membrane
            v[i] += tmp[i]
            np.greater(v[i] if pre is None else v[i] - pre, th[i], out=s[i], casting="unsafe")
            v[i] -= s[i] * th[i]
            counts[i] += s[i] > 0
    return dict(zip(names, counts))


def run_graph_batch(graph, chip, inputs: np.ndarray, n_steps: int) -> dict[str, np.ndarray]:
    """A feed-forward graph of IF populations over the whole batch, dense float32 BLAS, the chip's integers.

    The NumPy twin of ``torch_steps.TorchGraph`` (same integers, same step order, same
    restrictions), every projection as its dense (n_src, n_dst) matrix (a convolution too:
    NumPy has no convolution), ``v += s_prev @ W + bias``, threshold, reset. Returns
    per-population spike counts (B, n) int64."""
    from torch_steps import EXACT, _if_params

    x = np.asarray(inputs, np.float32)
    B = x.shape[0]
    chan, off = {}, 0
    for node in graph.inputs:
        chan[node.name] = (off, off + node.n)
        off += node.n
    order = [p.name for p in graph.populations]
    into = {pr.dst: pr for pr in graph.projections.values()}
    layers = []
    for pop in graph.populations:
        pr = into[pop.name]
        W = pr.weights.T.toarray().astype(np.int64) << (chip.act_shift + pr.weight_exp)
        if np.abs(W).max() >= EXACT:
            raise ValueError(f"{pr.name}: weights are not exact in float32")
        p = _if_params(pop, chip)
        layers.append({"W": W.astype(np.float32), "vth": p["vth"].astype(np.float32),
                       "bias": p["bias"].astype(np.float32),
                       "v": np.broadcast_to(p["v0"].astype(np.float32), (B, pop.n)).copy(), "sub": p["subtract"],
                       "s": np.zeros((B, pop.n), np.float32), "tmp": np.empty((B, pop.n), np.float32),
                       "counts": np.zeros((B, pop.n), np.int64), "chan": chan.get(pr.src), "delay": pr.delay,
                       "src": None if pr.src in chan else order.index(pr.src)})
    for t in range(n_steps):
        for L in reversed(layers):
            if L["src"] is not None:
                src = layers[L["src"]]["s"]
            else:
                a, b = L["chan"]
                tt = t - L["delay"]
                src = x[:, tt, a:b] if tt >= 0 else np.zeros((B, b - a), np.float32)
            np.matmul(src, L["W"], out=L["tmp"])
            v = L["v"]
            v += L["tmp"]
            v += L["bias"]
            np.greater(v, L["vth"], out=L["s"], casting="unsafe")
            if L["sub"]:
                v -= L["s"] * L["vth"]
            else:
                v[L["s"] > 0] = 0.0
            L["counts"] += L["s"] > 0
    return {name: L["counts"] for name, L in zip(order, layers)}
