"""ONNX path: a model exported from PyTorch converts like the PyTorch original; unsupported ops are named."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import TensorProto, helper, numpy_helper

import neurocore as nc
from neurocore.convert import convert, read_model
from neurocore.evaluate import accuracy_vs_timesteps
from neurocore.convert.fold import build_layers, forward


def _export(net, x):
    torch = pytest.importorskip("torch")
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.tensor(x[:1], dtype=torch.float32),), f, dynamo=False,
                          input_names=["x"], output_names=["y"])
    return onnx.load_from_string(f.getvalue())


def test_onnx_cnn_matches_torch_conversion(digits):
    torch = pytest.importorskip("torch")
    from tests.convert.torch_util import ann_accuracy, make_cnn, train

    Xtr, Xte, ytr, yte = (a.reshape(-1, 1, 8, 8) if a.ndim == 2 else a for a in digits)
    net = train(make_cnn(torch.nn.MaxPool2d), Xtr, ytr, epochs=6)
    model = _export(net, Xtr)
    ops, _ = read_model(model, Xtr.shape[1:])
    name, _, layers = build_layers(ops)
    with torch.no_grad():
        ref = net(torch.tensor(Xte[:20], dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(forward(layers, name, Xte[:20])[layers[-1].name], ref, rtol=1e-4, atol=1e-4)
    g_onnx = convert(model, calibration=Xtr[:300])
    g_torch = convert(net, calibration=Xtr[:300])
    a = accuracy_vs_timesteps(g_onnx, None, Xte, yte, steps=(32,))[32]
    b = accuracy_vs_timesteps(g_torch, None, Xte, yte, steps=(32,))[32]
    assert abs(a - b) <= 0.01
    assert a >= ann_accuracy(net, Xte, yte) - 0.015


def _mlp_model(act="Relu"):
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(0, 0.5, (6, 8)), rng.normal(0, 0.1, 8), rng.normal(0, 0.5, (8, 3))
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
             helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
             helper.make_node(act, ["h1"], ["h2"], name="act1"),
             helper.make_node("Gemm", ["h2", "w2"], ["y"], name="fc2")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array(a.astype(np.float32), n)
                               for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"))])
    return helper.make_model(graph), (w1, b1, w2)


def test_hand_built_onnx_mlp():
    model, (w1, b1, w2) = _mlp_model()
    x = np.random.default_rng(1).uniform(0, 1, (200, 6))
    ref = np.maximum(x @ w1 + b1, 0) @ w2
    g = convert(model, calibration=x)
    assert len(g.populations) == 2  # MatMul + Add(bias) is one dense layer
    res = nc.Simulator(nc.compile(g)).run(x, n_steps=32)
    assert np.mean(res.predictions == ref.argmax(1)) > 0.9


def test_unsupported_onnx_op_named():
    model, _ = _mlp_model("Sigmoid")
    with pytest.raises(nc.ConversionError, match=r"'act1' \(Sigmoid\)"):
        convert(model, calibration=np.zeros((2, 6)))
