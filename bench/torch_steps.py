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
"""
from __future__ import annotations

import numpy as np

__all__ = ["TorchFF"]


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
