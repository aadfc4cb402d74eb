"""Shared PyTorch helpers for the converter tests (imported only where torch is installed)."""
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
