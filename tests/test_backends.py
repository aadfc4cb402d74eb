"""One runner interface: ``nc.Simulator(program, backend=...)`` gives the same RunResult type from
the kernel, the NumPy reference and the float twin."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import neurocore as nc
from neurocore.errors import SimulationError
from neurocore.sim import BACKENDS, RunResult, concat_results
from tests.kernels.strategies import networks


def assert_results_equal(a: RunResult, b: RunResult, same_program: bool = True) -> None:
    """Every field of two RunResults equal (arrays by value and dtype), ``backend`` aside; the same Program
    object unless ``same_program`` is False (a result read from a file has its own copy)."""
    for f in dataclasses.fields(RunResult):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name in ("backend", "program"):
            continue
        _equal(x, y, f.name)
    assert a.program is b.program or not same_program


def _equal(x, y, where: str) -> None:
    if isinstance(x, dict):
        assert isinstance(y, dict) and list(x) == list(y), f"{where}: keys {list(x)} vs {list(y)}"
        for k in x:
            _equal(x[k], y[k], f"{where}[{k!r}]")
    elif isinstance(x, np.ndarray):
        assert isinstance(y, np.ndarray) and x.dtype == y.dtype, f"{where}: {x.dtype} vs {getattr(y, 'dtype', y)}"
        assert_array_equal(x, y, err_msg=where)
    else:
        assert x == y, f"{where}: {x!r} vs {y!r}"


def _network(rng):
    g = nc.Graph()
    x = g.input(20, name="x")
    gr = g.input(3, name="g", graded=True)
    a = g.population(30, nc.CubaLIF(du=200, dv=100, vth=500, refractory=2, bias_mant=rng.integers(-50, 50, 30)),
                     name="a")
    b = g.population(10, nc.IF(vth=300), name="b")
    g.connect(x, a, weights=rng.integers(-128, 128, (30, 20)), weight_exp=3)
    g.connect(gr, b, weights=rng.integers(-20, 20, (10, 3)))
    g.connect(a, a, weights=rng.integers(-128, 128, (30, 30)) * (rng.random((30, 30)) < 0.2), delay=2)
    g.connect(a, b, weights=rng.integers(-60, 128, (10, 30)), weight_exp=-2)
    return g


@pytest.mark.parametrize("placement", ["in_order", "anneal"])
def test_kernel_and_reference_backends_give_equal_results(tiny_chip, rng, placement, tmp_path):
    g = _network(rng)
    chip = dataclasses.replace(tiny_chip, syn_mem_bits_per_core=1 << 20)
    program = nc.compile(g, chip, placement=placement)
    x = np.concatenate([rng.integers(0, 2, (3, 25, 20)), rng.integers(-300, 300, (3, 25, 3))], axis=2)
    probes = {"a": ["u", "v", "spikes"], "b": ["v"]}
    kern = nc.Simulator(program).run(x, n_steps=25, probes=probes, n_threads=2)
    ref = nc.Simulator(program, backend="reference").run(x, n_steps=25, probes=probes)
    assert (kern.backend, ref.backend) == ("kernel", "reference")
    assert kern.counters["spikes"].min() > 0 and kern.counters["hops_ew"].sum() + kern.counters["hops_ns"].sum() > 0
    assert_results_equal(kern, ref)
    ref.validate()
    back = RunResult.load(ref.save(tmp_path / "ref.npz"))
    assert back.backend == "reference"
    assert_results_equal(back, kern, same_program=False)


def test_reference_backend_runs_a_converted_program_with_its_codec():
    rng = np.random.default_rng(3)
    layers = [{"type": "dense", "weight": rng.normal(0, 0.5, (12, 8)), "bias": rng.normal(0, 0.1, 12)},
              {"type": "relu"}, {"type": "dense", "weight": rng.normal(0, 0.5, (4, 12)), "bias": np.zeros(4)}]
    X = rng.random((40, 8))
    program = nc.compile(nc.convert(layers, calibration=X))
    kern = nc.Simulator(program).run(X[:6], n_steps=16)
    ref = nc.Simulator(program, backend="reference").run(X[:6], n_steps=16)
    assert kern.predictions is not None and "inputs_saturated" in kern.counters
    assert_results_equal(kern, ref)

    flt = nc.Simulator(program, backend="float").run(X[:6], n_steps=16)
    assert isinstance(flt, RunResult) and flt.backend == "float" and not flt.has_counters
    assert flt.predictions.shape == (6,) and flt.batch_size == 6
    # the float twin's predictions are the float SNN's own run, as nc.convert keeps it
    assert_array_equal(flt.predictions, program.meta["float_snn"].run(X[:6], 16).predictions)
    assert set(flt.spike_counts) <= set(program.populations)
    assert (flt.counters, flt.core_steps, flt.probes, flt.final_state) == ({}, {}, {}, {})
    assert flt.busiest_link is None and flt.link_packets is None
    assert 0.0 <= flt.accuracy(kern.predictions) <= 1.0
    for refuse in (lambda: nc.energy.estimate(flt), flt.validate, lambda: flt.save("unused.npz")):
        with pytest.raises(SimulationError, match="backend='float'"):
            refuse()
    with pytest.raises(SimulationError, match="no probes"):
        nc.Simulator(program, backend="float").run(X[:2], n_steps=4, probes={"output": ["v"]})
    both = concat_results([flt, flt])
    assert both.batch_size == 12 and both.backend == "float"


def test_backend_errors(tiny_chip, rng):
    program = nc.compile(_network(rng), dataclasses.replace(tiny_chip, syn_mem_bits_per_core=1 << 20))
    with pytest.raises(SimulationError, match="backend='gpu'.*choose one of"):
        nc.Simulator(program, backend="gpu")
    with pytest.raises(SimulationError, match="float twin"):
        nc.Simulator(program, backend="float")   # hand-built: no float twin
    assert set(BACKENDS) == {"kernel", "reference", "float"}
    g = nc.Graph()
    x = g.input(3)
    g.connect(x, g.population(2, nc.CubaLIF(du=4095, dv=0, vth=10)), weights=np.ones((2, 3), int),
              learning=nc.learning.stdp(name="stdp1"))
    with pytest.raises(SimulationError, match="backend='reference' runs Programs without plastic projections"):
        nc.Simulator(nc.compile(g), backend="reference")


def test_float_backend_refuses_learning_arguments():
    rng = np.random.default_rng(4)
    X = rng.random((20, 6))
    program = nc.compile(nc.convert([{"type": "dense", "weight": rng.normal(0, 0.5, (3, 6)), "bias": np.zeros(3)}],
                                    calibration=X))
    sim = nc.Simulator(program, backend="float")
    with pytest.raises(SimulationError, match="learning= and initial_state="):
        sim.run(X[:2], n_steps=4, learning=False)
    with pytest.raises(SimulationError, match="n_steps must be a positive int"):
        sim.run(X[:2], n_steps=0)
    assert sim.run(X[:2], n_steps=8).predictions.shape == (2,)


def test_result_with_negative_probed_state_saves_and_loads(tmp_path, tiny_chip, rng):
    """u and v probes are signed state, not counts: a saved result with negative u loads back."""
    program = nc.compile(_network(rng), dataclasses.replace(tiny_chip, syn_mem_bits_per_core=1 << 20))
    x = np.concatenate([rng.integers(0, 2, (2, 10, 20)), rng.integers(-300, 300, (2, 10, 3))], axis=2)
    r = nc.Simulator(program).run(x, n_steps=10, probes={"a": ["u", "v"]})
    assert r.probes["a"]["u"].min() < 0
    back = RunResult.load(r.save(tmp_path / "r.npz"))
    assert_array_equal(back.probes["a"]["u"], r.probes["a"]["u"])


@given(networks(), st.sampled_from(["host", "cores"]), st.booleans())
def test_backends_agree_on_random_chips_and_networks(net, inputs_on, probe):
    """Random widths, overflow rules, meshes, boards, delays and graded inputs: equal RunResults."""
    from neurocore.errors import MappingError

    chip, g, x, T = net
    try:
        program = nc.compile(g, chip, inputs_on=inputs_on)
    except MappingError:   # inputs placed on cores may not fit a small random chip
        return
    probes = {p.name: ["u", "v", "spikes"] for p in g.populations} if probe else None
    kern = nc.Simulator(program).run(x, n_steps=T, probes=probes, n_threads=1)
    assert_results_equal(kern, nc.Simulator(program, backend="reference").run(x, n_steps=T, probes=probes))


def test_reference_backend_on_replicas_splitters_and_a_loaded_program(tmp_path):
    """The reference runs the Program's own tables: replicated Programs, TrueNorth's splitter rewrite and a
    Program read from a file (no Graph at hand) give the kernel's RunResult."""
    rng = np.random.default_rng(3)
    layers = [{"type": "dense", "weight": rng.normal(0, 0.5, (12, 8)), "bias": rng.normal(0, 0.1, 12)},
              {"type": "relu"}, {"type": "dense", "weight": rng.normal(0, 0.5, (4, 12)), "bias": np.zeros(4)}]
    X = rng.random((40, 8))
    packed = nc.compile(nc.convert(layers, calibration=X), replicas=3)
    kern = nc.Simulator(packed).run(X[:7], n_steps=16)
    assert kern.meta["samples"] == 7 and kern.batch_size == 3
    assert_results_equal(kern, nc.Simulator(packed, backend="reference").run(X[:7], n_steps=16))

    g = nc.Graph()
    x = g.input(20, name="x")
    a, b = g.population(30, nc.IF(vth=1), name="a"), g.population(10, nc.IF(vth=1), name="b")
    g.connect(x, a, weights=rng.integers(-1, 2, (30, 20)))
    g.connect(a, b, weights=rng.integers(-1, 2, (10, 30)))
    tn = nc.compile(g, nc.chip.truenorth())
    assert tn.meta["splitters"]["n_splitters"] > 0
    loaded = nc.Program.load(tn.save(tmp_path / "tn.npz"))
    xin = (rng.random((2, 10, 20)) < 0.5).astype(np.int32)
    kern = nc.Simulator(loaded).run(xin, 10, probes={"b": ["v", "spikes"]})
    assert kern.counters["spikes"].min() > 0
    assert_results_equal(kern, nc.Simulator(loaded, backend="reference").run(xin, 10, probes={"b": ["v", "spikes"]}))


def test_early_stop_runs_on_the_kernel_only(tiny_chip, rng):
    program = nc.compile(_network(rng), dataclasses.replace(tiny_chip, syn_mem_bits_per_core=1 << 20))
    x = np.concatenate([rng.integers(0, 2, (2, 10, 20)), rng.integers(-300, 300, (2, 10, 3))], axis=2)
    with pytest.raises(SimulationError, match="stop= \\(early stopping\\) runs on backend='kernel', not 'reference'"):
        nc.Simulator(program, backend="reference").run(x, n_steps=10, stop=nc.StopRule(margin=2))
