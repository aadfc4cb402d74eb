"""PyTorch path (torch.fx): a small CNN on digits meets the targets on the integer chip; folding is exact."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import neurocore as nc
from neurocore.convert import convert, read_model
from neurocore.evaluate import accuracy_vs_timesteps
from neurocore.convert.fold import build_layers, forward

from .torch_util import ann_accuracy, make_cnn, train


@pytest.fixture(scope="module")
def images(digits):
    Xtr, Xte, ytr, yte = digits
    return Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8), ytr, yte


@pytest.fixture(scope="module")
def cnn(images):
    Xtr, _, ytr, _ = images
    return train(make_cnn(), Xtr, ytr)


def test_cnn_meets_targets_on_integer_chip(cnn, images):
    Xtr, Xte, _, yte = images
    ann = ann_accuracy(cnn, Xte, yte)
    g = convert(cnn, calibration=Xtr[:500], chip=nc.chip.loihi())
    acc = accuracy_vs_timesteps(g, nc.chip.loihi(), Xte, yte, steps=(8, 32))
    assert ann > 0.95
    assert acc[32] >= ann - 0.005, (ann, acc)
    assert acc[8] > ann - 0.02, (ann, acc)
    rep = g.meta["conversion_report"]
    assert [r.type for r in rep.layers] == ["Conv2d+BatchNorm2d+ReLU", "AvgPool2d+Conv2d+BatchNorm2d+ReLU",
                                            "AvgPool2d+Linear"]
    assert g.projections[f"{rep.layers[0].name}.weight"].kind == "conv2d"


def test_fold_equals_torch_forward(cnn, images):
    X = images[0][:20]
    ops, _ = read_model(cnn, X.shape[1:], X)
    name, _, layers = build_layers(ops)
    with torch.no_grad():
        ref = cnn(torch.tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(forward(layers, name, X)[layers[-1].name], ref, rtol=1e-4, atol=1e-4)


def test_maxpool_is_converted_exactly_in_the_rate_limit(cnn, images):
    """The trained CNN with its average pools swapped for max pools: the SNN follows that ANN."""
    Xtr, Xte, _, yte = images
    net = make_cnn(nn.MaxPool2d)
    net.load_state_dict(cnn.state_dict())
    net.eval()
    ann = ann_accuracy(net, Xte, yte)
    g = convert(net, calibration=Xtr[:500])
    acc = accuracy_vs_timesteps(g, None, Xte, yte, steps=(32,))
    assert acc[32] >= ann - 0.01, (ann, acc)


class ResNetish(nn.Module):
    """A class-defined model with functional ops and a residual add (fx-traced, not Sequential)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, padding=1)
        self.c1 = nn.Conv2d(8, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1)
        self.b2 = nn.BatchNorm2d(8)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.stem(x))
        y = nn.functional.relu(self.b1(self.c1(x)))
        y = self.b2(self.c2(y))
        x = (x + y).relu()
        x = self.pool(x)
        return self.fc(x.view(x.size(0), -1))


def test_residual_module_class(images):
    Xtr, Xte, ytr, yte = images
    net = train(ResNetish(), Xtr, ytr, epochs=12)
    X = Xte[:30]
    ops, _ = read_model(net, X.shape[1:], X)
    name, _, layers = build_layers(ops)
    with torch.no_grad():
        ref = net(torch.tensor(X, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(forward(layers, name, X)[layers[-1].name], ref, rtol=1e-4, atol=1e-4)
    ann = ann_accuracy(net, Xte, yte)
    g = convert(net, calibration=Xtr[:500])
    acc = accuracy_vs_timesteps(g, None, Xte, yte, steps=(64,))
    assert acc[64] >= ann - 0.02, (ann, acc)  # deeper latency (skip + body): slower to settle than the plain CNN


def test_unsupported_layers_named_before_any_work():
    net = nn.Sequential(nn.Linear(4, 8), nn.Sigmoid(), nn.Linear(8, 8), nn.Tanh())
    with pytest.raises(nc.ConversionError, match=r"'1' \(Sigmoid\), '3' \(Tanh\)"):
        convert(net, calibration=np.zeros((2, 4)))

    class WithLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 4)
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            return self.fc(torch.sigmoid(x))

    with pytest.raises(nc.ConversionError, match="sigmoid"):
        convert(WithLSTM(), calibration=np.zeros((2, 4)))


def test_nan_weights_refused():
    net = nn.Sequential(nn.Linear(4, 3))
    with torch.no_grad():
        net[0].weight[1, 1] = float("nan")
    with pytest.raises(nc.ConversionError, match="NaN"):
        convert(net, calibration=np.zeros((2, 4)))
