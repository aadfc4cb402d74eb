"""Graph nodes: plain data, no numerics. Shapes are checked when a node is made."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurocore._ints import _numeric, to_int64
from neurocore.errors import GraphError
from neurocore.graph.neurons import NeuronModel

__all__ = ["ConvSpec", "Node", "Input", "Population", "Projection", "as_weight_matrix", "one_to_one"]


@dataclass(frozen=True, eq=False)
class Node:
    """Anything a projection can start from: an input or a population of ``n`` neurons."""

    name: str
    n: int

    def __post_init__(self) -> None:
        if not isinstance(self.n, (int, np.integer)) or isinstance(self.n, bool) or self.n < 1:
            raise GraphError(f"node '{self.name}': size must be a positive int, got {self.n!r}")
        object.__setattr__(self, "n", int(self.n))


@dataclass(frozen=True, eq=False)
class Input(Node):
    """``n`` external channels. Each step a channel carries a spike (0/1) or a graded
    signed integer of the chip's ``graded_bits`` (16 on Loihi 2). ``graded=True``
    declares the channels analog: every non-zero value, 1 included, then counts as a
    graded delivery (NeuroBench's Effective_MACs) rather than a spike."""

    graded: bool = False
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True, eq=False)
class Population(Node):
    """``n`` neurons of one model; ``shape`` (e.g. (C, H, W)) is informational."""

    neuron: NeuronModel = None  # type: ignore[assignment]
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.neuron, NeuronModel):
            raise GraphError(f"population '{self.name}': neuron must be a neuron model (nc.CubaLIF, nc.IF), "
                             f"got {type(self.neuron).__name__}")
        for k, val in self.neuron.__dict__.items():
            if isinstance(val, np.ndarray) and val.shape != (self.n,):
                raise GraphError(f"population '{self.name}': {type(self.neuron).__name__}.{k} has shape "
                                 f"{val.shape}; per-neuron values must have shape ({self.n},)")


def _pair_or_none(v) -> tuple[int, int] | None:
    """An int or a pair of ints as a pair; None if ``v`` is neither."""
    t = (v, v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else tuple(np.ravel(v)) \
        if isinstance(v, (tuple, list, np.ndarray)) else ()
    if len(t) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in t):
        return None
    return int(t[0]), int(t[1])


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of a 2-D convolution that a ``conv2d`` projection's matrix expands.

    Channels-first, row-major order (``torch.flatten``'s): source neuron ``(c, y, x)`` is
    ``(c * H + y) * W + x``. Carried by :attr:`Projection.conv`, so the compiler (shared-kernel
    storage) and NIR export read the convolution from typed fields.

    Attributes
    ----------
    kernel_shape : (C_out, C_in/groups, kh, kw)
    out_shape : (C_out, H_out, W_out)
    in_shape : (C_in, H, W), or None if the projection's maker did not say
    stride, padding, dilation : (int, int)
        Steps, zero padding and tap spacing in pixels, (rows, columns).
    groups : int
    pool : bool
        Built by :meth:`Graph.sumpool2d` (a depthwise all-one kernel times one weight).
    """

    kernel_shape: tuple[int, int, int, int]
    out_shape: tuple[int, int, int]
    in_shape: tuple[int, int, int] | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    pool: bool = False

    @classmethod
    def from_meta(cls, meta: dict) -> ConvSpec | None:
        """The spec a projection's layer ``meta`` describes (the keys :meth:`Graph.conv2d` and the
        converter write, and files saved before ConvSpec existed hold), or None where it describes none."""
        try:
            ks = tuple(int(i) for i in meta["kernel_shape"])
            out = tuple(int(i) for i in meta["out_shape"])
        except (KeyError, TypeError, ValueError):
            return None
        if len(ks) != 4 or len(out) != 3:
            return None
        ins = meta.get("in_shape")
        try:
            ins = tuple(int(i) for i in ins) if ins is not None else None
        except (TypeError, ValueError):
            ins = None
        stride, padding, dilation = (_pair_or_none(meta.get(k, d)) for k, d in
                                     (("stride", 1), ("padding", 0), ("dilation", 1)))
        groups = meta.get("groups", 1)
        if None in (stride, padding, dilation) or not isinstance(groups, (int, np.integer)):
            return cls(ks, out, None)   # geometry beyond the shapes unreadable: memory accounting only
        return cls(ks, out, ins if ins is not None and len(ins) == 3 else None, stride, padding, dilation,
                   int(groups), bool(meta.get("pool", False)))


@dataclass(frozen=True, eq=False)
class Projection:
    """Synapses from ``src`` to ``dst``.

    Attributes
    ----------
    weights : scipy.sparse.csr_matrix, int64, shape (n_dst, n_src)
        Signed weight mantissas; stored zeros are removed (no synapse).
    weight_exp : int
        The table's weight exponent: a spike adds ``w << (act_shift + weight_exp)`` to ``u``.
    delay : int
        Steps from emission to integration (1 = next step, as Lava's Dense; 0 only from inputs).
    kind : str
        What built it ("sparse", "dense", "conv2d", ...); compile may store it differently.
    meta : dict
        Layer details (kernel shape, stride...) used for memory accounting.
    learning : LearningRule or None
    conv : ConvSpec or None
        The convolution a ``kind="conv2d"`` projection expands (None for every other kind).
    """

    name: str
    src: str
    dst: str
    weights: sp.csr_matrix
    weight_exp: int = 0
    delay: int = 1
    kind: str = "sparse"
    meta: dict = field(default_factory=dict)
    #: A :class:`~neurocore.graph.learning.LearningRule` makes the projection plastic
    #: (every (dst, src) pair is a synapse, zeros included); None = fixed weights.
    learning: object = None
    conv: ConvSpec | None = None

    def __post_init__(self) -> None:
        if self.conv is not None and self.kind != "conv2d":
            raise GraphError(f"projection '{self.name}': a ConvSpec describes a kind='conv2d' projection, "
                             f"this one is kind={self.kind!r} (pass conv=None)")

    @property
    def n_synapses(self) -> int:
        return int(self.weights.nnz)


def one_to_one(n: int, weight: int = 1) -> sp.csr_matrix:
    """A one-to-one weight matrix (``n`` x ``n`` diagonal) for :meth:`Graph.connect`."""
    w = np.broadcast_to(np.asarray(weight), (n,))
    return sp.diags(w.astype(np.int64), format="csr", dtype=np.int64)


ONE_TO_ONE_NAMES = ("one-to-one", "one_to_one")
_W_HINT = "divide the weights and raise weight_exp"


def as_weight_matrix(weights, n_dst: int, n_src: int, where: str) -> sp.csr_matrix:
    """Coerce weights to an int64 CSR (n_dst, n_src), checking shape and values.

    Accepted: a dense (n_dst, n_src) array, a scipy.sparse matrix, the string
    ``"one-to-one"`` (weight 1), or a 1-D array of n weights meaning one-to-one with
    those weights (both need n_src == n_dst).
    """
    if isinstance(weights, str) or (not sp.issparse(weights) and np.ndim(weights) == 1):
        if isinstance(weights, str) and weights not in ONE_TO_ONE_NAMES:
            raise GraphError(f"{where}: weights={weights!r}; give an array, a scipy.sparse matrix or 'one-to-one'")
        if n_src != n_dst:
            raise GraphError(f"{where}: one-to-one weights need equal sizes, source has {n_src} and target {n_dst}")
        diag = np.ones(n_src, np.int64) if isinstance(weights, str) else np.asarray(weights)
        if diag.dtype.kind == "O":
            diag = _numeric(diag, f"{where}: weights")
            if diag.dtype.kind == "O":
                diag = to_int64(diag, f"{where}: weight", lambda k: f" [{k}, {k}]", _W_HINT)
        if diag.shape != (n_src,):
            raise GraphError(f"{where}: one-to-one weights must have {n_src} values, got {diag.shape[0]}")
        weights = sp.diags(diag, format="csr", dtype=diag.dtype)
    if sp.issparse(weights):
        w = sp.csr_matrix(weights)
    else:
        arr = np.asarray(weights)
        if arr.ndim != 2:
            raise GraphError(f"{where}: weights must be 2-D (n_dst, n_src) = ({n_dst}, {n_src}), "
                             f"got shape {arr.shape}; use 'one-to-one' or nc.one_to_one(n) for one-to-one")
        if arr.dtype.kind == "O":  # Python numbers, possibly beyond int64: checked before any cast
            arr = _numeric(arr, f"{where}: weights")
            if arr.dtype.kind == "O":
                arr = to_int64(arr, f"{where}: weight", lambda k: f" [{k // arr.shape[1]}, {k % arr.shape[1]}]", _W_HINT)
        w = sp.csr_matrix(arr)
    if w.shape != (n_dst, n_src):
        hint = " (transposed? weights are (n_dst, n_src))" if w.shape == (n_src, n_dst) else ""
        raise GraphError(f"{where}: weights have shape {w.shape}, expected (n_dst, n_src) = ({n_dst}, {n_src}){hint}")
    data = w.data
    if data.dtype.kind not in "iuf" or data.dtype.kind == "b":
        raise GraphError(f"{where}: weights must be numbers, got dtype {data.dtype}")
    if data.dtype.kind == "f":
        bad = ~np.isfinite(data)
        if bad.any():
            coo = w.tocoo()
            k = int(np.flatnonzero(~np.isfinite(coo.data))[0])
            raise GraphError(f"{where}: weight [{coo.row[k]}, {coo.col[k]}] is {coo.data[k]}; weights must be finite")
        frac = data != np.round(data)
        if frac.any():
            raise GraphError(f"{where}: weights must be integer mantissas (fixed point), got fractional values "
                             f"such as {data[frac][0]!r}; quantize them (nc.convert does) first")
    def at(k: int) -> str:  # the [row, column] of stored entry k
        return f" [{int(np.searchsorted(w.indptr, k, side='right')) - 1}, {int(w.indices[k])}]"

    w = sp.csr_matrix((to_int64(w.data, f"{where}: weight", at, _W_HINT), w.indices, w.indptr), shape=w.shape)
    w.eliminate_zeros()
    w.sort_indices()
    return w
