"""Rule strings: Lava's parse (checked against Lava's own ProductSeries in the golden files) and refusals."""
import numpy as np
import pytest

import neurocore as nc
from neurocore.errors import LearningRuleError, MappingError
from neurocore.graph.learning import VARIABLES, float_to_literal, parse_rule

from .lava_cases import CASES, text

NAMES = {v: k for k, v in VARIABLES.items()}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_parse_equals_lavas_product_series(path):
    d = np.load(path)
    prods = sum((parse_rule(text(d, f"rule_{t}"), t) for t in ("dw", "dd", "dt")), ())
    assert len(prods) == d["products"].shape[0]
    for p, row in zip(prods, d["products"]):
        assert ("dw", "dd", "dt").index(p.target) == row[0]
        assert ("x0", "y0", "u").index(p.dependency) == row[1]
        assert (p.s_mant, p.s_exp + 7, p.decimate, len(p.factors)) == tuple(row[2:6])
        for k, f in enumerate(p.factors):
            var, const, _, sgn = row[6 + 4 * k: 10 + 4 * k]
            assert (f.var, f.const, int(f.sgn)) == (NAMES[var], const, sgn)


def test_normalisation_and_literals():
    (p,) = parse_rule("16 * x0 * y1")
    assert (p.s_mant, p.s_exp) == (4, 2)
    (p,) = parse_rule("56 * x0")
    assert (p.s_mant, p.s_exp) == (7, 3)
    (p,) = parse_rule("-3 * 2^-3 * y0 * (24 - x2)")
    assert (p.s_mant, p.s_exp, p.factors[0].var, p.factors[0].const) == (3, -3, "x2", -24)
    assert [float_to_literal(v) for v in (0.3, 0.75, 1.5, 2.4, 10, 0)] == \
        ["(1) * 2 ^ -2", "(1) * 2 ^ 0", "(1) * 2 ^ 1", "(2) * 2 ^ 0", "(10)", "0"]
    assert nc.learning.stdp().dw == "(1) * (-1) * x0 * y1 +(1) * (1) * y0 * x1"


@pytest.mark.parametrize("rule, words", [
    ("x0 * y1 * q", ["unknown symbol", "q"]),
    ("x0 * 0.5", ["unknown symbol"]),
    ("x0 * x1 * x2 * y1 * y2", ["4 factors", "x0*x1*x2*y1*y2"]),
    ("x1 * y1", ["no dependency", "x1*y1"]),
    ("x0 * u1 * w", ["after the dependency"]),
    ("u10 * w", ["one digit"]),
    ("32 * 2^8 * x0", ["does not fit"]),
    ("x0 * (-y2)", ["bracket", "(-y2)"]),
    ("x0 * (x1 - 3 + 5)", ["bracket"]),
    ("x0 * sgn(x1)", ["sgn()"]),
    ("x0 * (y1", ["unbalanced"]),
])
def test_bad_rules_name_rule_and_term(rule, words):
    with pytest.raises(LearningRuleError) as e:
        nc.LearningRule(dw=rule, name="mine")
    msg = str(e.value)
    assert "mine" in msg and "dw=" in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("kw, word", [
    ({"x1_impulse": 200}, "x1_impulse"), ({"y2_impulse": -1}, "y2_impulse"), ({"x1_tau": -3}, "x1_tau"),
    ({"y1_tau": float("nan")}, "y1_tau"), ({"t_epoch": 0}, "t_epoch"), ({"t_epoch": 64}, "t_epoch"),
    ({"sign_mode": "both"}, "sign_mode"), ({"mode": "float"}, "mode"), ({"num_weight_bits": 9}, "num_weight_bits"),
    ({"dw": "u1 * w", "dd": "u2 * d"}, "different k"), ({"dw": ""}, "no products"),
])
def test_bad_parameters(kw, word):
    args = {"dw": "x0 * y1", **kw}
    with pytest.raises(LearningRuleError, match=word):
        nc.LearningRule(**args)


def _tiny(rule, chip=None, w=None):
    g = nc.Graph()
    x = g.input(3)
    p = g.population(2, nc.IF(vth=10) if chip is not None else nc.CubaLIF(du=4095, dv=0, vth=10))
    g.connect(x, p, weights=np.ones((2, 3), int) if w is None else w, learning=rule)
    return g


def test_no_learning_engine_on_truenorth():
    rule = nc.learning.stdp(name="stdp1")
    with pytest.raises(MappingError, match="no learning engine") as e:
        nc.compile(_tiny(rule, chip="tn"), nc.chip.truenorth())
    assert "stdp1" in str(e.value) and "x0 * y1" in str(e.value)


def test_plastic_projection_errors():
    rule = nc.learning.stdp()
    with pytest.raises(LearningRuleError, match="shape"):
        _tiny(rule, w=np.ones((3, 2), int))
    with pytest.raises(LearningRuleError, match="excitatory range"):
        _tiny(nc.learning.stdp(sign_mode="excitatory"), w=-np.ones((2, 3), int))
    with pytest.raises(LearningRuleError, match="LearningRule"):
        _tiny("x0 * y1")
    g = nc.Graph()
    x = g.input(3, graded=True)
    p = g.population(2, nc.CubaLIF(du=0, dv=0, vth=10))
    with pytest.raises(LearningRuleError, match="graded"):
        g.connect(x, p, weights=np.ones((2, 3), int), learning=rule)
    with pytest.raises(LearningRuleError, match="delay"):
        g.connect(g.input(3), p, weights=np.ones((2, 3), int), learning=rule, delay=0)


def test_zero_weights_are_synapses():
    g = _tiny(nc.learning.stdp(), w=np.zeros((2, 3), int))
    assert g.projections[next(iter(g.projections))].n_synapses == 6
    prog = nc.compile(g, nc.chip.loihi())
    assert prog.arrays["target"].size == 6
