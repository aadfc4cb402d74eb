"""Train a small CNN (conv-BN-ReLU-avgpool x2, dense) in PyTorch on digits, convert it, compare accuracies.

    python examples/convert_torch_cnn.py            # average pooling
    python examples/convert_torch_cnn.py --maxpool  # max pooling (converted exactly as relu(a-b) rounds)

Traced with torch.fx; BatchNorm and pooling fold into the neighbouring layers. The SNN
runs on the integer chip (Loihi widths, 8-bit weights), direct encoding, spike-count read-out.
"""
import sys

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import neurocore as nc
from neurocore.convert import convert
from neurocore.evaluate import accuracy_vs_timesteps, float_accuracy_vs_timesteps

STEPS = (4, 8, 16, 32)
Pool = nn.MaxPool2d if "--maxpool" in sys.argv else nn.AvgPool2d

torch.manual_seed(0)
torch.set_num_threads(1)  # float reductions depend on the thread count: one thread makes the tables reproducible
X, y = load_digits(return_X_y=True)
X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)

net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), Pool(2),
                    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), Pool(2),
                    nn.Flatten(), nn.Dropout(0.1), nn.Linear(32 * 2 * 2, 10))
opt = torch.optim.Adam(net.parameters(), 3e-3)
xt, yt = torch.tensor(Xtr), torch.tensor(ytr)
for epoch in range(30):
    net.train()
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), 64):
        idx = perm[i: i + 64]
        opt.zero_grad()
        nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
        opt.step()
net.eval()
with torch.no_grad():
    ann = float((net(torch.tensor(Xte)).argmax(1).numpy() == yte).mean())

chip = nc.chip.loihi()
snn = convert(net, calibration=Xtr[:500], chip=chip)
print(snn.meta["conversion_report"], "\n")
chip_acc = accuracy_vs_timesteps(snn, chip, Xte, yte, steps=STEPS)
float_acc = float_accuracy_vs_timesteps(snn, Xte, yte, steps=STEPS)
print(f"CNN ({Pool.__name__}): ANN {100 * ann:.2f}%  ({len(yte)} test digits); "
      f"input reaches the output at step {snn.meta['conversion_report'].latency}")
print(f"{'T':>4} {'SNN chip':>9} {'SNN float':>10} {'chip - ANN':>11}")
for t in STEPS:
    if t in chip_acc:
        print(f"{t:>4} {100 * chip_acc[t]:>8.2f}% {100 * float_acc[t]:>9.2f}% {100 * (chip_acc[t] - ann):>+10.2f}")
