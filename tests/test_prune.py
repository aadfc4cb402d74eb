"""nc.prune: synapse pruning by activity / magnitude, with fraction, threshold or accuracy targets."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import neurocore as nc
from neurocore.kernels import reference
from neurocore.pruning import PruneError

CHIP = nc.chip.loihi()
T = 12


def hand_graph(w1=None, w2=None):
    """input(8) -> hidden(16) -> out(4); input channels 6, 7 never spike in ``inputs()``."""
    rng = np.random.default_rng(1)
    w1 = rng.integers(-60, 90, (16, 8)) if w1 is None else w1
    w2 = rng.integers(-50, 70, (4, 16)) if w2 is None else w2
    g = nc.Graph()
    x = g.input(8, name="x")
    h = g.population(16, nc.IF(vth=100), name="h")
    o = g.population(4, nc.IF(vth=150), name="o")
    g.connect(x, h, w1, kind="dense", name="x->h")
    g.connect(h, o, w2, kind="dense", name="h->o")
    return g


def inputs(batch=5, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((batch, T, 8)) < 0.4).astype(np.int32)
    x[:, :, 6:] = 0
    return x


def assert_same_run(a, b, x):
    ra = nc.Simulator(nc.compile(a, CHIP)).run(x, n_steps=T)
    rb = nc.Simulator(nc.compile(b, CHIP)).run(x, n_steps=T)
    for k in ra.counters:
        np.testing.assert_array_equal(ra.counters[k], rb.counters[k], err_msg=k)
    for k in ra.spike_counts:
        np.testing.assert_array_equal(ra.spike_counts[k], rb.spike_counts[k])
    np.testing.assert_array_equal(ra.final_state["v"], rb.final_state["v"])
    return ra


def test_rule_that_removes_nothing_is_identity():
    g = hand_graph()
    for rule, kw in (("magnitude", {"threshold": 0.0}), ("activity", {"fraction": 0.0})):
        p, rep = nc.prune(g, calibration=inputs(), rule=rule, n_steps=T, **kw)
        assert rep.removed_fraction == 0 and rep.synapses_after == rep.synapses_before
        for name, proj in g.projections.items():
            q = p.projections[name]
            assert q.kind == proj.kind and (q.weights != proj.weights).nnz == 0
        assert_same_run(g, p, inputs())


def test_silent_sources_are_removed_and_run_is_unchanged():
    g = hand_graph()
    p, rep = nc.prune(g, calibration=inputs(), rule="silent", n_steps=T)
    w = p.projections["x->h"].weights.toarray()
    assert (w[:, 6:] == 0).all() and (w[:, :6] == g.projections["x->h"].weights.toarray()[:, :6]).all()
    assert rep.layers[0].synapses_after == rep.layers[0].synapses_before - 32
    # synapses that never carry a spike change nothing on the calibration data itself
    assert_same_run(g, p, inputs())


@pytest.mark.parametrize("rule", ["activity", "magnitude", "both"])
def test_pruned_graph_simulates_like_one_built_without_those_synapses(rule):
    g = hand_graph()
    p, rep = nc.prune(g, calibration=inputs(), rule=rule, fraction=0.4, n_steps=T)
    assert rep.synapses_after == rep.synapses_before - round(0.4 * rep.synapses_before)
    w1, w2 = (p.projections[n].weights.toarray() for n in ("x->h", "h->o"))
    built = hand_graph(w1, w2)  # zeros in a dense array are no synapses
    assert p.projections["x->h"].kind == "dense"
    x = inputs(7, seed=3)
    r = assert_same_run(p, built, x)
    ref = reference.simulate(p, CHIP, x, T)
    prog = r.program
    for name, pm in prog.populations.items():
        np.testing.assert_array_equal(r.spike_counts[name], ref["spikes"][:, :, pm.offset: pm.offset + pm.n].sum(1))
    np.testing.assert_array_equal(r.final_state["v"], ref["v"][:, -1])


def test_pruning_shrinks_stored_synapse_memory_of_dense_layers():
    g = hand_graph()
    p, _ = nc.prune(g, rule="magnitude", fraction=0.5)
    b0 = nc.compile(g, CHIP).core_usage()["synapse_bits"].sum()
    b1 = nc.compile(p, CHIP).core_usage()["synapse_bits"].sum()
    assert b1 < b0


def test_threshold_removes_scores_at_or_below_it():
    g = hand_graph()
    p, rep = nc.prune(g, rule="magnitude", threshold=0.05)
    w = g.projections["x->h"].weights.tocsr()
    share = np.abs(w.toarray()) / np.abs(w.toarray()).sum(1, keepdims=True)
    kept = p.projections["x->h"].weights.toarray() != 0
    np.testing.assert_array_equal(kept, (share > 0.05) & (w.toarray() != 0))
    assert rep.threshold <= 0.05


@pytest.mark.parametrize("kw, match", [
    ({"rule": "size"}, "unknown rule"),
    ({"rule": "magnitude", "fraction": 1.0}, r"outside \[0, 1\)"),
    ({"rule": "magnitude", "fraction": -0.1}, r"outside \[0, 1\)"),
    ({"rule": "magnitude", "fraction": float("nan")}, "finite"),
    ({"rule": "magnitude", "threshold": 1.5}, r"outside \[0, 1\)"),
    ({"rule": "magnitude", "fraction": 0.1, "threshold": 0.1}, "one target"),
    ({"rule": "activity"}, "needs calibration"),
    ({"rule": "magnitude", "max_accuracy_drop": 0.01}, "validation"),
    ({"rule": "magnitude", "layers": ["nope"]}, "no projection named"),
    ({"rule": "activity", "calibration": np.zeros((2, T, 5), np.int32)}, "shape"),
])
def test_bad_requests_raise(kw, match):
    kw.setdefault("n_steps", T)
    with pytest.raises(PruneError, match=match):
        nc.prune(hand_graph(), **kw)
    assert issubclass(PruneError, ValueError) and issubclass(PruneError, nc.NeurocoreError)


def test_not_a_graph():
    with pytest.raises(PruneError, match="Graph"):
        nc.prune(object(), rule="magnitude")


@pytest.fixture(scope="module")
def converted():
    sk = pytest.importorskip("sklearn")
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp = MLPClassifier(hidden_layer_sizes=(64,), max_iter=80, random_state=0).fit(X[:1000], y[:1000])
    assert sk
    return nc.convert(mlp, calibration=X[:300], chip=CHIP), X, y


def test_converted_calibration_checks(converted):
    g, X, _ = converted
    with pytest.raises(PruneError, match="shape"):
        nc.prune(g, calibration=X[:10, :50], n_steps=8)
    bad = X[:10].copy()
    bad[3, 5] = np.nan
    with pytest.raises(PruneError, match="nan at index"):
        nc.prune(g, calibration=bad, n_steps=8)


def test_converted_accuracy_budget_and_report(converted):
    g, X, y = converted
    val = (X[1000:1300], y[1000:1300])
    p, rep = nc.prune(g, calibration=X[:200], rule="activity", validation=val, max_accuracy_drop=0.01,
                      n_steps=16, chip=CHIP)
    assert rep.accuracy_before - rep.accuracy_after <= 0.01 + 1e-12
    acc = nc.Simulator(nc.compile(p, CHIP)).run(val[0], n_steps=16).accuracy(val[1])
    assert acc == rep.accuracy_after
    assert rep.removed_fraction > 0.1  # a trained 64-64-10 MLP tolerates some pruning within 1 point
    assert rep.cores_before is not None and rep.cores_after <= rep.cores_before
    assert [lp.name for lp in rep.layers] == list(g.projections)
    assert p.meta["codec"] is g.meta["codec"]
    assert "synapses" in str(rep)
    # the pruned converted graph still runs bit-exactly against the reference
    from tests.convert.checks import assert_chip_run_is_reference

    assert_chip_run_is_reference(p, CHIP, X[1300:1310], 16)


def test_sparse_input_matrix_and_layers_argument():
    g = hand_graph()
    p, rep = nc.prune(g, rule="magnitude", fraction=0.5, layers="h->o")
    assert (p.projections["x->h"].weights != g.projections["x->h"].weights).nnz == 0
    assert rep.layers[0].synapses_after == rep.layers[0].synapses_before
    assert rep.layers[1].synapses_after < rep.layers[1].synapses_before
    assert sp.issparse(p.projections["h->o"].weights)


def test_both_removes_silent_synapses_first():
    g = hand_graph()
    p, rep = nc.prune(g, calibration=inputs(), rule="both", threshold=0.0, n_steps=T)
    s, _ = nc.prune(g, calibration=inputs(), rule="silent", n_steps=T)
    for name in g.projections:
        assert (p.projections[name].weights != s.projections[name].weights).nnz == 0
    assert rep.layers[0].synapses_after == rep.layers[0].synapses_before - 32  # input channels 6, 7
