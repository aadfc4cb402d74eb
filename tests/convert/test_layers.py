"""NumPy layer-list path: folding (BatchNorm, pooling, residual, max-pool) against a plain float ANN."""
from __future__ import annotations

import numpy as np
import pytest

import neurocore as nc
from neurocore.convert import convert, read_model
from neurocore.convert.fold import build_layers, forward


def _conv(x, w, b, pad):
    """Reference conv2d, stride 1: x (B, C, H, W), w (O, C, k, k)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, w.shape[2:], axis=(2, 3))  # B C H W k k
    return np.einsum("bchwij,ocij->bohw", win, w) + b[None, :, None, None]


def _bn(x, d):
    sh = (1, -1, 1, 1) if x.ndim == 4 else (1, -1)
    return (x - d["mean"].reshape(sh)) / np.sqrt(d["var"].reshape(sh) + d["eps"]) * d["weight"].reshape(sh) \
        + d["bias"].reshape(sh)


def _pool(x, k, fn):
    B, C, H, W = x.shape
    return fn(x.reshape(B, C, H // k, k, W // k, k), axis=(3, 5))


def _bn_params(rng, c, big_shift=False):
    return {"type": "batchnorm", "weight": rng.uniform(0.5, 2, c), "bias": rng.normal(0, 3 if big_shift else 0.5, c),
            "mean": rng.normal(0, 1, c), "var": rng.uniform(0.5, 2, c), "eps": 1e-5}


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("pool", ["avgpool2d", "maxpool2d"])
def test_fold_matches_float_ann(rng, pool):
    c1 = {"type": "conv2d", "weight": rng.normal(0, 0.5, (4, 1, 3, 3)), "bias": rng.normal(0, 0.1, 4), "padding": 1}
    bn1 = _bn_params(rng, 4, big_shift=True)
    c2 = {"type": "conv2d", "weight": rng.normal(0, 0.3, (6, 4, 3, 3)), "bias": rng.normal(0, 0.1, 6), "padding": 1}
    bn2 = _bn_params(rng, 6)
    fc = {"type": "dense", "weight": rng.normal(0, 0.3, (5, 6 * 2 * 2)), "bias": rng.normal(0, 0.1, 5)}
    layers = [c1, bn1, {"type": "relu"}, {"type": pool, "kernel_size": 2}, c2, bn2, {"type": "relu"},
              {"type": pool, "kernel_size": 2}, {"type": "flatten"}, {"type": "dropout"}, fc]
    x = rng.uniform(0, 1, (7, 1, 8, 8))
    fn = np.mean if pool == "avgpool2d" else np.max
    h = _pool(np.maximum(_bn(_conv(x, c1["weight"], c1["bias"], 1), bn1), 0), 2, fn)
    h = _pool(np.maximum(_bn(_conv(h, c2["weight"], c2["bias"], 1), bn2), 0), 2, fn)
    ref = h.reshape(7, -1) @ fc["weight"].T + fc["bias"]
    ops, _ = read_model(layers, (1, 8, 8))
    name, _, spiking = build_layers(ops)
    np.testing.assert_allclose(forward(spiking, name, x)[spiking[-1].name], ref, rtol=1e-9, atol=1e-9)
    if pool == "avgpool2d":  # BatchNorm and pooling fold away: three populations
        assert len(spiking) == 3
    else:  # each 2x2 max-pool adds two relu(a - b) rounds
        assert len(spiking) == 7


def test_residual_block_folds_and_converts(rng):
    body = [{"type": "dense", "weight": rng.normal(0, 0.3, (16, 16)), "bias": rng.normal(0, 0.1, 16)},
            {"type": "relu"},
            {"type": "dense", "weight": rng.normal(0, 0.3, (16, 16)), "bias": rng.normal(0, 0.1, 16)}]
    w0, w1 = rng.normal(0, 0.3, (16, 10)), rng.normal(0, 0.3, (4, 16))
    layers = [{"type": "dense", "weight": w0, "bias": np.zeros(16)}, {"type": "relu"},
              {"type": "residual", "layers": body}, {"type": "relu"}, {"type": "dense", "weight": w1}]
    x = rng.uniform(0, 1, (300, 10))
    h = np.maximum(x @ w0.T, 0)
    f = np.maximum(h @ body[0]["weight"].T + body[0]["bias"], 0) @ body[2]["weight"].T + body[2]["bias"]
    ref = np.maximum(h + f, 0) @ w1.T
    ops, _ = read_model(layers, (10,))
    name, _, spiking = build_layers(ops)
    np.testing.assert_allclose(forward(spiking, name, x)[spiking[-1].name], ref, atol=1e-9)
    g = convert(layers, calibration=x, decoding="membrane")
    # the skip and the body reach the add's population in the same step (delays aligned)
    rep = g.meta["conversion_report"]
    add_layer = next(r for r in rep.layers if len(r.sources) == 2)
    lat = {r.name: r.latency for r in rep.layers}
    assert {s: lat[s] + d for s, d in add_layer.delays.items()} == {s: add_layer.latency for s in add_layer.sources}
    res = nc.Simulator(nc.compile(g)).run(x, n_steps=64)
    pm = res.program.populations[g.meta["codec"].output]
    vals = g.meta["codec"].values(res.spike_counts[pm.name], res.final_state["v"][:, pm.offset: pm.offset + pm.n], 64)
    assert np.corrcoef(vals.ravel(), ref.ravel())[0, 1] > 0.97
    assert np.mean(res.predictions == ref.argmax(1)) > 0.85


def test_bn_folded_biases_do_not_collapse(rng):
    """Large BatchNorm shifts become biases scaled with their layer: the SNN keeps the ANN's outputs."""
    w0 = rng.normal(0, 0.4, (32, 20))
    layers = [{"type": "dense", "weight": w0}, dict(_bn_params(rng, 32, big_shift=True), type="batchnorm"),
              {"type": "relu"}, {"type": "dense", "weight": rng.normal(0, 0.3, (6, 32)), "bias": np.ones(6)}]
    x = rng.uniform(0, 1, (400, 20))
    ops, _ = read_model(layers, (20,))
    name, _, spiking = build_layers(ops)
    ref = forward(spiking, name, x)[spiking[-1].name]
    g = convert(layers, calibration=x)
    acc = nc.Simulator(nc.compile(g)).run(x, n_steps=32).predictions == ref.argmax(1)
    assert acc.mean() > 0.9


def test_unsupported_and_nan_in_layer_list(rng):
    layers = [{"type": "dense", "weight": np.ones((3, 4))}, {"type": "sigmoid"}, {"type": "lstm", "name": "rnn"}]
    with pytest.raises(nc.ConversionError, match=r"'sigmoid1' \(sigmoid\).*'rnn' \(lstm\)"):
        convert(layers, calibration=np.ones((2, 4)))
    bad = np.ones((3, 4))
    bad[0, 0] = np.inf
    with pytest.raises(nc.ConversionError, match="dense0.*NaN/inf"):
        convert([{"type": "dense", "weight": bad}], calibration=np.ones((2, 4)))
    with pytest.raises(nc.ConversionError, match="4 features"):
        convert([{"type": "dense", "weight": np.ones((3, 5))}], calibration=np.ones((2, 4)))
