"""neurocore.report: text tables and plots of a real run (plots need matplotlib, the `plot` extra)."""
import dataclasses
import os
import subprocess
import sys

import numpy as np
import pytest

import neurocore as nc
from neurocore import report
from neurocore.energy import estimate
from neurocore.errors import NeurocoreError
from neurocore.report import PlotDependencyError, ReportError


@pytest.fixture(scope="module")
def mpl():
    return pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def run():
    """A 20-300-10 IF network on Loihi with 32-neuron cores (so it spreads over ~11 cores of 2 x 2-core tiles)."""
    rng = np.random.default_rng(7)
    g = nc.Graph()
    x = g.input(20)
    h = g.dense(x, rng.integers(-60, 100, (300, 20)), nc.IF(vth=20), name="h")
    g.dense(h, rng.integers(-30, 40, (10, 300)), nc.IF(vth=20), name="out")
    chip = dataclasses.replace(nc.chip.loihi(), neurons_per_core=32)
    prog = nc.compile(g, chip)
    x_in = (rng.random((3, 12, 20)) < 0.3).astype(np.int32)
    r = nc.Simulator(prog).run(x_in, 12, probes={"h": ["spikes"]})
    return prog, r, estimate(r, chip="loihi", baseline="gpu-h100")


def _png_ok(path, mpl):
    import matplotlib.image as mimg

    assert os.path.isfile(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 5_000
    img = mimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 300
    assert img[..., :3].std() > 0.05  # not a blank canvas


# ---- text -------------------------------------------------------------------------------------
def test_format_table_aligns_numbers_right_and_text_left():
    rows = [{"name": "a", "n": 1234, "e": 1.5e-6, "x": None}, {"name": "bbb", "n": 5, "e": 0.25, "x": "yes"}]
    out = report.format_table(rows, ["name", ("n", "count"), "e", "x"]).splitlines()
    assert out[0].split() == ["name", "count", "e", "x"]
    assert set(out[1].replace(" ", "")) == {"-"}
    assert out[2].startswith("a    ") and "1,234" in out[2] and "1.5e-06" in out[2] and out[2].endswith("-")
    assert out[3].startswith("bbb") and out[3].index("    5") + 4 == out[2].index("1,234") + 4
    assert report.format_table([]).splitlines()[0] == ""


def test_format_si():
    assert report.format_si(1.986e-5, "J") == "19.86 µJ"
    assert report.format_si(0, "J") == "0 J"
    assert report.format_si(None, "J") == "-"
    assert report.format_si(2.5e9) == "2.5 G"


# ---- optional dependency -------------------------------------------------------------------------
def test_report_imports_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None; import neurocore.report as r; "
            "print(r.format_table([{'a': 1}]))")
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.returncode == 0, out.stderr


def test_plot_without_matplotlib_says_what_to_install(monkeypatch, run):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(PlotDependencyError, match=r"neurocore\[plot\]") as exc:
        report.plot_energy_breakdown(run[2])
    assert isinstance(exc.value, ImportError) and isinstance(exc.value, NeurocoreError)


# ---- 1. energy breakdown ------------------------------------------------------------------------
def test_energy_breakdown_png(mpl, run, tmp_path):
    rep = run[2]
    p = tmp_path / "energy.png"
    fig = report.plot_energy_breakdown(rep, p)
    _png_ok(p, mpl)
    top, bottom = fig.axes[:2]
    # chip vs roofline vs lower bound differ by > 100x here: log axis
    assert rep.energy_per_inference_J / rep.baseline_energy_lower_bound_J > 100
    assert top.get_xscale() == "log"
    labels = [t.get_text() for t in top.get_yticklabels()]
    assert labels[0] == "chip: loihi" and labels[1].startswith("dynamic only")
    assert "gpu-h100" in labels[2] and "lower bound" in labels[3]
    widths = sorted(b.get_width() for b in top.patches)
    assert widths == pytest.approx(sorted([rep.energy_per_inference_J, rep.dynamic_energy_J,
                                           rep.baseline_energy_per_inference_J, rep.baseline_energy_lower_bound_J]))
    assert [b.get_width() for b in bottom.patches] == pytest.approx(list(rep.breakdown_J.values()))
    assert "loihi" in fig._suptitle.get_text() and "gpu-h100" in fig._suptitle.get_text()
    texts = " ".join(t.get_text() for t in top.texts + bottom.texts)
    assert "µJ" in texts or "nJ" in texts


def test_energy_breakdown_linear_stacked_from_dict(mpl, run, tmp_path):
    """Within 100x the axis is linear, the chip bar is stacked by kind and a dict report works."""
    d = estimate(run[1], chip="loihi", baseline="dense-45nm").to_dict()
    d["baseline_energy_per_inference_J"] = d["energy_per_inference_J"] / 3
    parts = list(d["baseline_breakdown_J"])
    d["baseline_breakdown_J"] = {k: d["baseline_energy_per_inference_J"] / len(parts) for k in parts}
    fig = report.plot_energy_breakdown(d, tmp_path / "lin.png")
    _png_ok(tmp_path / "lin.png", mpl)
    top = fig.axes[0]
    assert top.get_xscale() == "linear"
    chip_y = max(b.get_y() for b in top.patches)
    chip_segments = [b for b in top.patches if b.get_y() == chip_y]
    assert len(chip_segments) == len(d["breakdown_J"])
    assert sum(b.get_width() for b in chip_segments) == pytest.approx(d["energy_per_inference_J"])


def test_energy_breakdown_without_baseline(mpl, run, tmp_path):
    rep = estimate(run[1], chip="loihi", baseline=None)
    fig = report.plot_energy_breakdown(rep, tmp_path / "nobase.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["chip: loihi",
                                                                     "dynamic only (static 'chips_used' left out)"]
    _png_ok(tmp_path / "nobase.png", mpl)
    no_static = estimate(run[1], chip="loihi-sanafe", baseline=None)          # static not modelled: one bar
    fig = report.plot_energy_breakdown(no_static, tmp_path / "sanafe.png")
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["chip: loihi-sanafe"]


# ---- 2. core heat map ----------------------------------------------------------------------------
def test_core_grid_worked_examples():
    """Hand-placed cells: core 0 -> (0, 0), core 3 -> (1, 1), core 5 -> (0, 3), core 37 -> (2, 3)."""
    from types import SimpleNamespace

    prog = SimpleNamespace(chip=nc.chip.loihi(), core_ids=np.array([0, 3, 5, 37]), n_cores_used=4)
    grid = report.core_grid(prog, [1.0, 2.0, 3.0, 4.0])
    assert grid.count() == 4
    assert (grid[0, 0], grid[1, 1], grid[0, 3], grid[2, 3]) == (1.0, 2.0, 3.0, 4.0)


@pytest.mark.parametrize("layout,cores,cells,shape", [
    # 3 x 2 tiles of 2 cores (each tile a 2 x 1 block): core 5 is tile 2 = (2, 0), second core -> row 0, col 5;
    # core 7 is tile 3 = (0, 1), second core -> row 1, col 1
    ({"tiles_x": 3, "tiles_y": 2, "cores_per_tile": 2}, [0, 5, 7], [(0, 0), (0, 5), (1, 1)], (2, 6)),
    # 2 x 1 tiles of 3 cores (2 x 2 blocks, one cell unused): core 2 -> row 1, col 0; core 4 -> tile 1, row 0, col 3
    ({"tiles_x": 2, "tiles_y": 1, "cores_per_tile": 3}, [2, 4], [(1, 0), (0, 3)], (2, 4)),
    # a 2 x 1 board of 2 x 2-tile chips, one core per tile: a 4 x 2 mesh; core 6 is tile (2, 1), core 3 (3, 0)
    ({"tiles_x": 2, "tiles_y": 2, "cores_per_tile": 1, "chips_x": 2}, [6, 3, 0], [(1, 2), (0, 3), (0, 0)], (2, 4)),
])
def test_core_grid_worked_examples_other_layouts(layout, cores, cells, shape):
    from types import SimpleNamespace

    chip = nc.chip.ChipSpec(name="grid", **layout)
    prog = SimpleNamespace(chip=chip, core_ids=np.array(cores), n_cores_used=len(cores))
    grid = report.core_grid(prog, np.arange(1.0, len(cores) + 1))
    assert grid.shape == shape and grid.count() == len(cores)
    assert [grid[c] for c in cells] == list(np.arange(1.0, len(cores) + 1))


@pytest.mark.parametrize("metric", ["synops", "updates_active", "neurons", "synapse_bits", "axons_in"])
def test_heatmap_data_is_the_per_core_counts(mpl, run, tmp_path, metric):
    prog, r, _ = run
    assert prog.n_cores_used > 4
    p = tmp_path / f"{metric}.png"
    fig = report.plot_core_heatmap(r, metric, p)
    _png_ok(p, mpl)
    if metric in ("synops", "updates_active"):
        per_core = r.core_totals[metric].mean(axis=0)  # per-core totals over steps, mean over the batch
    else:
        per_core = prog.core_usage()[metric]
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (prog.chip.mesh_y * 2, prog.chip.mesh_x * 2)
    expected = report.core_grid(prog, per_core)  # itself checked against hand-worked cells above
    np.testing.assert_array_equal(np.ma.getmaskarray(img), np.ma.getmaskarray(expected))  # unused cores blank
    np.testing.assert_allclose(img.compressed(), expected.compressed())
    assert img.count() == prog.n_cores_used
    assert img.sum() == pytest.approx(per_core.sum())
    assert fig.axes[1].get_ylabel()  # the colorbar says what it shows


def test_heatmap_of_program_and_relative(mpl, run, tmp_path):
    prog = run[0]
    fig = report.plot_core_heatmap(prog, "neurons", tmp_path / "rel.png", relative=True)
    img = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.sort(img.compressed()),
                               np.sort(prog.core_usage()["neurons"] / prog.chip.neurons_per_core))
    with pytest.raises(ReportError, match="pass the RunResult"):
        report.plot_core_heatmap(prog, "synops")
    with pytest.raises(ReportError, match="unknown core metric 'spikes'.*synapse_bits"):
        report.plot_core_heatmap(run[1], "spikes")


def test_heatmap_board_of_chips_draws_chip_boundaries(mpl, tmp_path):
    rng = np.random.default_rng(3)
    g = nc.Graph()
    x = g.input(8)
    g.dense(x, rng.integers(-5, 20, (60, 8)), nc.IF(vth=10), name="h")
    board = nc.chip.ChipSpec(name="board", tiles_x=2, tiles_y=2, cores_per_tile=1, chips_x=2, chips_y=1,
                             neurons_per_core=8)
    prog = nc.compile(g, board)
    fig = report.plot_core_heatmap(prog, "neurons", tmp_path / "board.png")
    _png_ok(tmp_path / "board.png", mpl)
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (2, 4) and img.count() == prog.n_cores_used
    black = [ln for ln in fig.axes[0].lines if ln.get_color() == "black"]
    assert len(black) == (board.chips_x + 1) + (board.chips_y + 1)


# ---- 3. raster -----------------------------------------------------------------------------------
def test_raster_png_and_spikes(mpl, run, tmp_path):
    r = run[1]
    fig = report.plot_raster(r, "h", sample=1, path=tmp_path / "raster.png")
    _png_ok(tmp_path / "raster.png", mpl)
    s = r.probes["h"]["spikes"][1]
    t, n = fig.axes[1].lines[0].get_data()
    assert len(t) == int(s.sum()) > 0
    assert np.all(s[np.asarray(t, int), np.asarray(n, int)] == 1)
    assert [b.get_height() for b in fig.axes[0].patches] == list(s.sum(axis=1))


def test_raster_missing_probe_says_how_to_record_it(mpl, run):
    prog, r, _ = run
    with pytest.raises(ReportError, match=r"no 'spikes' probe of population 'out'.*probes=\{'out': \['spikes'\]\}"):
        report.plot_raster(r, "out")
    bare = nc.Simulator(prog).run(np.zeros((1, 4, 20), np.int32), 4)
    with pytest.raises(ReportError, match="recorded: nothing"):
        report.plot_raster(bare, "h")
    with pytest.raises(ReportError, match="unknown population 'nope'"):
        report.plot_raster(r, "nope")
    with pytest.raises(ReportError, match="outside the batch of 3"):
        report.plot_raster(r, "h", sample=3)


# ---- 4. sweep ------------------------------------------------------------------------------------
def test_vs_timesteps(mpl, tmp_path):
    rows = [{"n_steps": t, "accuracy": 0.5 + t / 100, "energy_per_inference_J": 1e-6 * t, "ann_accuracy": 0.95,
             "label": f"{b}-bit"} for b in (4, 8) for t in (32, 8, 16)]
    fig = report.plot_vs_timesteps(rows, tmp_path / "sweep.png")
    _png_ok(tmp_path / "sweep.png", mpl)
    ax_a, ax_e = fig.axes[:2]
    x, y = ax_e.lines[0].get_data()
    assert list(x) == [8, 16, 32] and list(y) == pytest.approx([8e-6, 16e-6, 32e-6])
    assert len(ax_a.lines) == 3  # two series + the ANN line
    assert ax_a.lines[-1].get_ydata()[0] == pytest.approx(0.95)
    with pytest.raises(ReportError, match="at least one row"):
        report.plot_vs_timesteps([])
    with pytest.raises(ReportError, match=r"row 0 lacks \['accuracy'\]"):
        report.plot_vs_timesteps([{"n_steps": 1, "energy_per_inference_J": 1.0}])


# ---- 5. everything -------------------------------------------------------------------------------
def test_save_all(mpl, run, tmp_path):
    _, r, rep = run
    rows = [{"n_steps": t, "accuracy": None, "energy_per_inference_J": 1e-6 * t} for t in (4, 8)]
    paths = report.save_all(r, rep, tmp_path / "plots", rows=rows)
    names = [os.path.basename(p) for p in paths]
    assert names == ["energy_breakdown.png", "core_synops.png", "core_neurons.png", "core_synapse_bits.png",
                     "raster_h.png", "vs_timesteps.png"]
    for p in paths:
        _png_ok(p, mpl)
    assert report.save_all(None, rep, tmp_path / "only") == [str(tmp_path / "only" / "energy_breakdown.png")]
