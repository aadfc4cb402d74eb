"""Fixed-point quantization of one normalized layer onto a chip's widths.

In normalized units a layer's threshold is 1. On the chip it is
``theta = vth << vth_shift``, and a spike through weight mantissa ``w`` with
table exponent ``e`` adds ``w << (act_shift + e)`` to ``v``; a graded input
value ``x_int = x' * gain`` adds ``(w * x_int) << (act_shift + e)``. So a
normalized weight ``m`` becomes ``w = round(m * vth * 2**-e / gain)``.

Per layer:

1. ``vth``: the worst-case one-step input ``B`` (all sources firing, in
   thresholds) must satisfy ``B * theta < 2**(v_bits - 2)``, so the 24-bit u
   (wraps) cannot overflow, and v keeps ``2**HEADROOM_BITS`` thresholds of range
   for accumulated inhibition; ``vth < 2**vth_bits``.
2. Each projection picks the smallest exponent ``e`` (in the chip's range and
   ``>= -act_shift``) whose largest ``|w|`` fits ``weight_bits``: the largest
   weight uses the top bit of the mantissa (the full range). For the input
   projection of a direct-encoded network the exponent and the input gain are
   chosen together (gain as large as the graded width allows, for input
   resolution).
3. The bias ``b' * theta`` is a signed ``bias_mant_bits`` mantissa with the
   smallest per-layer exponent that fits the largest bias.

Values that still do not fit are clipped, counted and reported.

On a chip with axon types (``chip.axon_types > 0``, TrueNorth) a neuron can take
only that many distinct weights on its core (:mod:`neurocore.mapping.axontypes`).
Each neuron's weights (all its incoming projections together, at one common
exponent) are then made **ternary**, ``{-s_n, 0, +s_n}`` with a per-neuron scale
``s_n`` -- the trinary weights of Esser et al., "Convolutional networks for fast,
energy-efficient neuromorphic computing", PNAS 113(41):11441, 2016, with TrueNorth's
per-neuron signed value per axon type as the scale. ``s_n`` and the set of kept
synapses are the least-squares optimum (:func:`ternarize_rows`): keep the ``k``
largest ``|w|`` that maximise ``(sum of the k largest |w|)**2 / k``, ``s_n`` their mean
``|w|``. Why ternary rather than four levels ``{+-a, +-b}``, which the four types could
also serve: a source whose targets on a core need ``L`` different types takes ``L``
axons there (and a splitter neuron each), so a dense layer of fan-in ``F`` needs up to
``L * F`` input axons on every core it reaches. Ternary (``L = 2``) fits fan-in up to
128 on TrueNorth's 256-axon cores; four levels would fit only 64.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from neurocore.chip.spec import ChipSpec

__all__ = ["HEADROOM_BITS", "ROUND_SLACK", "QuantizedLayer", "bias_exponents", "quantize_layer", "smallest_exponent",
           "ternarize_rows"]

#: v keeps 2**HEADROOM_BITS thresholds of range, so a long run of inhibition rarely
#: saturates it. A smaller vth costs no precision: the weight exponent adapts.
HEADROOM_BITS = 9


@dataclass
class QuantizedLayer:
    vth: int
    theta: int
    weights: dict[str, sp.csr_matrix]       # int64 mantissas
    weight_exp: dict[str, int]
    bias_mant: np.ndarray
    bias_exp: int
    gain: int | None                          # input gain chosen here (direct encoding), else None
    weight_error: dict[str, float] = field(default_factory=dict)  # relative Frobenius error
    bias_error: float = 0.0
    weight_bits_used: dict[str, int] = field(default_factory=dict)
    saturated: int = 0
    step_bound: float = 0.0


def _bits_used(w: sp.csr_matrix) -> int:
    m = int(np.abs(w.data).max()) if w.nnz else 0
    return int(m).bit_length() + 1 if m else 0


#: A rounded mantissa may exceed the largest one by this much before the next exponent is taken:
#: just under one half, so ``rint(x) <= wmax`` for every accepted x (``wmax + 0.5`` would round,
#: half to even, to ``wmax + 1``, since ``wmax = 2**(bits-1) - 1`` is odd, and be clipped).
ROUND_SLACK = 0.49


def smallest_exponent(peak: float, lo: int, hi: int, limit: float) -> int:
    """The smallest exponent ``e`` in ``[lo, hi]`` with ``peak * 2**-e <= limit`` (``hi`` if none).

    Parameters
    ----------
    peak : float
        The largest magnitude to store (in units of mantissa LSB at exponent 0).
    lo, hi : int
        The exponent range (``2**e`` scales the mantissa).
    limit : float
        The largest scaled magnitude accepted (the mantissa's maximum plus a rounding slack).
    """
    e = lo
    while e < hi and peak * 2.0 ** -e > limit:
        e += 1
    return e


def bias_exponents(target: np.ndarray, mant_bits: int, exp_bits: int) -> np.ndarray:
    """Per element, the smallest exponent ``e`` in ``[0, 2**exp_bits - 1]`` with
    ``|rint(target * 2**-e)| <= 2**(mant_bits - 1) - 1`` (the largest exponent where none fits).

    ``|rint(t * 2**-e)|`` never grows with ``e``, so the largest of these is the smallest
    exponent one shared by all elements can take (the per-layer bias exponent)."""
    lim = (1 << (mant_bits - 1)) - 1
    top = (1 << exp_bits) - 1
    t = np.asarray(target, np.float64)
    exp = np.zeros(t.shape, np.int64)
    for e in range(top):
        exp += np.abs(np.rint(t / 2.0 ** exp)) > lim
    return exp


def _vth(terms: dict[str, sp.csr_matrix], bias: np.ndarray, input_src: str | None, graded: bool,
         gain: int | None, chip: ChipSpec, vth_cap: int | None) -> tuple[int, float]:
    """Phase 1: the threshold mantissa ``vth`` and the worst-case one-step input ``B`` (thresholds)."""
    wmax = (1 << (chip.weight_bits - 1)) - 1
    bound = np.abs(bias).astype(np.float64)
    for s, m in terms.items():
        peak = 2.0 if (s == input_src and graded) else 1.0
        bound = bound + peak * np.asarray(abs(m).sum(axis=1)).ravel()
    b_max = float(bound.max()) if bound.size else 0.0
    u_cap = int((1 << (chip.v_bits - 2 - chip.vth_shift)) / max(1.0, b_max))   # B * theta < 2**(v_bits - 2)
    headroom_cap = max(1, 1 << max(0, chip.v_bits - 1 - chip.vth_shift - HEADROOM_BITS))
    cap = min((1 << chip.vth_bits) - 1, u_cap, headroom_cap)
    if vth_cap is not None:
        cap = min(cap, int(vth_cap))
    for s, m in terms.items():
        mx = float(abs(m).max()) if m.nnz else 0.0
        if mx > 0 and not (s == input_src and graded and gain is None):
            g = gain if (s == input_src and graded) else 1
            cap = min(cap, int((wmax + ROUND_SLACK) * 2.0 ** chip.weight_exp_max * g / mx))
    return max(1, cap), b_max


def _round_weights(m: sp.csr_matrix, scale: float, e: int, div: float, wmax: int) -> tuple[sp.csr_matrix, float, int]:
    """Mantissas ``rint(m * scale * 2**-e / div)`` clipped to the signed width: (int64 matrix,
    relative Frobenius error, values clipped)."""
    q = np.rint(m.data * scale * 2.0 ** -e / div)
    clipped = int(np.sum((q > wmax) | (q < -wmax - 1)))
    q = np.clip(q, -wmax - 1, wmax)
    w = sp.csr_matrix((q.astype(np.int64), m.indices.copy(), m.indptr.copy()), shape=m.shape)
    w.eliminate_zeros()
    back = q * 2.0 ** e * div / scale
    nrm = float(np.linalg.norm(m.data))
    return w, (float(np.linalg.norm(back - m.data) / nrm) if nrm > 0 else 0.0), clipped


def _weights(terms: dict[str, sp.csr_matrix], input_src: str | None, graded: bool, gain: int | None,
             chip: ChipSpec, vth: int) -> tuple[dict, dict, dict, dict, int, int | None, int | None]:
    """Phase 2: each projection's mantissas and exponent; for the graded input of a direct-encoded
    network the input gain is chosen too. Returns (weights, exps, errors, bits used, clipped,
    gain chosen here or None, gain in effect)."""
    wmax = (1 << (chip.weight_bits - 1)) - 1
    e_lo = max(chip.weight_exp_min, -chip.act_shift)
    e_hi = chip.weight_exp_max
    gmax = max(chip.graded_bits - 2, 0)
    weights, exps, errs, used = {}, {}, {}, {}
    saturated = 0
    new_gain = None
    for s, m in terms.items():
        mx = float(abs(m).max()) if m.nnz else 0.0
        if s == input_src and graded and gain is None:
            # combined exponent e + log2(gain): w = m * vth * 2**-(e + g)
            k = smallest_exponent(mx * vth, e_lo, e_hi + gmax, wmax + ROUND_SLACK)
            g = max(0, min(gmax, k - e_lo))  # the largest gain: finest input resolution
            e, new_gain = k - g, 1 << g
            gain = new_gain
            div = float(new_gain)
        else:
            div = float(gain) if (s == input_src and graded) else 1.0
            e = smallest_exponent(mx * vth / div, e_lo, e_hi, wmax + ROUND_SLACK)
        w, errs[s], clipped = _round_weights(m, vth, e, div, wmax)
        saturated += clipped
        weights[s], exps[s], used[s] = w, int(e), _bits_used(w)
    return weights, exps, errs, used, saturated, new_gain, gain


def _bias(bias: np.ndarray, theta: int, chip: ChipSpec) -> tuple[np.ndarray, int, float, int]:
    """Phase 3: (mantissas, the one per-layer exponent, relative error, values clipped) of ``bias * theta``."""
    bmax = (1 << (chip.bias_mant_bits - 1)) - 1
    target = bias * theta
    bexp = int(bias_exponents(target, chip.bias_mant_bits, chip.bias_exp_bits).max(initial=0))
    bq = np.rint(target / 2.0 ** bexp)
    clipped = int(np.sum(np.abs(bq) > bmax))
    bq = np.clip(bq, -bmax, bmax)
    bn = float(np.linalg.norm(target))
    berr = float(np.linalg.norm(bq * 2.0 ** bexp - target) / bn) if bn > 0 else 0.0
    return bq, bexp, berr, clipped


def quantize_layer(terms: dict[str, sp.csr_matrix], bias: np.ndarray, input_src: str | None, graded: bool,
                   gain: int | None, chip: ChipSpec, vth_cap: int | None = None) -> QuantizedLayer:
    """Quantize a normalized layer (threshold 1); see the module docstring.

    ``input_src`` names the source that is the network input (or None); ``graded``
    says whether it carries graded values (direct encoding, ``x' <= 2`` assumed
    for the bound) or spikes; ``gain`` is the input gain if already fixed.
    """
    vth, b_max = _vth(terms, bias, input_src, graded, gain, chip, vth_cap)
    weights, exps, errs, used, saturated, new_gain, gain = _weights(terms, input_src, graded, gain, chip, vth)
    if chip.axon_types and weights:
        wmax = (1 << (chip.weight_bits - 1)) - 1
        saturated += _ternary(terms, weights, exps, errs, used, vth, gain, input_src, graded, wmax)
    theta = vth << chip.vth_shift
    bq, bexp, berr, clipped = _bias(bias, theta, chip)
    return QuantizedLayer(vth=int(vth), theta=int(theta), weights=weights, weight_exp=exps,
                          bias_mant=bq.astype(np.int64), bias_exp=int(bexp), gain=new_gain, weight_error=errs,
                          bias_error=berr, weight_bits_used=used, saturated=saturated + clipped, step_bound=b_max)


def ternarize_rows(rows: np.ndarray, vals: np.ndarray, n_rows: int, smax: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares ternary ``{-s_n, 0, +s_n}`` of each row's values (float, mantissa units).

    Parameters
    ----------
    rows, vals : (n,) arrays
        Row (neuron) of each value, and the value.
    n_rows : int
    smax : int
        Largest scale (the signed mantissa's maximum).

    Returns
    -------
    (q, s) : (n,) int64 ternary mantissas and (n_rows,) int64 scales.
    """
    a = np.abs(vals)
    order = np.lexsort((-a, rows))
    r_s, a_s = rows[order], a[order]
    start = np.searchsorted(r_s, np.arange(n_rows))
    rank = np.arange(r_s.shape[0]) - start[r_s]
    csum = np.cumsum(a_s)
    base = np.where(start[r_s] > 0, csum[start[r_s] - 1], 0.0)
    top = csum - base                                   # sum of the rank+1 largest |w| of the row
    score = top ** 2 / (rank + 1)
    best = np.zeros(n_rows, np.int64)                   # rank of the last kept value per row
    best_score = np.full(n_rows, -1.0)
    np.maximum.at(best_score, r_s, score)
    is_best = score >= best_score[r_s]
    first = np.full(n_rows, r_s.shape[0], np.int64)
    np.minimum.at(first, r_s[is_best], np.flatnonzero(is_best))
    has = first < r_s.shape[0]
    best[has] = rank[first[has]]
    kept_sum = np.zeros(n_rows)
    kept_sum[has] = top[first[has]]
    s = np.clip(np.rint(kept_sum / (best + 1)), 0, smax).astype(np.int64)
    keep_sorted = rank <= best[r_s]
    keep = np.empty_like(keep_sorted)
    keep[order] = keep_sorted
    q = np.where(keep, np.sign(vals) * s[rows], 0).astype(np.int64)
    return q, s


def _ternary(terms, weights, exps, errs, used, vth, gain, input_src, graded, wmax) -> int:
    """Make every neuron's weights ternary (see the module docstring), in place; returns values clipped (0)."""
    e = max(exps.values())
    parts = []
    for s, m in terms.items():
        div = float(gain) if (s == input_src and graded) else 1.0
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        parts.append((s, m, rows, m.data * vth * 2.0 ** -e / div, div))
    n_rows = next(iter(terms.values())).shape[0]
    rows = np.concatenate([p[2] for p in parts])
    vals = np.concatenate([p[3] for p in parts])
    q, scale = ternarize_rows(rows, vals, n_rows, wmax)
    k = 0
    for s, m, r, v, div in parts:
        qs = q[k: k + v.shape[0]]
        k += v.shape[0]
        w = sp.csr_matrix((qs, m.indices.copy(), m.indptr.copy()), shape=m.shape)
        w.eliminate_zeros()
        back = qs * 2.0 ** e * div / vth
        nrm = float(np.linalg.norm(m.data))
        errs[s] = float(np.linalg.norm(back - m.data) / nrm) if nrm > 0 else 0.0
        weights[s], exps[s], used[s] = w, int(e), _bits_used(w)
    return 0  # s_n is a mean of |w| that each fit the mantissa (vth was chosen so), so it fits too
