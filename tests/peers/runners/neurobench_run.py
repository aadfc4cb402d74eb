"""Run inside the NeuroBench venv (neurobench 2.3.0, snnTorch 1.0.0; neurocore on PYTHONPATH):
an snnTorch network with integer weights and thresholds (beta = 1, reset by subtraction in the
spiking step) and the neurocore Graph with the same integer dynamics, measured by NeuroBench's
harness (snnTorch model, hooks) and by neurocore (neurobench_metrics; and the NeuroBench wrapper).

Usage: python neurobench_run.py OUT_DIR  -> OUT_DIR/results.json
"""
import json
import sys
from pathlib import Path

import numpy as np
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.workload import ActivationSparsity, ClassificationAccuracy, SynapticOperations
from neurobench.models import SNNTorchModel
from neurobench.processors.postprocessors import ChooseMaxCount

import neurocore as nc
from neurocore.energy.neurobench import neurobench_metrics
from neurocore.energy.neurobench_model import counter_metrics, neurobench_model

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(2)
B, T, N_IN, N_H, N_OUT, TH1, TH2 = 32, 30, 20, 24, 4, 41, 23
# row sums below the thresholds: v never reaches 2 thresholds (snnTorch's double-reset guard)
W1 = rng.integers(-1, 4, (N_H, N_IN)) * (rng.random((N_H, N_IN)) < 0.6)
W2 = rng.integers(-1, 4, (N_OUT, N_H)) * (rng.random((N_OUT, N_H)) < 0.6)
assert W1.clip(0).sum(1).max() <= TH1 and W2.clip(0).sum(1).max() <= TH2
labels = rng.integers(0, N_OUT, B)
rates = 0.15 + 0.35 * (rng.random((N_OUT, N_IN)) < 0.5)
x = (rng.random((B, T, N_IN)) < rates[labels][:, None, :]).astype(np.float32)
x[:, -1] = 0   # a quiet last step: neurocore's output layer lags one step and must finish too

net = torch.nn.Sequential(
    torch.nn.Linear(N_IN, N_H, bias=False),
    snn.Leaky(beta=1.0, threshold=float(TH1), init_hidden=True, reset_delay=False),
    torch.nn.Linear(N_H, N_OUT, bias=False),
    snn.Leaky(beta=1.0, threshold=float(TH2), init_hidden=True, reset_delay=False, output=True))
with torch.no_grad():
    net[0].weight.copy_(torch.as_tensor(W1, dtype=torch.float32))
    net[2].weight.copy_(torch.as_tensor(W2, dtype=torch.float32))
data = torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(labels))
loader = torch.utils.data.DataLoader(data, batch_size=B // 2, shuffle=False)   # two batches: accumulation
metrics = [ActivationSparsity, SynapticOperations, ClassificationAccuracy]
nb = Benchmark(SNNTorchModel(net), loader, [], [ChooseMaxCount()], [[], metrics]).run(quiet=True)

g = nc.Graph()
xi = g.input(N_IN, name="x")
h = g.dense(xi, W1, nc.IF(vth=TH1, reset="subtract"), name="h", delay=0)   # dense: NeuroBench's Dense counts
o = g.dense(h, W2, nc.IF(vth=TH2, reset="subtract"), name="o")             # every (in, out) pair
prog = nc.compile(g, nc.chip.loihi())
res = nc.Simulator(prog).run(x.astype(np.int32), n_steps=T, probes={"o": ["spikes"]})
pred = res.probes["o"]["spikes"].sum(1).argmax(1)
ours = neurobench_metrics(res, accuracy=float(np.mean(pred == labels)))
wrapped = Benchmark(neurobench_model(prog, output="o"), loader, [], [ChooseMaxCount()],
                    [[], [ClassificationAccuracy, *counter_metrics()]]).run(quiet=True)
keep = ("ActivationSparsity", "SynapticOperations", "ClassificationAccuracy")
json.dump({"neurobench": {k: nb[k] for k in keep}, "neurocore": {k: ours[k] for k in keep},
           "wrapper": {k: wrapped[k] for k in keep}}, open(out / "results.json", "w"), indent=1, default=float)
print(json.dumps({"neurobench": {k: nb[k] for k in keep}, "neurocore": {k: ours[k] for k in keep},
                  "wrapper": {k: wrapped[k] for k in keep}}, default=float))
