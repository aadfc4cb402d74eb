"""Sweeps in-process: real metrics, resumable store, failures kept, exact shard merging."""
import dataclasses
import math

import numpy as np
import pytest

import neurocore as nc
from neurocore.dse import tasks
from neurocore.errors import StoreMismatchError, StudyError
from neurocore.sim import concat_results


def _sweep(model, space, data, store, **kw):
    return nc.dse.sweep(model, space, data=data, store=store, scheduler="in-process", progress=False, **kw)


def test_sweep_measures_what_the_pipeline_gives(digits_mlp, small_space, tmp_path):
    model, (xc, xt, yt) = digits_mlp
    study = _sweep(model, small_space, (xc, xt, yt), tmp_path / "s.sqlite")
    assert study.n_evaluated == len(small_space) == 8 and study.complete
    table = study.table()
    assert len(table) == 8 and set(table["status"]) == {"ok"}
    row = table[(table["chip.weight_bits"] == 3) & (table["convert.encoding"] == "rate") & (table["n_steps"] == 8)]
    chip = dataclasses.replace(nc.chip.loihi(), weight_bits=3)
    program = nc.compile(nc.convert(model, calibration=xc, chip=chip, encoding="rate"), chip)
    r = nc.Simulator(program).run(xt, 8)
    e = nc.energy.estimate(r, chip="loihi", baseline="gpu-h100")
    assert row["accuracy"].item() == r.accuracy(yt)
    assert row["energy_per_inference_J"].item() == e.energy_per_inference_J
    assert row["cores"].item() == program.n_cores_used
    assert row["energy_dynamic_J"].item() + row["energy_static_J"].item() == pytest.approx(e.energy_per_inference_J)
    assert row["energy_total_J"].item() == pytest.approx(e.energy_total_J)
    stored = study.rows(reports=True)[0]
    assert stored["reports"][0]["chip_profile"] == "loihi" and stored["versions"]["neurocore"] == nc.__version__


def test_rerun_skips_every_finished_point(digits_mlp, small_space, tmp_path):
    model, data = digits_mlp
    first = _sweep(model, small_space, data, tmp_path / "s.sqlite")
    again = _sweep(model, small_space, data, tmp_path / "s.sqlite")
    assert (again.n_evaluated, again.n_skipped) == (0, 8)
    assert again.records() == first.records()
    other = _sweep(model, small_space, data, tmp_path / "s.sqlite", baseline="dense-45nm")
    assert other.n_evaluated == 8  # a setting that changes the figures is part of the key


def test_a_crash_loses_only_points_in_flight(digits_mlp, small_space, tmp_path):
    model, data = digits_mlp
    seen = []

    def crash(row):
        seen.append(row["key"])
        if len(seen) == 3:
            raise KeyboardInterrupt("simulated crash")

    with pytest.raises(KeyboardInterrupt):
        _sweep(model, small_space, data, tmp_path / "s.sqlite", callback=crash)
    assert len(nc.dse.Study.open(tmp_path / "s.sqlite")) == 3
    rest = _sweep(model, small_space, data, tmp_path / "s.sqlite")
    assert (rest.n_evaluated, rest.n_skipped) == (5, 3)
    keys = [r["key"] for r in nc.dse.Study.open(tmp_path / "s.sqlite").rows()]
    assert len(keys) == len(set(keys)) == 8


def test_a_failing_config_is_stored_with_its_error(digits_mlp, cramped_chip, tmp_path):
    model, data = digits_mlp
    space = nc.dse.Space(chip=cramped_chip, chip_fields={"neurons_per_core": [8, 1024]}, n_steps=[4])
    study = _sweep(model, space, data, tmp_path / "s.sqlite")
    bad, = study.failed()
    assert bad["chip.neurons_per_core"] == 8 and "compile: MappingError" in bad["error"]
    assert math.isnan(bad["accuracy"])
    good = [r for r in study.records() if r["status"] == "ok"]
    assert len(good) == 1 and good[0]["accuracy"] > 0.5
    assert _sweep(model, space, data, tmp_path / "s.sqlite").n_evaluated == 0  # failures are results too


def test_store_of_another_model_or_data_is_refused(digits_mlp, other_mlp, small_space, tmp_path):
    model, (xc, xt, yt) = digits_mlp
    space = nc.dse.Space(n_steps=[4])
    _sweep(model, space, (xc, xt, yt), tmp_path / "s.sqlite")
    with pytest.raises(StoreMismatchError, match="another model"):
        _sweep(other_mlp, space, (xc, xt, yt), tmp_path / "s.sqlite")
    with pytest.raises(StoreMismatchError, match="another data"):
        _sweep(model, space, (xc, xt[:50], yt[:50]), tmp_path / "s.sqlite")
    (tmp_path / "junk.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StudyError, match="not a neurocore study store"):
        _sweep(model, space, (xc, xt, yt), tmp_path / "junk.sqlite")
    with pytest.raises(StudyError, match="one label per test sample"):
        _sweep(model, space, (xc, xt, yt[:10]), tmp_path / "t.sqlite")


def test_stochastic_encoding_reports_mean_and_sd_over_replicates(digits_mlp, tmp_path):
    model, data = digits_mlp
    space = nc.dse.Space(convert={"encoding": ["poisson"]}, n_steps=[8])
    rec, = _sweep(model, space, data, tmp_path / "s.sqlite", replicates=3, shard_size=40).records()
    reports = nc.dse.Study.open(tmp_path / "s.sqlite").rows(reports=True)[0]["reports"]
    assert len(reports) == 3
    spikes = [r["spikes_per_inference"] for r in reports]
    assert len(set(spikes)) == 3  # three seeds, three spike trains
    assert rec["spikes_per_inference"] == pytest.approx(np.mean(spikes))
    assert rec["spikes_per_inference_sd"] == pytest.approx(np.std(spikes, ddof=1))
    more = _sweep(model, space, data, tmp_path / "s.sqlite", replicates=4, shard_size=40)
    assert more.n_evaluated == 1  # the replicate count is part of a stochastic point's key


def _same_run(a, b):
    np.testing.assert_array_equal(a.predictions, b.predictions)
    for d in ("counters", "spike_counts", "core_steps", "core_totals", "chip_time", "final_state"):
        for k in getattr(a, d):
            np.testing.assert_array_equal(getattr(a, d)[k], getattr(b, d)[k])
    np.testing.assert_array_equal(a.busiest_link, b.busiest_link)
    np.testing.assert_array_equal(a.link_packets, b.link_packets)


@pytest.mark.parametrize("encoding", ["direct", "rate"])
def test_a_sharded_batch_equals_one_run(digits_mlp, encoding):
    model, (xc, xt, yt) = digits_mlp
    program = nc.compile(nc.convert(model, calibration=xc, encoding=encoding), nc.chip.get("loihi"))
    whole = nc.Simulator(program).run(xt, 8, n_threads=2)
    parts = [tasks.run_shard(program, xt[i:i + 25], 8, 0, 1) for i in range(0, len(xt), 25)]
    _same_run(concat_results(parts), whole)


def test_a_sharded_poisson_batch_equals_runs_of_its_seed_blocks(digits_mlp):
    model, (xc, xt, yt) = digits_mlp
    program = nc.compile(nc.convert(model, calibration=xc, encoding="poisson"), nc.chip.loihi())
    sim = nc.Simulator(program)
    seeds = [tasks.shard_seed(0, 1, i) for i in range(0, len(xt), 30)]
    whole = concat_results([sim.run(xt[i:i + 30], 8, seed=s) for i, s in zip(range(0, len(xt), 30), seeds)])
    parts = [tasks.run_shard(program, xt[i:i + 30], 8, s, 1) for i, s in zip(range(0, len(xt), 30), seeds)]
    _same_run(concat_results(parts), whole)
    assert tasks.finish([parts], yt, "loihi", None).metrics["accuracy"] == whole.accuracy(yt)
