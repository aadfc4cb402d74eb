"""NSGA-II search, Pareto fronts, plots and exports."""
import json

import numpy as np
import pytest

import neurocore as nc
from neurocore.dse.pareto import ParetoFront, pareto_mask
from neurocore.errors import StudyError


def test_pareto_mask_keeps_exactly_the_non_dominated_points():
    F = np.array([[1, 5], [2, 3], [3, 3], [4, 1], [2, 6], [1, 5]])
    assert pareto_mask(F).tolist() == [True, True, False, True, False, True]  # ties both stay


def _records():
    rows = [(0.9, 3e-6, 8), (0.95, 5e-6, 16), (0.8, 4e-6, 8), (0.97, 9e-6, 32), (0.5, 1e-6, 4)]
    recs = [{"n_steps": t, "status": "ok", "accuracy": a, "energy_per_inference_J": e, "latency_s": t * 1e-6,
             "key": f"k{i}"} for i, (a, e, t) in enumerate(rows)]
    recs.append({"n_steps": 2, "status": "error", "accuracy": float("nan"), "energy_per_inference_J": float("nan"),
                 "latency_s": float("nan"), "key": "bad"})
    return recs


def test_front_directions_come_from_the_registry(tmp_path):
    front = ParetoFront(_records(), ["accuracy", "energy_per_inference_J"], dims=["n_steps"])
    assert [r["key"] for r in front.records()] == ["k3", "k1", "k0", "k4"]  # best accuracy first; k2 is dominated
    doc = json.loads(front.to_json(tmp_path / "front.json").read_text())
    assert doc["directions"] == ["max", "min"] and len(doc["front"]) == 4
    assert front.to_csv(tmp_path / "front.csv").read_text().splitlines()[0] == \
        "n_steps,accuracy,energy_per_inference_J,key"
    with pytest.raises(StudyError, match="at least two objectives"):
        ParetoFront(_records(), ["accuracy"])


def test_a_failed_export_keeps_the_previous_file(tmp_path):
    front = ParetoFront(_records(), ["accuracy", "energy_per_inference_J"])
    path = front.to_json(tmp_path / "front.json")
    before = path.read_text()
    front.records = lambda: [{"x": object()}]  # not JSON serialisable
    with pytest.raises(TypeError):
        front.to_json(path)
    assert path.read_text() == before and sorted(p.name for p in tmp_path.iterdir()) == ["front.json"]


@pytest.mark.parametrize("objectives", [["accuracy", "energy_per_inference_J"],
                                        ["accuracy", "energy_per_inference_J", "latency_s"]])
def test_front_plots(objectives, tmp_path):
    pytest.importorskip("matplotlib")
    fig = ParetoFront(_records(), objectives).plot(tmp_path / "front.png")
    assert (tmp_path / "front.png").stat().st_size > 10_000
    assert len(fig.axes) == (1 if len(objectives) == 2 else 2)


def _search(model, data, store, seed, budget=12):
    space = nc.dse.Space(chip_fields={"weight_bits": [2, 3, 4, 8]}, convert={"percentile": [99.0, 99.9]},
                         n_steps=[2, 4, 8])
    return nc.dse.search(model, space, ["-accuracy", "energy_per_inference_J"], data=data, budget=budget,
                         pop_size=4, store=store, seed=seed, scheduler="in-process", progress=False)


def test_search_is_deterministic_per_seed_and_keeps_its_budget(digits_mlp, tmp_path):
    pytest.importorskip("pymoo")
    model, data = digits_mlp
    a = _search(model, data, tmp_path / "a.sqlite", seed=3)
    b = _search(model, data, tmp_path / "b.sqlite", seed=3)
    gens = [g for g, _ in a.history]
    assert len(a.history) == 12 and gens == sorted(gens) and gens[0] == 0 and len(set(gens)) >= 3
    assert a.n_evaluated == len(a) == len({k for _, k in a.history})  # repeats are found stored, not rerun
    assert a.history == b.history
    untimed = (lambda st: [{k: v for k, v in r.items() if k != "task_s"} for r in st.records()])
    assert untimed(a) == untimed(b)
    replay = _search(model, data, tmp_path / "a.sqlite", seed=3)  # same store: every point is found stored
    assert replay.n_evaluated == 0 and replay.history == a.history
    front = a.pareto(["accuracy", "energy_per_inference_J"])
    assert 1 <= len(front) <= len(a)
    with pytest.raises(StudyError, match="unknown metric"):
        _search(model, data, tmp_path / "c.sqlite", seed=3).pareto(["accuracy", "energy"])
