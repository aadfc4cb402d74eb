"""QCFS training for few-timestep conversion: the same CNN with ReLU and with QCFS activations, side by side.

    python examples/convert_torch_qcfs.py

The CNN of ``convert_torch_cnn.py`` (conv-BN-ReLU-avgpool x2, dense; 16/32 channels) is
trained with ReLU on digits. Its QCFS versions (Bu et al., ICLR 2022: the activation
``lam * clip(floor(x L / lam + 1/2) / L, 0, 1)`` with a learned threshold ``lam``) start
from those weights: every ReLU becomes a QCFS, ``lam`` starts at the 99th percentile of
that layer's activations, and 10 epochs of fine-tuning follow. The converter takes each
trained ``lam`` as the layer's threshold and starts its neurons at half threshold.

The chip pipeline costs one step per layer: input reaches the output population at step
``latency`` (2 here), so a hidden layer's spikes reach the read-out over ``T - 1 - its
latency`` steps. An SNN trained with L levels matches its ANN from T ~ L + latency.
Integer chip (Loihi widths, 8-bit weights), direct encoding, spike-count read-out.
"""
import copy

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import neurocore as nc
from neurocore.convert import convert
from neurocore.evaluate import accuracy_vs_timesteps
from neurocore.convert.qcfs import QCFS, init_thresholds, replace_relu

STEPS = (2, 4, 6, 8, 16, 32)
LEVELS = (4, 2)

torch.manual_seed(0)
torch.set_num_threads(1)  # float reductions depend on the thread count: one thread makes the tables reproducible
X, y = load_digits(return_X_y=True)
X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
xt, yt = torch.tensor(Xtr), torch.tensor(ytr)


def train(net, epochs, lr):
    opt = torch.optim.Adam(net.parameters(), lr)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i: i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return net.eval()


def ann_accuracy(net):
    with torch.no_grad():
        return float((net(torch.tensor(Xte)).argmax(1).numpy() == yte).mean())


relu = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.AvgPool2d(2),
                     nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AvgPool2d(2),
                     nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 2 * 2, 10))
train(relu, 30, 3e-3)
models = {"ReLU": relu}
for L in LEVELS:
    net = replace_relu(copy.deepcopy(relu), L)
    init_thresholds(net, Xtr[:500], 99.0)
    models[f"QCFS L={L}"] = train(net, 10, 1e-3)

chip = nc.chip.loihi()
ann, curves = {}, {}
for name, net in models.items():
    snn = convert(net, calibration=Xtr[:500], chip=chip)
    ann[name] = ann_accuracy(net)
    curves[name] = accuracy_vs_timesteps(snn, chip, Xte, yte, steps=STEPS)
    if name.startswith("QCFS"):
        lams = [f"{float(m.threshold.detach()):.3g}" for m in net.modules() if isinstance(m, QCFS)]
        print(f"{name}: trained thresholds {lams}; input reaches the output at step "
              f"{snn.meta['conversion_report'].latency}")

print(f"\nCNN on digits ({len(yte)} test images), SNN accuracy on the integer chip (%)")
print(f"{'T':>5} " + " ".join(f"{n:>12}" for n in models))
print(f"{'ANN':>5} " + " ".join(f"{100 * ann[n]:>12.2f}" for n in models))
for t in STEPS:
    print(f"{t:>5} " + " ".join(f"{100 * curves[n][t]:>12.2f}" if t in curves[n] else f"{'-':>12}" for n in models))
