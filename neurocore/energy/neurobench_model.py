"""A NeuroBench model wrapper, so ``neurobench.Benchmark`` can run a neurocore Program.

NeuroBench (PyPI ``neurobench``, 2.3.0) is imported on first use, in no install extra.
NeuroBench's hook-based workload metrics read torch modules, which a Program has none of;
:func:`counter_metrics` gives WorkloadMetric classes that read the same quantities from the
wrapped run's exact counters instead (:func:`neurocore.energy.neurobench.neurobench_metrics`),
under NeuroBench's own names (``ActivationSparsity``, ``SynapticOperations``).
``ClassificationAccuracy`` works unchanged on the wrapper's output spikes.

Example (in an environment with neurobench)::

    model = neurobench_model(program, output="out")
    Benchmark(model, loader, [], [ChooseMaxCount()],
              [[], [ClassificationAccuracy, *counter_metrics()]]).run()
"""
from __future__ import annotations

import numpy as np

__all__ = ["counter_metrics", "neurobench_model"]


def _nb():
    try:
        from neurobench.metrics.abstract.workload_metric import AccumulatedMetric, WorkloadMetric
        from neurobench.models.neurobench_model import NeuroBenchModel
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the NeuroBench wrapper needs the 'neurobench' package (pip install neurobench)") from exc
    return NeuroBenchModel, WorkloadMetric, AccumulatedMetric


def neurobench_model(program, output: str, input_scale: float | None = None):
    """A ``NeuroBenchModel`` running ``program`` on NeuroBench batches.

    Parameters
    ----------
    program : Program
        From :func:`neurocore.compile`.
    output : str
        The population whose spikes are the prediction, returned as (batch, steps, n) floats.
    input_scale : float, optional
        Analog data are sent as graded values ``round(x * input_scale)``; default: the data
        must already be integers (spikes 0/1 or graded values).

    The last :class:`~neurocore.sim.RunResult` is kept in ``model.last_result``.
    """
    import torch

    from neurocore.sim import Simulator

    NeuroBenchModel, _, _ = _nb()

    class NeurocoreModel(NeuroBenchModel):
        def __init__(self):
            super().__init__()
            self.program, self.sim, self.last_result = program, Simulator(program), None
            self.activation_modules = []

        def __call__(self, data):
            x = data.detach().cpu().numpy() if hasattr(data, "detach") else np.asarray(data)
            if input_scale is not None:
                x = np.round(x * input_scale)
            x = x.reshape(x.shape[0], x.shape[1], -1)
            if np.any(x != np.round(x)):
                raise ValueError("neurobench_model: the data are not integers; pass input_scale= for analog data")
            self.last_result = self.sim.run(x.astype(np.int32), n_steps=x.shape[1], probes={output: ["spikes"]})
            spk = self.last_result.probes[output]["spikes"]
            return torch.as_tensor(np.asarray(spk).reshape(x.shape[0], x.shape[1], -1), dtype=torch.float32)

        def __net__(self):
            return self.program

        def activation_layers(self):
            return []

        def connection_layers(self):
            return []

    return NeurocoreModel()


def counter_metrics():
    """NeuroBench WorkloadMetric classes computed from the wrapped run's counters."""
    from neurocore.energy.neurobench import neurobench_metrics

    _, WorkloadMetric, AccumulatedMetric = _nb()

    class ActivationSparsity(WorkloadMetric):
        """1 - spikes / (neurons x steps) of the last batch (NeuroBench's definition)."""

        def __init__(self):
            super().__init__(requires_hooks=False)

        def __call__(self, model, preds, data):
            return neurobench_metrics(model.last_result)["ActivationSparsity"]

    class SynapticOperations(AccumulatedMetric):
        """Effective_MACs / Effective_ACs / Dense per sample, accumulated over batches (as NeuroBench's)."""

        def __init__(self):
            super().__init__(requires_hooks=False)
            self.reset()

        def reset(self):
            self.sums, self.samples = {"Effective_MACs": 0.0, "Effective_ACs": 0.0, "Dense": 0.0}, 0

        def __call__(self, model, preds, data):
            n = int(np.asarray(model.last_result.counters["spikes"]).shape[0])
            for k, v in neurobench_metrics(model.last_result)["SynapticOperations"].items():
                self.sums[k] += v * n
            self.samples += n
            return self.compute()

        def compute(self):
            return {k: (v / self.samples if self.samples else 0.0) for k, v in self.sums.items()}

    return [ActivationSparsity, SynapticOperations]
