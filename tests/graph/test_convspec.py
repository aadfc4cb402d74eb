"""ConvSpec: the typed convolution geometry a conv2d projection carries."""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import neurocore as nc
from neurocore.errors import GraphError
from neurocore.graph.layers import conv2d_kernel, conv2d_matrix
from neurocore.graph.nodes import ConvSpec


def _conv_graph(stride=1, padding=0, dilation=1, groups=1, c=2, o=4, k=(3, 3), hw=(7, 6), seed=0):
    rng = np.random.default_rng(seed)
    g = nc.Graph()
    x = g.input(c * hw[0] * hw[1], shape=(c, *hw))
    kernel = rng.integers(-5, 6, (o, c // groups, *k))
    g.conv2d(x, kernel, nc.IF(vth=10), stride=stride, padding=padding, dilation=dilation, groups=groups, name="c")
    return g, kernel


def test_conv2d_carries_its_spec():
    g, kernel = _conv_graph(stride=(2, 1), padding=1, groups=2)
    spec = g.projections["c.weight"].conv
    assert spec == ConvSpec((4, 1, 3, 3), (4, 4, 6), (2, 7, 6), (2, 1), (1, 1), (1, 1), 2, False)
    x = g.nodes["c"]
    assert spec.out_shape == x.shape
    assert g.projections["c.weight"].meta["kernel_shape"] == (4, 1, 3, 3)   # meta kept as before


def test_sumpool_spec_says_pool():
    g = nc.Graph()
    x = g.input(2 * 4 * 4, shape=(2, 4, 4))
    g.sumpool2d(x, 2, nc.IF(vth=3), name="p")
    spec = g.projections["p.weight"].conv
    assert spec.pool and spec.groups == 2 and spec.stride == (2, 2)
    assert g.projections["p.weight"].meta["pool"] is True


@pytest.mark.parametrize("stride,padding,dilation,groups",
                         list(itertools.product((1, 2), (0, 1, 2), (1, 2), (1, 2))))
def test_kernel_read_back_from_the_matrix(stride, padding, dilation, groups):
    g, kernel = _conv_graph(stride, padding, dilation, groups)
    p = g.projections["c.weight"]
    got = conv2d_kernel(p.weights, p.conv)
    # taps that never land inside the input cannot be read back; all others must be exact
    m_full, _ = conv2d_matrix(kernel, (2, 7, 6), stride, padding, dilation, groups)
    m_got, _ = conv2d_matrix(got, (2, 7, 6), stride, padding, dilation, groups)
    assert (m_full != m_got).nnz == 0
    np.testing.assert_array_equal(got[got != 0], kernel[got != 0])


def test_edited_matrix_is_no_longer_a_kernel():
    g, _ = _conv_graph()
    p = g.projections["c.weight"]
    w = p.weights.tolil()
    r, c = p.weights.nonzero()
    w[r[0], c[0]] += 1
    assert conv2d_kernel(sp.csr_matrix(w), p.conv) is None
    assert conv2d_kernel(p.weights, dataclasses.replace(p.conv, in_shape=None)) is None


def test_spec_from_legacy_meta_and_saved_files(tmp_path):
    """Files saved before ConvSpec existed hold only meta: the spec is rebuilt from it."""
    g, _ = _conv_graph(stride=2, padding=1)
    path = g.save(tmp_path / "g.npz")
    g2 = nc.Graph.load(path)
    assert g2.projections["c.weight"].conv == g.projections["c.weight"].conv
    h = nc.Graph()
    x = h.input(12, shape=(3, 2, 2))
    pop = h.population(8, nc.IF(vth=2), shape=(2, 2, 2))
    m, _ = conv2d_matrix(np.ones((2, 3, 1, 1), np.int64), (3, 2, 2))
    meta = {"kernel_shape": [2, 3, 1, 1], "out_shape": [2, 2, 2]}   # no in_shape, stride...: shapes only
    p = h.connect(x, pop, m, kind="conv2d", meta=meta)
    assert p.conv.kernel_shape == (2, 3, 1, 1) and p.conv.in_shape is None
    assert conv2d_kernel(p.weights, p.conv) is None                   # not enough geometry to read it back
    assert h.connect(x, pop, m, kind="conv2d", meta={"dense_macs": 24}).conv is None


def test_spec_only_on_conv_projections():
    g, _ = _conv_graph()
    p = g.projections["c.weight"]
    with pytest.raises(GraphError, match="kind='conv2d'"):
        dataclasses.replace(p, kind="sparse")
    assert dataclasses.replace(p, kind="sparse", conv=None).conv is None


def test_shared_storage_reads_the_spec():
    from neurocore.mapping.partition import is_shared, kernel_channel_bits

    g, _ = _conv_graph()
    p = g.projections["c.weight"]
    chip = nc.chip.loihi()
    assert is_shared(p, "shared") and not is_shared(p, "expanded")
    assert kernel_channel_bits(p, chip) == 2 * 3 * 3 * chip.weight_bits
    assert not is_shared(dataclasses.replace(p, kind="sparse", conv=None), "shared")
