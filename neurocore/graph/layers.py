"""Layer builders: Dense, Conv2d, SumPool2d as populations + projections.

A layer is described by its integer weights and lowered at once to a sparse
projection (n_dst, n_src) in channels-first, row-major order (the order of
``torch.flatten``), so Flatten needs no node. The projection keeps ``kind`` and
``meta`` (kernel, stride, ...) so the compiler can account memory for shared
convolution kernels and the report can count the dense MACs.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocore.errors import GraphError

__all__ = ["conv2d_kernel", "conv2d_matrix", "conv2d_output_shape", "sumpool2d_kernel"]


def _pair(v, what: str, where: str) -> tuple[int, int]:
    t = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) for i in t):
        raise GraphError(f"{where}: {what} must be an int or a pair of ints, got {v!r}")
    return int(t[0]), int(t[1])


def conv2d_output_shape(in_shape, kernel_shape, stride=1, padding=0, dilation=1, groups=1,
                        where: str = "conv2d") -> tuple[int, int, int]:
    """Output (C_out, H_out, W_out) of a 2-D convolution; raises GraphError on inconsistent shapes."""
    if len(in_shape) != 3:
        raise GraphError(f"{where}: input shape must be (C, H, W), got {tuple(in_shape)}")
    if len(kernel_shape) != 4:
        raise GraphError(f"{where}: kernel must be 4-D (C_out, C_in/groups, kh, kw), got shape {tuple(kernel_shape)}")
    c, h, w = (int(i) for i in in_shape)
    o, cg, kh, kw = (int(i) for i in kernel_shape)
    (sh, sw), (ph, pw), (dh, dw) = (_pair(stride, "stride", where), _pair(padding, "padding", where),
                                    _pair(dilation, "dilation", where))
    if min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        raise GraphError(f"{where}: stride and dilation must be >= 1 and padding >= 0")
    if groups < 1 or c % groups or o % groups:
        raise GraphError(f"{where}: groups={groups} must divide input channels ({c}) and output channels ({o})")
    if cg != c // groups:
        raise GraphError(f"{where}: kernel has {cg} input channels per group; input has {c} channels in "
                         f"{groups} group(s) = {c // groups} per group")
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if ho < 1 or wo < 1:
        raise GraphError(f"{where}: a {kh}x{kw} kernel (dilation {dh}x{dw}, padding {ph}x{pw}) does not fit a "
                         f"{h}x{w} input")
    return o, ho, wo


def conv2d_matrix(kernel: np.ndarray, in_shape, stride=1, padding=0, dilation=1, groups=1,
                  where: str = "conv2d") -> tuple[sp.csr_matrix, tuple[int, int, int]]:
    """Expand a convolution into its (n_out, n_in) weight matrix; returns (matrix, out_shape)."""
    kernel = np.asarray(kernel)
    o, ho, wo = conv2d_output_shape(in_shape, kernel.shape, stride, padding, dilation, groups, where)
    c, h, w = (int(i) for i in in_shape)
    _, cg, kh, kw = kernel.shape
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride, "", where), _pair(padding, "", where), _pair(dilation, "", where)
    og = o // groups
    oc, oy, ox, ic, ky, kx = np.meshgrid(np.arange(o), np.arange(ho), np.arange(wo), np.arange(cg), np.arange(kh),
                                         np.arange(kw), indexing="ij")
    iy = oy * sh - ph + ky * dh
    ix = ox * sw - pw + kx * dw
    cin = (oc // og) * cg + ic
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    vals = kernel[oc, ic, ky, kx]
    ok &= vals != 0
    rows = ((oc * ho + oy) * wo + ox)[ok]
    cols = ((cin * h + iy) * w + ix)[ok]
    m = sp.csr_matrix((vals[ok], (rows, cols)), shape=(o * ho * wo, c * h * w))
    return m, (o, ho, wo)


def sumpool2d_kernel(channels: int, kernel_size) -> np.ndarray:
    """Depthwise all-ones kernel (C, 1, kh, kw): sum pooling as a grouped convolution."""
    kh, kw = _pair(kernel_size, "kernel_size", "sumpool2d")
    return np.ones((channels, 1, kh, kw), np.int64)


def conv2d_kernel(weights: sp.spmatrix, conv) -> np.ndarray | None:
    """The (C_out, C_in/groups, kh, kw) kernel whose expansion under ``conv`` (a
    :class:`~neurocore.graph.nodes.ConvSpec`) is ``weights``, or None if there is none.

    Each tap is read at the first output pixel where it lands inside the input (one
    vectorized gather), and the kernel is accepted only if re-expanding it gives
    ``weights`` exactly (an edited or pruned matrix is no longer a convolution)."""
    if conv is None or conv.in_shape is None:
        return None
    o, cg, kh, kw = conv.kernel_shape
    c, h, w = conv.in_shape
    _, ho, wo = conv.out_shape
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    if o % conv.groups or weights.shape != (o * ho * wo, c * h * w):
        return None
    ky, kx = np.arange(kh), np.arange(kw)
    oy = np.maximum(0, -((ky * dh - ph) // sh))          # ceil((ph - ky*dh) / sh), at least 0
    ox = np.maximum(0, -((kx * dw - pw) // sw))
    iy, ix = oy * sh - ph + ky * dh, ox * sw - pw + kx * dw
    okr, okc = (oy < ho) & (iy < h), (ox < wo) & (ix < w)  # a tap that never lands inside stays 0
    oc, ic, ty, tx = np.meshgrid(np.arange(o), np.arange(cg), ky, kx, indexing="ij")
    cin = (oc // (o // conv.groups)) * cg + ic
    ok = okr[ty] & okc[tx]
    rows = ((oc * ho + oy[ty]) * wo + ox[tx])[ok]
    cols = ((cin * h + iy[ty]) * w + ix[tx])[ok]
    kernel = np.zeros((o, cg, kh, kw), np.int64)
    kernel[ok] = np.asarray(sp.csr_matrix(weights)[rows, cols]).ravel()
    m, _ = conv2d_matrix(kernel, (c, h, w), conv.stride, conv.padding, conv.dilation, conv.groups)
    if m.shape != weights.shape or (m != weights).nnz:
        return None
    return kernel
