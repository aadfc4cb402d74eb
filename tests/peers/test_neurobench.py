"""NeuroBench 2.3.0 conformance: NeuroBench's harness on an snnTorch model and neurocore's
neurobench_metrics (and the NeuroBench wrapper of a neurocore Program) on the same data give
the same ActivationSparsity, SynapticOperations and ClassificationAccuracy."""
import json

import pytest

from .conftest import run_peer


def test_neurobench_harness_equals_neurobench_metrics(tmp_path):
    run_peer("neurobench", "neurobench_run.py", tmp_path)
    r = json.loads((tmp_path / "results.json").read_text())
    nb = r["neurobench"]
    print(json.dumps(r))
    assert 0 < nb["ActivationSparsity"] < 1 and nb["SynapticOperations"]["Effective_ACs"] > 0
    for who in ("neurocore", "wrapper"):
        got = r[who]
        assert got["ActivationSparsity"] == pytest.approx(nb["ActivationSparsity"], rel=1e-12), who
        assert got["ClassificationAccuracy"] == nb["ClassificationAccuracy"], who
        for k in ("Effective_MACs", "Effective_ACs", "Dense"):
            assert got["SynapticOperations"][k] == pytest.approx(nb["SynapticOperations"][k], rel=1e-12), (who, k)
