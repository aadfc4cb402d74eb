"""Every bad input raises a specific exception that says what, where and what to do."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import neurocore as nc
from neurocore.errors import BitWidthError, GraphError, MappingError, SimulationError


@pytest.fixture
def small():
    g = nc.Graph()
    x = g.input(4, name="x")
    p = g.population(3, nc.CubaLIF(du=10, dv=10, vth=5), name="exc")
    g.connect(x, p, weights=np.ones((3, 4), int))
    return g, x, p


# ---- graph ------------------------------------------------------------------------
def test_wrong_weight_shape_names_projection(small):
    g, x, p = small
    with pytest.raises(GraphError, match=r"x -> exc.*transposed"):
        g.connect(x, p, weights=np.ones((4, 3), int))
    with pytest.raises(GraphError, match="one-to-one weights need equal sizes"):
        g.connect(x, p, weights=np.ones(4, int))
    with pytest.raises(GraphError, match="2-D"):
        g.connect(x, p, weights=np.ones((1, 3, 4), int))
    with pytest.raises(GraphError, match="'all-to-all'"):
        g.connect(x, p, weights="all-to-all")


def test_nan_and_fractional_weights(small):
    g, x, p = small
    w = np.ones((3, 4))
    w[1, 2] = np.nan
    with pytest.raises(GraphError, match=r"\[1, 2\] is nan"):
        g.connect(x, p, weights=w)
    with pytest.raises(GraphError, match="integer mantissas"):
        g.connect(x, p, weights=np.full((3, 4), 0.5))


def test_zero_delay_only_from_inputs(small):
    g, x, p = small
    with pytest.raises(GraphError, match="delay 0 is only allowed from an input"):
        g.connect(p, p, weights=np.eye(3, dtype=int), delay=0)
    with pytest.raises(GraphError, match="delay must be >= 0"):
        g.connect(x, p, weights=np.ones((3, 4), int), delay=-1)


def test_bad_nodes_and_names(small):
    g, x, p = small
    with pytest.raises(GraphError, match="already used"):
        g.population(2, nc.IF(vth=1), name="exc")
    with pytest.raises(GraphError, match="no node named 'nope'"):
        g.connect("nope", p, weights=np.ones((3, 1), int))
    with pytest.raises(GraphError, match="target must be a population"):
        g.connect(p, x, weights=np.ones((4, 3), int))
    with pytest.raises(GraphError, match="positive int"):
        g.population(0, nc.IF(vth=1))
    with pytest.raises(GraphError, match="neuron model"):
        g.population(3, "lif")
    with pytest.raises(GraphError, match=r"shape \(2,\)"):
        g.population(3, nc.CubaLIF(du=1, dv=1, vth=1, bias_mant=np.array([1, 2])))
    with pytest.raises(GraphError, match="reset"):
        nc.IF(vth=3, reset="clamp")
    with pytest.raises(GraphError, match="integer-valued"):
        nc.CubaLIF(du=1.5, dv=1, vth=1)
    with pytest.raises(GraphError, match="no population"):
        nc.compile(nc.Graph())


# ---- bit widths -------------------------------------------------------------------
def test_negative_unsigned_parameter_refused_at_construction():
    with pytest.raises(BitWidthError, match=r"CubaLIF\.dv = -1 is negative"):
        nc.CubaLIF(du=1, dv=-1, vth=1)
    with pytest.raises(BitWidthError, match=r"IF\.vth = -3 is negative"):
        nc.IF(vth=-3)


@pytest.mark.parametrize("param,value,rng", [
    ("du", 4096, r"\[0, 4095\]"), ("dv", 4096, r"\[0, 4095\]"), ("vth", 1 << 17, r"\[0, 131071\]"),
    ("bias_mant", 5000, r"\[-4096, 4095\]"), ("bias_exp", 8, r"\[0, 7\]"), ("refractory", 64, r"\[0, 63\]"),
    ("u0", 1 << 24, r"\[-8388608, 8388608\]"), ("v0", -(1 << 23) - 1, r"\[-8388608, 8388608\]"),
])
def test_neuron_parameter_out_of_range(param, value, rng):
    kw = {"du": 1, "dv": 1, "vth": 1, param: value}
    g = nc.Graph()
    g.population(2, nc.CubaLIF(**kw), name="lif")
    with pytest.raises(BitWidthError, match=rf"CubaLIF\.{param} in population 'lif' = {value} .*{rng}"):
        nc.compile(g, nc.chip.loihi())


def test_weight_out_of_range_names_projection(small):
    g, x, p = small
    g.connect(x, p, weights=np.full((3, 4), 200), name="big")
    with pytest.raises(BitWidthError, match=r"weight in projection 'big' = 200 .*\[-128, 127\].*weight_exp"):
        nc.compile(g)


def test_fewer_weight_bits_refuse_what_fits_eight(small):
    import dataclasses
    g, x, p = small
    g.connect(x, p, weights=np.full((3, 4), 9), name="w9")
    nc.compile(g)
    with pytest.raises(BitWidthError, match=r"\[-8, 7\]"):
        nc.compile(g, dataclasses.replace(nc.chip.loihi(), weight_bits=4))


def test_weight_exp_and_delay_ranges(small):
    g, x, p = small
    g.connect(x, p, weights=np.ones((3, 4), int), weight_exp=9, name="e9")
    with pytest.raises(BitWidthError, match=r"weight_exp = 9 .*\[-8, 7\]"):
        nc.compile(g)
    g2 = nc.Graph()
    a = g2.population(2, nc.IF(vth=1), name="a")
    g2.connect(a, a, weights=np.eye(2, dtype=int), delay=63, name="slow")
    with pytest.raises(BitWidthError, match=r"delay = 63 .*\[0, 62\]"):
        nc.compile(g2)
    g3 = nc.Graph()
    b = g3.population(2, nc.IF(vth=1), name="b")
    g3.connect(b, b, weights=np.eye(2, dtype=int), weight_exp=-7, name="neg")
    with pytest.raises(BitWidthError, match="act_shift"):
        nc.compile(g3)


def test_chipspec_rejects_bad_fields():
    with pytest.raises(BitWidthError, match="weight_bits"):
        nc.chip.ChipSpec(weight_bits=0)
    with pytest.raises(BitWidthError, match="u_overflow"):
        nc.chip.ChipSpec(u_overflow="clip")
    with pytest.raises(BitWidthError, match="neurons_per_core"):
        nc.chip.ChipSpec(neurons_per_core=0)


def test_truenorth_refuses_decay():
    g = nc.Graph()
    g.population(4, nc.CubaLIF(du=100, dv=100, vth=10), name="leaky")
    with pytest.raises(MappingError, match="no multiplicative decay"):
        nc.compile(g, nc.chip.truenorth())
    g2 = nc.Graph()
    g2.population(4, nc.IF(vth=10), name="ok")
    assert nc.compile(g2, nc.chip.truenorth()).n_cores_used == 1


# ---- does not fit ------------------------------------------------------------------
def test_population_larger_than_chip():
    chip = nc.chip.ChipSpec(tiles_x=1, tiles_y=1, cores_per_tile=2, neurons_per_core=10)
    g = nc.Graph()
    g.population(25, nc.IF(vth=1), name="huge")
    with pytest.raises(MappingError, match=r"needs 3 cores.*has 2"):
        nc.compile(g, chip)


def test_fan_in_larger_than_a_core():
    chip = nc.chip.ChipSpec(axons_in_per_core=16)
    g = nc.Graph()
    x = g.input(20)
    g.connect(x, g.population(2, nc.IF(vth=1), name="wide"), weights=np.ones((2, 20), int))
    with pytest.raises(MappingError, match=r"layer 'wide'.*20 input axons; a core has 16"):
        nc.compile(g, chip)


# ---- run ------------------------------------------------------------------------------
def test_run_errors(small):
    g, x, p = small
    sim = nc.Simulator(nc.compile(g))
    ok = np.zeros((1, 5, 4), np.int32)
    with pytest.raises(SimulationError, match="positive int"):
        sim.run(ok, 0)
    with pytest.raises(SimulationError, match=r"\(batch, n_steps, channels\)"):
        sim.run(np.zeros((5, 4), np.int32), 5)
    with pytest.raises(SimulationError, match=r"expected \(batch, 5, 4\)"):
        sim.run(np.zeros((1, 5, 3), np.int32), 5)
    with pytest.raises(SimulationError, match=r"expected \(batch, 6, 4\)"):
        sim.run(ok, 6)
    with pytest.raises(SimulationError, match="must be integers"):
        sim.run(ok.astype(float), 5)
    bad = ok.copy()
    bad[0, 2, 1] = 40000
    with pytest.raises(BitWidthError, match=r"input 'x' channel 1 at sample 0, step 2 is 40000.*16-bit signed"):
        sim.run(bad, 5)
    with pytest.raises(SimulationError, match="unknown population 'inh'"):
        sim.run(ok, 5, probes={"inh": ["v"]})
    with pytest.raises(SimulationError, match="unknown variable 'w'"):
        sim.run(ok, 5, probes={"exc": ["w"]})
    with pytest.raises(SimulationError, match="Program"):
        nc.Simulator(g)


def test_graded_input_range():
    g = nc.Graph()
    x = g.input(2, graded=True, name="analog")
    g.connect(x, g.population(2, nc.IF(vth=1)), weights=nc.one_to_one(2), delay=0)
    sim = nc.Simulator(nc.compile(g))
    x = np.zeros((1, 3, 2), np.int32)
    x[0, 1, 0] = 40000
    with pytest.raises(BitWidthError, match=r"analog.*40000.*16-bit signed"):
        sim.run(x, 3)
    x[0, 1, 0] = -32768
    sim.run(x, 3)


def test_undeclared_input_carries_graded_values_counted_as_graded():
    g = nc.Graph()
    x = g.input(3, name="x")  # not declared graded: 0/1 are spikes, other values graded
    g.connect(x, g.population(3, nc.IF(vth=100)), weights=nc.one_to_one(3), delay=0)
    r = nc.Simulator(nc.compile(g)).run(np.array([[[1, 5, 0], [-300, 1, 1]]], np.int32), 2)
    assert r.counters["synops_binary"][0] == 3 and r.counters["synops_graded"][0] == 2
    g2 = nc.Graph()
    x2 = g2.input(3, name="x", graded=True)  # declared analog: a 1 is graded too
    g2.connect(x2, g2.population(3, nc.IF(vth=100)), weights=nc.one_to_one(3), delay=0)
    r2 = nc.Simulator(nc.compile(g2)).run(np.array([[[1, 5, 0], [-300, 1, 1]]], np.int32), 2)
    assert r2.counters["synops_binary"][0] == 0 and r2.counters["synops_graded"][0] == 5


def test_sparse_and_one_to_one_weights_accepted():
    g = nc.Graph()
    x = g.input(5)
    p = g.population(5, nc.IF(vth=0), name="p")
    g.connect(x, p, weights=sp.random(5, 5, density=0.5, format="coo", random_state=1, data_rvs=lambda n: np.ones(n)))
    g.connect(x, p, weights=nc.one_to_one(5, 2))
    g.connect(x, p, weights="one-to-one")
    g.connect(x, p, weights=np.array([1, 2, 3, 4, 5]))
    r = nc.Simulator(nc.compile(g)).run(np.ones((1, 4, 5), np.int32), 4)
    assert r.totals()["synops"] == 4 * (g.projections[list(g.projections)[0]].n_synapses + 15)
    np.testing.assert_array_equal(list(g.projections.values())[3].weights.diagonal(), [1, 2, 3, 4, 5])


# ---- spikes-only chips (TrueNorth) ------------------------------------------------------
def test_spikes_only_chip_refuses_graded_inputs():
    tn = nc.chip.truenorth()
    g = nc.Graph()
    x = g.input(3, name="analog", graded=True)
    g.connect(x, g.population(3, nc.IF(vth=1), name="p"), weights=nc.one_to_one(3), delay=1)
    with pytest.raises(MappingError, match=r"input 'analog' is declared graded.*graded_bits=0"):
        nc.compile(g, tn)
    g2 = nc.Graph()
    x2 = g2.input(3, name="spk")
    g2.connect(x2, g2.population(3, nc.IF(vth=1), name="p"), weights=nc.one_to_one(3), delay=1)
    sim = nc.Simulator(nc.compile(g2, tn))
    sim.run(np.ones((1, 2, 3), np.int32), 2)
    with pytest.raises(BitWidthError, match=r"is 2; each value must be a spike \(0 or 1\)"):
        sim.run(np.full((1, 2, 3), 2, np.int32), 2)


@pytest.fixture
def tiny_mlp():
    """(mlp, X): a 4-5-2 scikit-learn MLP on random data (a few iterations are enough here)."""
    pytest.importorskip("sklearn")
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 4)), rng.integers(0, 2, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier((5,), max_iter=20, random_state=0).fit(X, y), X


def test_direct_encoding_refused_on_a_spikes_only_chip(tiny_mlp):
    mlp, X = tiny_mlp
    with pytest.raises(nc.ConversionError, match="use encoding='rate' or 'poisson'"):
        nc.convert(mlp, calibration=X, chip=nc.chip.truenorth())
    g = nc.convert(mlp, calibration=X, chip=nc.chip.truenorth(), encoding="rate")
    assert nc.Simulator(nc.compile(g, nc.chip.truenorth())).run(X[:5], 8).predictions.shape == (5,)


def test_direct_encoding_warns_when_inputs_saturate(tiny_mlp):
    mlp, X = tiny_mlp
    sim = nc.Simulator(nc.compile(nc.convert(mlp, calibration=X)))
    with pytest.warns(UserWarning, match="exceed the calibration range"):
        sim.run(X[:3] * 1e5, 4)
