"""Shared PyTorch helpers for the converter tests (imported only where torch is installed)."""
from __future__ import annotations

import torch
from torch import nn

# one intra-op thread: on a busy 2-core CI machine two OpenMP threads spin-wait and slow the torch tests
# several-fold (architecture review, A9); the sklearn fixtures hold BLAS at one thread the same way
torch.set_num_threads(1)


def train(net, X, y, epochs=15, seed=0, lr=5e-3):
    """Adam on cross-entropy, seeded batches of 64, one thread; returns the net in eval mode."""
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    opt = torch.optim.Adam(net.parameters(), lr)
    xt, yt = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), 64):
            idx = perm[i: i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[idx]), yt[idx]).backward()
            opt.step()
    return net.eval()


def ann_accuracy(net, X, y):
    with torch.no_grad():
        return float((net(torch.tensor(X, dtype=torch.float32)).argmax(1).numpy() == y).mean())


def make_cnn(pool=nn.AvgPool2d, seed: int | None = 0):
    """The converter tests' CNN for 8 x 8 digits: two conv-BN-ReLU-pool blocks and a linear layer.

    ``seed`` seeds the initial weights (they must not depend on which tests ran before); None draws
    them from torch's global generator as it stands.
    """
    if seed is not None:
        torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), pool(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), pool(2),
                         nn.Flatten(), nn.Dropout(0.1), nn.Linear(16 * 2 * 2, 10))
