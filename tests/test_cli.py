"""The CLI end to end, in subprocesses, as a user runs it."""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import neurocore as nc


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "neurocore", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    g = nc.Graph()
    x = g.input(20, name="x")
    h = g.dense(x, rng.integers(-40, 90, (30, 20)), nc.IF(vth=40), name="h")
    g.dense(h, rng.integers(-40, 90, (5, 30)), nc.IF(vth=40), name="out")
    g.save(d / "graph.npz")
    np.save(d / "x.npy", (rng.random((6, 10, 20)) < 0.3).astype(np.int32))
    return d


def test_compile_run_report_pipeline(saved):
    d = saved
    r = cli("compile", d / "graph.npz", "--chip", "loihi", "--placement", "greedy", "--seed", 3, "-o", d / "prog.npz")
    assert r.returncode == 0, r.stderr
    assert "cores" in r.stdout and (d / "prog.npz").is_file()
    r = cli("run", d / "prog.npz", "--inputs", d / "x.npy", "--steps", 10, "-o", d / "res.npz")
    assert r.returncode == 0, r.stderr
    assert "synops" in r.stdout
    r = cli("report", d / "res.npz", "--baseline", "dense-45nm", "--json", d / "rep.json")
    assert r.returncode == 0, r.stderr
    assert "energy / inference" in r.stdout
    rep = json.loads((d / "rep.json").read_text())
    assert rep["energy_per_inference_J"] > 0
    r = cli("report", d / "res.npz", "--baseline", "dense-45nm", "gpu-h100")
    assert r.returncode == 0, r.stderr
    assert "chip vs each dense baseline" in r.stdout and "batch1" in r.stdout and "gpu-h100" in r.stdout
    # the saved result is the same run as the library's
    res = nc.RunResult.load(d / "res.npz")
    again = nc.Simulator(nc.Program.load(d / "prog.npz")).run(np.load(d / "x.npy"), 10)
    for k in res.counters:
        np.testing.assert_array_equal(res.counters[k], again.counters[k])


def test_report_static_and_timing_options(saved):
    d = saved
    if not (d / "res.npz").exists():
        cli("compile", d / "graph.npz", "-o", d / "prog.npz")
        cli("run", d / "prog.npz", "--inputs", d / "x.npy", "--steps", 10, "-o", d / "res.npz")
    out = {}
    for static in ("chips_used", "none"):
        r = cli("report", d / "res.npz", "--static", static, "--json", d / f"rep_{static}.json")
        assert r.returncode == 0, r.stderr
        out[static] = json.loads((d / f"rep_{static}.json").read_text())
    assert out["none"]["static_energy_J"] == 0 and out["chips_used"]["static_energy_J"] > 0
    assert out["none"]["dynamic_energy_J"] == pytest.approx(out["chips_used"]["dynamic_energy_J"], rel=1e-12)
    r = cli("report", d / "res.npz", "--profile", "loihi-sanafe", "--timing", "neurocore")
    assert r.returncode == 0 and "static: not modelled" in r.stdout and "neurocore" in r.stdout


def test_report_plots(saved):
    pytest.importorskip("matplotlib")
    d = saved
    if not (d / "res.npz").exists():
        cli("compile", d / "graph.npz", "-o", d / "prog.npz")
        cli("run", d / "prog.npz", "--inputs", d / "x.npy", "--steps", 10, "-o", d / "res.npz")
    r = cli("report", d / "res.npz", "--plot", d / "plots")
    assert r.returncode == 0, r.stderr
    assert (d / "plots" / "energy_breakdown.png").stat().st_size > 5000


def test_profiles_list_and_show():
    r = cli("profiles")
    assert r.returncode == 0 and "loihi" in r.stdout and "gpu-h100" in r.stdout
    r = cli("profiles", "loihi")
    assert r.returncode == 0 and "Davies" in r.stdout


def test_help_on_every_subcommand():
    for sub in ("demo", "convert", "compile", "run", "report", "profiles"):
        r = cli(sub, "--help")
        assert r.returncode == 0 and "usage" in r.stdout


def test_bad_arguments_exit_2():
    r = cli("frobnicate")
    assert r.returncode == 2 and "invalid choice" in r.stderr
    r = cli("demo", "--steps", "0")
    assert r.returncode == 2 and "--steps must be >= 1" in r.stderr
    r = cli("compile", "g.npz", "--chip", "loihi9", "-o", "p.npz")
    assert r.returncode == 2 and "invalid choice: 'loihi9'" in r.stderr


def test_errors_exit_1_with_message(saved, tmp_path):
    r = cli("compile", tmp_path / "missing.npz", "-o", tmp_path / "p.npz")
    assert r.returncode == 1 and "FileFormatError" in r.stderr and "does not exist" in r.stderr
    bad = tmp_path / "corrupt.npz"
    bad.write_bytes((saved / "graph.npz").read_bytes()[:200])
    r = cli("compile", bad, "-o", tmp_path / "p.npz")
    assert r.returncode == 1 and "truncated or corrupt" in r.stderr
    np.save(tmp_path / "wrong.npy", np.zeros((2, 10, 7), np.int32))
    cli("compile", saved / "graph.npz", "-o", tmp_path / "p.npz")
    r = cli("run", tmp_path / "p.npz", "--inputs", tmp_path / "wrong.npy", "--steps", 10, "-o", tmp_path / "r.npz")
    assert r.returncode == 1 and "expected (batch, 10, 20)" in r.stderr
    r = cli("profiles", "nope")
    assert r.returncode == 1 and "nope" in r.stderr


@pytest.mark.skipif(shutil.which("neurocore") is None, reason="console script not installed")
def test_console_script_installed():
    r = subprocess.run(["neurocore", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "demo" in r.stdout


def test_convert_compile_run_a_pickled_sklearn_mlp(tmp_path):
    pytest.importorskip("sklearn")
    import pickle

    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    mlp = MLPClassifier((32,), max_iter=400, random_state=0).fit(X[:1000], y[:1000])
    (tmp_path / "mlp.pkl").write_bytes(pickle.dumps(mlp))
    np.save(tmp_path / "cal.npy", X[:300])
    np.save(tmp_path / "x.npy", X[1500:1600])
    np.save(tmp_path / "y.npy", y[1500:1600])
    r = cli("convert", tmp_path / "mlp.pkl", "--trust", "--calibration", tmp_path / "cal.npy", "-o", tmp_path / "g.npz")
    assert r.returncode == 0, r.stderr
    assert "ConversionReport" in r.stdout
    assert cli("compile", tmp_path / "g.npz", "-o", tmp_path / "p.npz").returncode == 0
    r = cli("run", tmp_path / "p.npz", "--inputs", tmp_path / "x.npy", "--labels", tmp_path / "y.npy",
            "--steps", 16, "-o", tmp_path / "r.npz")
    assert r.returncode == 0, r.stderr
    acc = float(r.stdout.split("accuracy")[-1].split()[0])
    # the files reproduce the in-memory pipeline exactly
    g = nc.convert(mlp, calibration=X[:300])
    mem = nc.Simulator(nc.compile(g)).run(X[1500:1600], 16)
    saved = nc.RunResult.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(saved.predictions, mem.predictions)
    assert acc == pytest.approx(mem.accuracy(y[1500:1600])) and acc > 0.8
    assert isinstance(nc.Graph.load(tmp_path / "g.npz").meta["conversion_report"], nc.ConversionReport)


def test_convert_refuses_unknown_model_file(tmp_path):
    (tmp_path / "m.h5").write_bytes(b"xx")
    np.save(tmp_path / "cal.npy", np.zeros((4, 3)))
    r = cli("convert", tmp_path / "m.h5", "--calibration", tmp_path / "cal.npy", "-o", tmp_path / "g.npz")
    assert r.returncode == 1 and "unknown suffix '.h5'" in r.stderr
    (tmp_path / "bad.pkl").write_bytes(b"not a pickle")
    r = cli("convert", tmp_path / "bad.pkl", "--trust", "--calibration", tmp_path / "cal.npy", "-o", tmp_path / "g.npz")
    assert r.returncode == 1 and "could not be loaded" in r.stderr


def test_demo_on_truenorth_uses_rate_coding():
    pytest.importorskip("sklearn")
    r = cli("demo", "--chip", "truenorth", "--steps", 16)
    assert r.returncode == 0, r.stderr
    assert "input encoding                rate" in r.stdout
    acc = float(r.stdout.split("SNN accuracy (16 steps)")[1].split("%")[0])
    assert acc > 90.0
