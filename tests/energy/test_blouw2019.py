"""examples/reproduce_blouw2019.py: a small version runs and its figures have the right structure."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).parents[2] / "examples" / "reproduce_blouw2019.py"


def load_example():
    spec = importlib.util.spec_from_file_location("reproduce_blouw2019", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_frames_have_class_structure_and_are_deterministic():
    mod = load_example()
    X, y = mod.make_frames(4, seed=3)
    X2, y2 = mod.make_frames(4, seed=3)
    assert X.shape == (29 * 4, 390) and np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.min() >= 0 and X.max() <= 1 and sorted(set(y)) == list(range(29))
    means = np.stack([X[y == c].mean(0) for c in range(29)])
    assert np.std(means, axis=0).mean() > np.mean([X[y == c].std(0).mean() for c in range(29)]) * 0.2


def test_small_reproduction_structure():
    pytest.importorskip("sklearn")
    mod = load_example()
    out = mod.reproduce(hidden=(16, 16), n_train_per_class=6, n_test_per_class=2, steps=4, max_iter=15)
    assert out["network"] == [390, 16, 16, 29] and out["n_test"] == 58 and out["steps_per_inference"] == 4
    assert 0 <= out["snn_accuracy"] <= 1 and out["input_spikes_per_inference"] > 0
    for profile in ("loihi", "loihi-sanafe"):
        p = out["profiles"][profile]
        if profile == "loihi":
            assert 0 < p["dynamic_J"] < p["total_J"]               # static excluded from dynamic
        else:                                                      # loihi-sanafe: static not modelled (SANA-FE)
            assert 0 < p["dynamic_J"] == p["total_J"]
        assert p["dynamic_J"] == pytest.approx(sum(p["dynamic_by_kind_J"].values()), rel=1e-12)
        assert set(p["baselines_batch1"]) == {"gpu-h100", "dense-45nm"}
        c = mod.comparison(out, profile)
        assert c["ratio_to_paper"] == pytest.approx(p["dynamic_J"] / 0.00027, rel=1e-12)
        assert c["devices"]["GPU (Quadro K4000)"]["paper_ratio"] == pytest.approx(0.0298 / 0.00027, rel=1e-12)
        assert c["paper_dynamic_without_x86_overhead_J"] == pytest.approx((0.081 - 0.070) / 296, rel=1e-12)
        assert {"CPU (Xeon E5-2630)", "Jetson TX1", "Movidius NCS"} <= set(c["devices"])
