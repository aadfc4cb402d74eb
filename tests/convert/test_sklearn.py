"""scikit-learn MLP path: accuracy targets on the integer chip, exactness, codecs, errors."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

import neurocore as nc
from neurocore.convert import (
    CODEC_TYPES,
    Codec,
    ConversionReport,
    DirectCodec,
    convert,
)
from neurocore.evaluate import accuracy_vs_timesteps, float_accuracy_vs_timesteps

from .checks import assert_chip_run_is_reference


@pytest.fixture(scope="module")
def converted(mlp, digits):
    Xtr = digits[0]
    return convert(mlp, calibration=Xtr[:500], chip=nc.chip.loihi())


def test_mlp_meets_targets_on_integer_chip(mlp, digits, converted):
    _, Xte, _, yte = digits
    ann = mlp.score(Xte, yte)
    acc = accuracy_vs_timesteps(converted, nc.chip.loihi(), Xte, yte, steps=(8, 32))
    assert acc[32] >= ann - 0.005, (ann, acc)
    assert acc[8] > ann - 0.009, (ann, acc)


def test_chip_run_is_the_integer_graph_exactly(converted, digits):
    chip = nc.chip.loihi()
    X = digits[1][:6]
    assert_chip_run_is_reference(converted, chip, X, 12)


def test_float_snn_and_chip_agree(converted, digits):
    Xte, yte = digits[1], digits[3]
    chip = accuracy_vs_timesteps(converted, None, Xte, yte, steps=(32,))[32]
    flt = float_accuracy_vs_timesteps(converted, Xte, yte, steps=(32,))[32]
    assert abs(chip - flt) <= 0.01
    fs = converted.meta["float_snn"]
    program = nc.compile(converted)
    res = nc.Simulator(program).run(Xte[:50], n_steps=32)
    agree = np.mean(res.predictions == fs.run(Xte[:50], 32).predictions)
    assert agree >= 0.95


def test_report(converted):
    rep = converted.meta["conversion_report"]
    assert isinstance(rep, ConversionReport)
    assert [r.name for r in rep.layers] == ["hidden_1", "hidden_2", "output"]
    for r in rep.layers:
        assert 0 < r.vth < 2 ** 17 and r.scale > 0
        assert all(-6 <= e <= 7 for e in r.weight_exp.values())
        assert all(b == 8 for b in r.weight_bits_used.values())  # the full 8-bit range is used
        assert all(err < 0.05 for err in r.quant_error.values())
        assert 0 <= r.sparsity <= 1
    assert [r.latency for r in rep.layers] == [0, 1, 2]
    assert "hidden_1" in rep.table()
    assert rep.to_dict()["layers"][0]["name"] == "hidden_1"


def test_program_run_takes_float_samples(converted, digits):
    res = nc.Simulator(nc.compile(converted)).run(digits[1][:10], n_steps=16)
    assert res.predictions.shape == (10,)
    assert set(res.predictions) <= set(range(10))


def test_count_ties_broken_by_membrane_not_index():
    c = DirectCodec(input_shape=(2,), in_scale=1.0, gain=1, graded_bits=16, output="o", n_out=3)
    counts = np.array([[5, 5, 1], [2, 7, 7]])
    v = np.array([[10, 90, 0], [0, 5, 40]])
    np.testing.assert_array_equal(c.decode_arrays(counts, v, 10), [1, 2])


def test_membrane_readout(mlp, digits):
    Xtr, Xte, _, yte = digits
    g = convert(mlp, calibration=Xtr[:500], decoding="membrane")
    acc = accuracy_vs_timesteps(g, None, Xte, yte, steps=(4, 32))
    assert acc[32] >= mlp.score(Xte, yte) - 0.01
    res = nc.Simulator(nc.compile(g)).run(Xte[:20], n_steps=100)
    assert res.spike_counts["output"].sum() == 0  # the output never spikes
    assert res.counters["overflow_v"].sum() == 0


def test_codec_round_trip(converted):
    c = converted.meta["codec"]
    d = c.to_dict()
    assert d["type"] in CODEC_TYPES
    c2 = Codec.from_dict(d)
    assert type(c2) is type(c) and c2 == c


@pytest.mark.parametrize("encoding", ["poisson", "rate"])
def test_spike_encodings(mlp, digits, encoding):
    Xtr, Xte, _, yte = digits
    g = convert(mlp, calibration=Xtr[:500], encoding=encoding)
    assert not g.inputs[0].graded
    program = nc.compile(g)
    sim = nc.Simulator(program)
    a = sim.run(Xte[:100], n_steps=48, seed=3)
    b = sim.run(Xte[:100], n_steps=48, seed=3)
    np.testing.assert_array_equal(a.predictions, b.predictions)  # seeded: same seed, same result
    x3, x4 = (g.meta["codec"].encode(Xte[:20], 48, seed=s) for s in (3, 4))
    if encoding == "rate":    # deterministic: the seed is not used
        np.testing.assert_array_equal(x3, x4)
    else:                     # Poisson: another seed draws other spikes
        assert not np.array_equal(x3, x4)
    assert np.mean(a.predictions == yte[:100]) > 0.85
    x = g.meta["codec"].encode(Xte[:3], 48, seed=1)
    assert x.dtype == np.int32 and set(np.unique(x)) <= {0, 1}


def test_poisson_seed_changes_spikes(converted, mlp, digits):
    g = convert(mlp, calibration=digits[0][:100], encoding="poisson")
    c = g.meta["codec"]
    assert not np.array_equal(c.encode(digits[1][:5], 16, seed=0), c.encode(digits[1][:5], 16, seed=1))


def test_reset_zero_and_no_half_init(mlp, digits):
    Xtr, Xte, _, yte = digits
    g = convert(mlp, calibration=Xtr[:500], reset="zero", v_init=0.0)
    assert all(p.neuron.reset == "zero" for p in g.populations)
    assert np.all(g["hidden_1"].neuron.v0 == 0)
    acc = accuracy_vs_timesteps(g, None, Xte, yte, steps=(32,))
    assert acc[32] > 0.85


def test_per_channel_and_percentile(mlp, digits):
    Xtr, Xte, _, yte = digits
    g = convert(mlp, calibration=Xtr[:500], per_channel=True, percentile=99.0)
    assert accuracy_vs_timesteps(g, None, Xte, yte, steps=(32,))[32] > 0.9
    # per channel changes the network (one scale per hidden neuron), not just a label in the report
    flat = convert(mlp, calibration=Xtr[:500], per_channel=False, percentile=99.0)
    assert g.meta["conversion_report"].per_channel and not flat.meta["conversion_report"].per_channel
    differ = [name for name, p in g.projections.items()
              if (p.weights != flat.projections[name].weights).nnz or p.weight_exp != flat.projections[name].weight_exp]
    assert differ, "per_channel=True converted to the same weights as per_channel=False"


def test_fewer_weight_bits(mlp, digits):
    chip = dataclasses.replace(nc.chip.loihi(), weight_bits=4)
    g = convert(mlp, calibration=digits[0][:300], chip=chip)
    lo, hi = chip.weight_range   # 4 bits: [-8, 7]
    for p in g.projections.values():
        assert lo <= p.weights.data.min() and p.weights.data.max() <= hi
    assert accuracy_vs_timesteps(g, chip, digits[1], digits[3], steps=(32,))[32] > 0.6


def test_regressor(digits):
    from sklearn.neural_network import MLPRegressor
    from threadpoolctl import threadpool_limits

    Xtr, Xte, ytr, _ = digits
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=200, random_state=0).fit(Xtr, ytr.astype(float))
    g = convert(reg, calibration=Xtr[:500], decoding="membrane")
    res = nc.Simulator(nc.compile(g)).run(Xte, n_steps=64)
    ann = reg.predict(Xte)
    assert np.corrcoef(res.predictions, ann)[0, 1] > 0.98
    assert np.mean(np.abs(res.predictions - ann)) < 0.3


def test_binary_classifier(digits):
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    Xtr, Xte, ytr, _ = digits
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=100, random_state=0).fit(Xtr, ytr >= 5)
    g = convert(clf, calibration=Xtr[:300])
    res = nc.Simulator(nc.compile(g)).run(Xte, n_steps=32)
    assert np.mean(res.predictions == clf.predict(Xte)) > 0.95


# ---- errors ----------------------------------------------------------------------------

def test_non_relu_refused(digits):
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(8,), activation="tanh", max_iter=5).fit(digits[0][:100], digits[2][:100])
    with pytest.raises(nc.ConversionError, match="tanh"):
        convert(clf, calibration=digits[0][:10])


def test_unfitted_refused():
    from sklearn.neural_network import MLPClassifier

    with pytest.raises(nc.ConversionError, match="not fitted"):
        convert(MLPClassifier(), calibration=np.zeros((2, 4)))


def test_nan_weights_refused(mlp, digits):
    import copy

    bad = copy.deepcopy(mlp)
    bad.coefs_[1][3, 2] = np.nan
    with pytest.raises(nc.ConversionError, match="hidden_2.*NaN"):
        convert(bad, calibration=digits[0][:10])


def test_bad_arguments(mlp, digits):
    X = digits[0][:10]
    with pytest.raises(nc.ConversionError, match="calibration"):
        convert(mlp)
    with pytest.raises(nc.ConversionError, match="encoding"):
        convert(mlp, calibration=X, encoding="ttfs")
    with pytest.raises(nc.ConversionError, match="decoding"):
        convert(mlp, calibration=X, decoding="first")
    with pytest.raises(nc.ConversionError, match="negative"):
        convert(mlp, calibration=X - 0.5, encoding="poisson")
    with pytest.raises(nc.ConversionError, match="cannot convert"):
        convert(object(), calibration=X)
    with pytest.raises(nc.ConversionError, match="NaN"):
        convert(mlp, calibration=np.full_like(X, np.nan))
