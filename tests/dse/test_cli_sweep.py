"""`neurocore sweep` end to end, in a subprocess, from a JSON and a YAML study file."""
import json
import pickle
import subprocess
import sys

import numpy as np
import pytest


def cli(*args):
    return subprocess.run([sys.executable, "-m", "neurocore", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def study_dir(tmp_path, digits_mlp):
    model, (xc, xt, yt) = digits_mlp
    (tmp_path / "mlp.pkl").write_bytes(pickle.dumps(model))
    for name, a in (("xcal", xc), ("xtest", xt), ("ytest", yt)):
        np.save(tmp_path / f"{name}.npy", a)
    return tmp_path


def test_sweep_command_writes_a_resumable_store(study_dir):
    d = study_dir
    spec = {"model": "mlp.pkl", "data": {"calibration": "xcal.npy", "inputs": "xtest.npy", "labels": "ytest.npy"},
            "chip": "loihi", "chip_fields": {"weight_bits": [3, 8]}, "n_steps": [4, 8], "baseline": "dense-45nm"}
    (d / "space.json").write_text(json.dumps(spec))
    r = cli("sweep", d / "space.json", "--trust", "--store", d / "runs" / "x.sqlite", "--scheduler", "in-process",
            "--front", d / "front.json", "--csv", d / "all.csv", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "4 points" in r.stdout and "4 evaluated now" in r.stdout and "Pareto front" in r.stdout
    assert json.loads((d / "front.json").read_text())["objectives"] == ["accuracy", "energy_per_inference_J"]
    assert len((d / "all.csv").read_text().splitlines()) == 5
    again = cli("sweep", d / "space.json", "--trust", "--store", d / "runs" / "x.sqlite", "--scheduler", "in-process",
                "--no-progress")
    assert again.returncode == 0 and "0 evaluated now, 4 found stored" in again.stdout


def test_sweep_command_reads_yaml_and_reports_bad_files(study_dir):
    pytest.importorskip("yaml")
    d = study_dir
    (d / "space.yaml").write_text("model: mlp.pkl\ndata: {calibration: xcal.npy, inputs: xtest.npy, labels: ytest.npy}"
                                  "\nconvert: {percentile: [99.0, 99.9]}\nn_steps: [4]\n")
    r = cli("sweep", d / "space.yaml", "--trust", "--store", d / "y.sqlite", "--scheduler", "in-process", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "2 evaluated now" in r.stdout
    (d / "bad.yaml").write_text("model: mlp.pkl\nchip_feilds: {weight_bits: [4]}\n")
    r = cli("sweep", d / "bad.yaml", "--store", d / "z.sqlite", "--scheduler", "in-process")
    assert r.returncode == 1 and "StudyError" in r.stderr and "chip_feilds" in r.stderr
