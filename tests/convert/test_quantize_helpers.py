"""The exponent searches convert() and the float NIR import share (convert/quantize.py)."""
from __future__ import annotations

import numpy as np
import pytest

from neurocore.convert.quantize import ROUND_SLACK, bias_exponents, smallest_exponent


def _per_layer_loop(target, mant_bits, exp_bits):
    """The per-layer bias exponent as quantize_layer searched it before: grow until every value fits."""
    lim, top, e = (1 << (mant_bits - 1)) - 1, (1 << exp_bits) - 1, 0
    while e < top and np.any(np.abs(np.rint(target / 2.0 ** e)) > lim):
        e += 1
    return e


def _per_neuron_loop(val, mant_bits, exp_bits):
    """The per-neuron exponent as the NIR import searched it before (None: nothing fits)."""
    lim, emax = (1 << (mant_bits - 1)) - 1, (1 << exp_bits) - 1
    for e in range(emax + 1):
        if abs(round(val / 2 ** e)) <= lim:
            return e
    return None


@pytest.mark.parametrize("seed", range(5))
def test_bias_exponents_match_both_former_searches(seed):
    rng = np.random.default_rng(seed)
    target = rng.normal(0, 10.0 ** rng.uniform(0, 7), 200)
    target[:3] = [0.0, 4095.5, -4096.5]                        # ties at the 13-bit edge
    exp = bias_exponents(target, 13, 3)
    assert int(exp.max(initial=0)) == _per_layer_loop(target, 13, 3)
    lim = (1 << 12) - 1
    for v, e in zip(target, exp):
        want = _per_neuron_loop(v, 13, 3)
        if want is None:
            assert e == 7 and abs(np.rint(v / 2.0 ** e)) > lim
        else:
            assert e == want
    assert bias_exponents(np.zeros(0), 13, 3).shape == (0,)


def test_smallest_exponent():
    wmax = 127
    assert smallest_exponent(0.0, -6, 7, wmax + ROUND_SLACK) == -6
    assert smallest_exponent(127.49 * 2.0 ** -6, -6, 7, wmax + ROUND_SLACK) == -6
    assert smallest_exponent(127.5 * 2.0 ** -6, -6, 7, wmax + ROUND_SLACK) == -5   # would round to 128
    assert smallest_exponent(1e12, -6, 7, wmax + ROUND_SLACK) == 7                  # capped at the top
    for peak in np.random.default_rng(0).uniform(0, 1e5, 100):
        e = smallest_exponent(peak, 0, 20, wmax + ROUND_SLACK)
        assert np.rint(peak * 2.0 ** -e) <= wmax and (e == 0 or peak * 2.0 ** -(e - 1) > wmax + ROUND_SLACK)
