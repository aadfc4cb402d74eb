"""QCFS: train an ANN so that it converts to a spiking network that is accurate in few timesteps.

The quantization-clip-floor-shift activation of Bu et al., "Optimal ANN-SNN
conversion for high-accuracy and ultra-low-latency spiking neural networks"
(ICLR 2022)::

    y = lam * clip(floor(x * L / lam + 1/2) / L, 0, 1)

with ``L`` quantization levels and a learnable threshold ``lam`` per layer. An
integrate-and-fire neuron with threshold ``lam``, reset by subtraction and
initial membrane potential ``lam / 2`` fires, over ``T = L`` steps of constant
input ``x``, exactly ``L * y / lam`` spikes: the trained ANN *is* the SNN's rate
code, so the conversion error at ``T ~ L`` is small instead of needing 32+ steps.

Use it in PyTorch (this module needs torch; the core package does not)::

    from neurocore.convert.qcfs import QCFS, replace_relu

    net = replace_relu(make_cnn(), levels=4)      # every nn.ReLU -> QCFS(4)
    train(net, ...)                               # lam is learned with the weights
    snn = nc.convert(net, calibration=X[:500])    # lam becomes each layer's threshold

:func:`neurocore.convert` recognises QCFS modules as their layer's ReLU, takes the
trained ``lam`` as that layer's activation scale (instead of the calibration
percentile) and starts its neurons at half threshold (the "shift"), whatever
``v_init`` says for the other layers. The ``threshold`` parameter is a single
scalar per module. Functional ``F.relu`` calls inside ``forward`` are not
replaced by :func:`replace_relu`: write them as ``nn.ReLU`` modules (or call a
QCFS module) to train them.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["QCFS", "init_thresholds", "replace_relu"]


class QCFS(nn.Module):
    """Quantization-clip-floor-shift activation with a learnable threshold.

    Parameters
    ----------
    levels : int
        Quantization levels ``L`` (the timestep count the SNN is trained for; 4-8 typical).
    threshold : float
        Initial threshold ``lam`` (the largest output; learned by gradient descent).

    Notes
    -----
    The floor has a straight-through gradient; the clip passes gradient to ``x``
    only inside ``[0, lam]``. ``lam`` receives ``y / lam - x / lam`` inside the
    range (the quantization error) and 1 above it, as in the paper.
    """

    def __init__(self, levels: int = 8, threshold: float = 4.0) -> None:
        super().__init__()
        if int(levels) != levels or int(levels) < 1:
            raise ValueError(f"levels={levels!r}; give a positive integer")
        if not float(threshold) > 0:
            raise ValueError(f"threshold={threshold!r}; give a positive value")
        self.levels = int(levels)
        self.threshold = nn.Parameter(torch.tensor([float(threshold)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lam = self.threshold
        u = torch.clamp(x / lam, 0.0, 1.0)
        q = torch.floor(u * self.levels + 0.5) / self.levels
        return lam * (u + (q - u).detach())  # straight-through floor

    def extra_repr(self) -> str:
        return f"levels={self.levels}, threshold={float(self.threshold.detach()):.4g}"


def replace_relu(model: nn.Module, levels=8, threshold: float = 4.0) -> nn.Module:
    """Swap every ``nn.ReLU`` submodule of ``model`` (in place) for a :class:`QCFS`; returns ``model``.

    ``levels`` is one ``L`` for all, or a sequence with one ``L`` per ReLU in
    ``model.modules()`` order (see the note on pipeline latency in the README:
    a layer whose spikes reach the output over fewer steps wants fewer levels).
    A model that is itself an ``nn.ReLU`` is returned as a new QCFS module.
    """
    if isinstance(model, nn.ReLU):
        return QCFS(levels if np.ndim(levels) == 0 else levels[0], threshold)
    relus = [(parent, name) for parent in model.modules() for name, child in parent.named_children()
             if isinstance(child, nn.ReLU)]
    per = [levels] * len(relus) if np.ndim(levels) == 0 else list(levels)
    if len(per) != len(relus):
        raise ValueError(f"{len(per)} levels for {len(relus)} nn.ReLU modules")
    for (parent, name), lv in zip(relus, per):
        setattr(parent, name, QCFS(lv, threshold))
    return model


@torch.no_grad()
def init_thresholds(model: nn.Module, x, percentile: float = 99.0) -> nn.Module:
    """Set each QCFS threshold to a percentile of its (positive) inputs on ``x``; returns ``model``.

    Useful to fine-tune a trained ReLU network: ``replace_relu`` then ``init_thresholds``
    starts every ``lam`` where the ReLU activations actually lie. The inputs are
    measured with every QCFS acting as a plain ReLU.
    """
    mods = [m for m in model.modules() if isinstance(m, QCFS)]
    seen: dict[int, list] = {id(m): [] for m in mods}

    def relu_and_record(m):
        def fwd(inp):
            v = inp.detach().flatten()
            seen[id(m)].append(v[v > 0].double().cpu().numpy())
            return torch.relu(inp)
        return fwd

    was_training = model.training
    model.eval()
    try:
        for m in mods:
            m.forward = relu_and_record(m)
        model(torch.as_tensor(np.asarray(x), dtype=torch.float32))
    finally:
        for m in mods:
            m.__dict__.pop("forward", None)
        model.train(was_training)
    for m in mods:
        vals = np.concatenate(seen[id(m)]) if seen[id(m)] else np.zeros(0)
        if vals.size:
            m.threshold.fill_(float(np.percentile(vals, percentile)))
    return model
