"""Space validation and the metric registry."""
import types

import pytest

import neurocore as nc
from neurocore.dse.metrics import METRICS, dynamic_energy, objective
from neurocore.errors import NeurocoreError, StudyError


def test_points_vary_timesteps_fastest_and_count_the_grid():
    s = nc.dse.Space(chip_fields={"weight_bits": [4, 8]}, convert={"percentile": [99.0, 99.9]}, n_steps=[8, 16, 32])
    pts = s.points()
    assert len(s) == len(pts) == 12
    assert [p["n_steps"] for p in pts[:3]] == [8, 16, 32]
    assert pts[0] == {"chip.weight_bits": 4, "convert.percentile": 99.0, "n_steps": 8}
    assert s.build_of(pts[0]).chip["weight_bits"] == 4 and s.build_of(pts[0]).convert == {"percentile": 99.0}


@pytest.mark.parametrize("kwargs, match", [
    ({"chip_fields": {"weight_bitz": [4]}}, "unknown name.*weight_bitz"),
    ({"convert": {"percentil": [99.0]}}, "unknown name.*percentil"),
    ({"compile": {"placment": ["greedy"]}}, "unknown name.*placment"),
    ({"chip_fields": {"weight_bits": []}}, "empty list"),
    ({"chip_fields": {"weight_bits": 4}}, "must be a list"),
    ({"chip_fields": {"weight_bits": [4, 4]}}, "repeats"),
    ({"convert": {"percentile": [float("nan")]}}, "finite"),
    ({"n_steps": [0, 8]}, "positive int"),
    ({"chip": "loihi"}, "ChipSpec"),
])
def test_bad_space_names_what(kwargs, match):
    with pytest.raises(StudyError, match=match) as info:
        nc.dse.Space(**kwargs)
    assert isinstance(info.value, (NeurocoreError, ValueError))


def test_space_round_trips_through_a_dict():
    s = nc.dse.Space(chip=nc.chip.truenorth(), chip_fields={"neurons_per_core": [128, 256]}, n_steps=[4])
    assert nc.dse.Space.from_dict(s.to_dict()) == s
    assert nc.dse.Space.from_dict({"chip": "truenorth", "n_steps": [4],
                                   "chip_fields": {"neurons_per_core": [128, 256]}}) == s
    with pytest.raises(StudyError, match="unknown key"):
        nc.dse.Space.from_dict({"chips": "loihi"})
    with pytest.raises(StudyError, match="unknown field"):
        nc.dse.Space.from_dict({"chip": {"preset": "loihi", "weight_bitz": 4}})


def test_objectives_take_their_direction_from_the_registry():
    assert objective("accuracy") == ("accuracy", "max")
    assert objective("-accuracy") == ("accuracy", "max")
    assert objective("energy_per_inference_J") == ("energy_per_inference_J", "min")
    assert objective("+latency_s") == ("latency_s", "min")
    assert METRICS["energy_total_J"].direction == METRICS["energy_dynamic_J"].direction == "min"
    with pytest.raises(StudyError, match="unknown metric 'acc'"):
        objective("acc")
    with pytest.raises(StudyError, match="registry minimises"):
        objective("-energy_per_inference_J")
    with pytest.raises(StudyError, match="no preferred direction"):
        objective("baseline_energy_per_inference_J")
    assert objective("-baseline_energy_per_inference_J") == ("baseline_energy_per_inference_J", "max")


def test_dynamic_energy_uses_the_reports_split_when_it_has_one():
    term = types.SimpleNamespace
    terms = (term(kind="synaptic_ops", energy_J=2.0), term(kind="static", energy_J=5.0), term(kind="routing",
                                                                                              energy_J=1.0))
    assert dynamic_energy(types.SimpleNamespace(terms=terms)) == 3.0
    assert dynamic_energy(types.SimpleNamespace(terms=terms, energy_dynamic_J=2.5)) == 2.5


def test_import_neurocore_imports_no_dask_and_no_lower_stage_imports_dse():
    import pathlib
    import subprocess
    import sys

    code = ("import sys, neurocore as nc; assert 'distributed' not in sys.modules and 'dask' not in sys.modules; "
            "nc.dse.Space(); assert 'distributed' not in sys.modules and 'pymoo' not in sys.modules")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    root = pathlib.Path(nc.__file__).parent
    users = [p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if "dse" not in p.relative_to(root).parts and "neurocore.dse" in p.read_text()]
    assert sorted(users) == ["__init__.py", "cli.py"]  # only the top: the lazy nc.dse and `neurocore sweep`
