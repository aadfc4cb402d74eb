"""Learning rules: Loihi's sum-of-products plasticity, as plain data.

A :class:`LearningRule` is attached to a projection with ``g.connect(..., learning=rule)``.
It holds up to three rule strings in Lava's grammar — ``dw`` (the weight), ``dd`` (tag 2,
Lava's "delay", which delays nothing) and ``dt`` (tag 1, the eligibility trace of
three-factor rules) — plus the five traces' impulses and time constants, the learning
epoch and the rounding mode. :func:`parse_rule` turns a string into :class:`Product` s,
exactly as Lava's ``ProductSeries`` does, and refuses what Lava would silently bend.

Rule grammar (spaces are ignored)::

    rule    := product (("+" | "-") product)*
    product := factor ("*" factor)*          one dependency x0, y0 or u<k> per product
    factor  := x0 | y0 | u<k> | x1 | x2 | y1 | y2 | y3 | w | d | t
             | literal | "(" ["-"] literal ")" | "(" var ("+" | "-") int ")"
             | "(" int ("+" | "-") var ")" | "sgn(" (w | d | t) [("+" | "-") int] ")"
    literal := int | "2^" ["-"] int | int "*2^" ["-"] int

Every literal folds into the product's scale ``s_mant * 2**s_exp`` (``s_mant`` in
[-8, 7] after normalisation, ``s_exp`` in [-7, 8]). A product has at most
:data:`MAX_FACTORS` factors besides its dependency. Widths: x0, y0 1 bit; traces 7;
w, d, t 9 (as Lava's ``constants.py``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

import numpy as np

from neurocore.errors import LearningRuleError

__all__ = ["LearningRule", "Product", "Factor", "parse_rule", "stdp", "rstdp", "float_to_literal",
           "VARIABLES", "FACTOR_WIDTHS", "MAX_FACTORS", "TRACES", "SIGN_MODES", "LEARNING_MODES"]

#: Factor variable codes (the kernel's numbering): x0, y0, x1, x2, y1, y2, y3, w, d, t.
VARIABLES = {"x0": 0, "y0": 1, "x1": 2, "x2": 3, "y1": 4, "y2": 5, "y3": 6, "w": 7, "d": 8, "t": 9}
#: Bits of each factor (Lava ``W_*`` constants): a factor value is clipped to [-2**b, 2**b - 1].
FACTOR_WIDTHS = {"x0": 1, "y0": 1, "x1": 7, "x2": 7, "y1": 7, "y2": 7, "y3": 7, "w": 9, "d": 9, "t": 9}
#: Dependency codes: x0 (a pre spike in the epoch), y0 (a post spike), u (every 2**k epochs).
DEPENDENCIES = {"x0": 0, "y0": 1, "u": 2}
#: Targets in evaluation order (Lava evaluates dw, dd, dt, all from the old w, d, t).
TARGETS = ("dw", "dd", "dt")
#: Factors per product besides the dependency. With 3 factors of at most 9 bits the
#: product (and Lava's int32 MAC) cannot overflow; more is refused.
MAX_FACTORS = 3
#: The five traces, in the kernel's order.
TRACES = ("x1", "x2", "y1", "y2", "y3")
#: Weight sign modes, as Lava's ``SignMode``: weight range after learning.
SIGN_MODES = {"mixed": (-256, 255), "excitatory": (0, 255), "inhibitory": (-255, 0)}
#: ``"lava"``: Lava 0.10's bit-approximate model exactly; ``"chip"``: integer throughout.
LEARNING_MODES = ("lava", "chip")
#: Largest impulse (a 7-bit trace) and the largest time constant accepted.
IMPULSE_MAX = 127
TAU_MAX = 2.0**62


@dataclass(frozen=True)
class Factor:
    """One factor of a product: ``clip(var + const, -2**width, 2**width - 1)``, or its sign."""

    var: str
    const: int = 0
    sgn: bool = False

    @property
    def code(self) -> int:
        return VARIABLES[self.var]

    @property
    def width(self) -> int:
        return FACTOR_WIDTHS[self.var]


@dataclass(frozen=True)
class Product:
    """``dependency * s_mant * 2**s_exp * prod(factors)``, added to ``target``."""

    target: str
    dependency: str
    s_mant: int
    s_exp: int
    factors: tuple[Factor, ...]
    decimate: int = -1  # k of a u<k> dependency, -1 otherwise

    @property
    def shift(self) -> int:
        """The implicit right shift of the product: ``max(0, sum(widths) + 4 - 15)`` bits."""
        return max(0, sum(f.width for f in self.factors) + 4 - 15)


_TOKEN = re.compile(r"\+|-|\*|x0|y0|u\d+|x[12]|y[123]|w|d|t|sgn\(|\(|\)|\d+\*2\^-?\d+|2\^-?\d+|\d+")


def _tokens(rule: str, where: str) -> list[str]:
    s = re.sub(r"\s+", "", rule)
    out, i = [], 0
    while i < len(s):
        m = _TOKEN.match(s, i)
        if m is None:
            raise LearningRuleError(f"{where}: unknown symbol at '{s[i:i + 12]}' (position {i} of '{s}'); a rule "
                                    "uses x0, y0, u<k>, x1, x2, y1, y2, y3, w, d, t, integers, 2^e, +, -, *, "
                                    "brackets and sgn(...)")
        out.append(m.group())
        i = m.end()
    return out


def _literal(tok: str) -> tuple[int, int]:
    """(mantissa, exponent) of a literal token."""
    if "^" in tok:
        base, _, e = tok.partition("^")
        m = int(base.split("*")[0]) if "*" in base else 1
        return m, int(e)
    return int(tok), 0


def _is_lit(tok: str) -> bool:
    return bool(re.fullmatch(r"\d+\*2\^-?\d+|2\^-?\d+|\d+", tok))


def _bracket(toks: list[str], where: str, term: str):
    """Parse the inside of ``( ... )``: returns ('lit', m, e) or ('factor', Factor, sign)."""
    if len(toks) == 2 and toks[0] == "-" and _is_lit(toks[1]):
        m, e = _literal(toks[1])
        return "lit", -m, e
    if len(toks) == 1 and _is_lit(toks[0]):
        m, e = _literal(toks[0])
        return "lit", m, e
    if len(toks) == 1 and toks[0] in VARIABLES:
        return "factor", Factor(toks[0]), 1
    if len(toks) == 3 and toks[1] in "+-":
        a, op, b = toks
        sign = 1 if op == "+" else -1
        if a in FACTOR_WIDTHS and b.isdigit():
            return "factor", Factor(a, sign * int(b)), 1
        if a.isdigit() and b in FACTOR_WIDTHS:
            # (c - var) = -(var - c): the sign moves into the scale
            return "factor", Factor(b, int(a) * sign), sign
    if len(toks) == 4 and toks[0] == "-" and toks[1] in FACTOR_WIDTHS and toks[2] in "+-" and toks[3].isdigit():
        c = int(toks[3]) if toks[2] == "+" else -int(toks[3])
        return "factor", Factor(toks[1], -c), -1  # -var + c = -(var - c)
    raise LearningRuleError(f"{where}: term '{term}': bracket '({''.join(toks)})' is not a literal, a variable, "
                            "or a variable plus/minus an integer; Lava would read it differently (a sign or "
                            "sub-terms dropped), so it is refused")


def _split_products(toks: list[str]) -> list[tuple[int, list[str]]]:
    """Split at + and - outside brackets that follow a non-empty product: [(sign, tokens)]."""
    prods, cur, sign, depth = [], [], 1, 0
    for tok in toks:
        if depth == 0 and tok in "+-" and cur:
            prods.append((sign, cur))
            cur, sign = [], (1 if tok == "+" else -1)
            continue
        if depth == 0 and tok in "+-" and not cur:
            sign *= 1 if tok == "+" else -1
            continue
        depth += tok in ("(", "sgn(")
        depth -= tok == ")"
        cur.append(tok)
    if cur:
        prods.append((sign, cur))
    return prods


def _group(toks: list[str], where: str, term: str) -> list[list[str]]:
    """Group a product's tokens into factors: a single token, or a bracket with its contents."""
    groups, i = [], 0
    while i < len(toks):
        tok = toks[i]
        if tok == "*":
            i += 1
            continue
        if tok in ("(", "sgn("):
            depth, j = 1, i + 1
            while j < len(toks) and depth:
                depth += toks[j] in ("(", "sgn(")
                depth -= toks[j] == ")"
                j += 1
            if depth:
                raise LearningRuleError(f"{where}: term '{term}': unbalanced bracket")
            groups.append(toks[i:j])
            i = j
            continue
        if tok == ")":
            raise LearningRuleError(f"{where}: term '{term}': unbalanced bracket")
        groups.append([tok])
        i += 1
    return groups


@dataclass
class _Acc:
    """A product being parsed: its scale ``mant * 2**exp``, dependency, decimation and factors."""

    mant: int
    exp: int = 0
    dep: str | None = None
    dec: int = -1
    factors: list = field(default_factory=list)


def _grp_literal(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    m, e = _literal(grp[0])
    acc.mant, acc.exp = acc.mant * m, acc.exp + e


def _grp_dependency(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    acc.dep = grp[0]


def _grp_u(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    tok = grp[0]
    if acc.dep is not None:
        raise LearningRuleError(f"{where}: term '{term}': '{tok}' after the dependency '{acc.dep}'; a product "
                                "has one dependency (x0, y0 or u<k>)")
    if len(tok) != 2:
        raise LearningRuleError(f"{where}: term '{term}': '{tok}': the decimation exponent k of u<k> is one "
                                "digit (0..9); Lava reads only its first digit")
    acc.dep, acc.dec = "u", int(tok[1])


def _grp_variable(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    acc.factors.append(Factor(grp[0]))


def _grp_sgn(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    inner = grp[1:-1]
    if not inner or inner[0] not in ("w", "d", "t") or (len(inner) not in (1, 3)) \
            or (len(inner) == 3 and (inner[1] not in "+-" or not inner[2].isdigit())):
        raise LearningRuleError(f"{where}: term '{term}': sgn() takes w, d or t plus/minus an integer, "
                                f"got 'sgn({''.join(inner)})'")
    c = 0 if len(inner) == 1 else (int(inner[2]) if inner[1] == "+" else -int(inner[2]))
    acc.factors.append(Factor(inner[0], c, sgn=True))


def _grp_bracket(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    kind, a, b = _bracket(grp[1:-1], where, term)
    if kind == "lit":
        acc.mant, acc.exp = acc.mant * a, acc.exp + b
    else:
        acc.factors.append(a)
        acc.mant *= b


def _grp_minus(acc: _Acc, grp: list[str], where: str, term: str) -> None:
    raise LearningRuleError(f"{where}: term '{term}': a '-' inside a product; write the sign in front")


#: (matches(group, dependency so far), handler) in the order tried; a group none matches is an error.
_GROUPS = (
    (lambda g, dep: g[0] == "-", _grp_minus),
    (lambda g, dep: _is_lit(g[0]) and len(g) == 1, _grp_literal),
    (lambda g, dep: g[0] in ("x0", "y0") and len(g) == 1 and dep is None, _grp_dependency),
    (lambda g, dep: g[0].startswith("u") and len(g) == 1, _grp_u),
    (lambda g, dep: g[0] in VARIABLES and len(g) == 1, _grp_variable),
    (lambda g, dep: g[0] == "sgn(", _grp_sgn),
    (lambda g, dep: g[0] == "(", _grp_bracket),
)


def _scale(mant: int, exp: int, where: str, term: str) -> tuple[int, int]:
    """The product's scale as a 4-bit signed mantissa and an exponent in [-7, 8] (even mantissas halved)."""
    if mant == 0:
        raise LearningRuleError(f"{where}: term '{term}' has a zero scale")
    while abs(mant) > 7 and mant % 2 == 0 and exp < 8:
        mant, exp = mant // 2, exp + 1
    if not -8 <= mant <= 7 or not -7 <= exp <= 8:
        raise LearningRuleError(f"{where}: term '{term}': scale {mant} * 2^{exp} does not fit the 4-bit signed "
                                "mantissa [-8, 7] and the exponent range [-7, 8]")
    return mant, exp


def _product(target: str, sign: int, toks: list[str], where: str) -> Product:
    term = "".join(toks)
    acc = _Acc(sign)
    for grp in _group(toks, where, term):
        handler = next((h for matches, h in _GROUPS if matches(grp, acc.dep)), None)
        if handler is None:
            raise LearningRuleError(f"{where}: term '{term}': unexpected '{''.join(grp)}'")
        handler(acc, grp, where, term)
    if acc.dep is None:
        raise LearningRuleError(f"{where}: term '{term}' has no dependency; every product needs x0, y0 or u<k>")
    if len(acc.factors) > MAX_FACTORS:
        raise LearningRuleError(f"{where}: term '{term}' has {len(acc.factors)} factors besides its dependency; at "
                                f"most {MAX_FACTORS} are allowed")
    mant, exp = _scale(acc.mant, acc.exp, where, term)
    return Product(target, acc.dep, int(mant), int(exp), tuple(acc.factors), acc.dec)


def parse_rule(rule: str, target: str = "dw", name: str = "rule") -> tuple[Product, ...]:
    """The products of one rule string, in evaluation order.

    Raises
    ------
    LearningRuleError
        An unknown symbol, a product without a dependency, with two ``u<k>``, with more than
        :data:`MAX_FACTORS` factors or a scale out of range; the message names the rule and the term.
    """
    where = f"learning rule {name} {target}='{rule}'"
    if not isinstance(rule, str):
        raise LearningRuleError(f"learning rule {name}: {target} must be a string, got {type(rule).__name__}")
    toks = _tokens(rule, where)
    if not toks:
        return ()
    return tuple(_product(target, s, t, where) for s, t in _split_products(toks))


def float_to_literal(p: float) -> str:
    """Lava's ``float_to_literal``: a float as ``(m)`` or ``(m) * 2 ^ e`` (lossy, as Lava's)."""
    if p == 0:
        return "0"
    sign = "-" if p < 0 else ""
    m = max(int(abs(p)), 1)
    r = abs(p) / m
    if r == 1:
        return f"({sign}{m})"
    return f"({sign}{m}) * 2 ^ {int(round(math.log2(r)))}"


@dataclass(frozen=True)
class LearningRule:
    """A Loihi learning rule (Lava's ``Loihi2FLearningRule`` / ``Loihi3FLearningRule``).

    Parameters
    ----------
    dw, dd, dt : str
        Sum-of-products rules for the weight, tag 2 and tag 1 (see the module docstring);
        ``""`` for none.
    x1_impulse, x2_impulse, y1_impulse, y2_impulse, y3_impulse : float
        Added to a trace at each spike, in trace units (0..127, 1/256 resolution, rounded
        stochastically).
    x1_tau, ..., y3_tau : float
        Decay time constants in steps: per step a trace is multiplied by ``exp(-1/tau)``
        (rounded stochastically). ``tau = 0`` means the trace has no memory (factor 0).
    t_epoch : int
        Steps per learning epoch (1..63): learning happens at the end of each epoch.
    three_factor : bool
        Post traces come from the post neuron and a third factor (Lava's R-STDP neuron):
        ``y1`` is the neuron's own spike trace (``y1_impulse``, ``y1_tau``), ``y2`` the reward
        arriving on the population's reward projections (``g.connect(..., reward=True)``), ``y3 = 0``.
    sign_mode : {"mixed", "excitatory", "inhibitory"}
        Weight range after learning: [-256, 255], [0, 255] or [-255, 0].
    num_weight_bits : int
        Weight precision (1..8). ``mode="lava"`` applies it to the initial weights only, as Lava does.
    mode : {"chip", "lava"}
        ``"lava"``: Lava 0.10's ``PyLearningDenseModelBitApproximate`` exactly (float64 trace
        decay, numpy PCG64 random numbers with Lava's seeds, Lava's bounds). ``"chip"``:
        integer trace decay with 12-bit factors, widths enforced at every update, a counter
        random stream keyed by (seed, sample, step, trace).
    rng_seed : int
        Seed of the stochastic rounding (Lava's ``rng_seed``).
    decay_factors : tuple of 5 floats, optional
        ``mode="lava"`` only: ``exp(-1/tau)`` per trace as Lava's numpy computed it (numpy
        builds differ by one ulp for some taus); default ``np.exp(-1/tau)`` here.
    """

    dw: str = ""
    dd: str = ""
    dt: str = ""
    x1_impulse: float = 0.0
    x1_tau: float = 0.0
    x2_impulse: float = 0.0
    x2_tau: float = 0.0
    y1_impulse: float = 0.0
    y1_tau: float = 0.0
    y2_impulse: float = 0.0
    y2_tau: float = 0.0
    y3_impulse: float = 0.0
    y3_tau: float = 0.0
    t_epoch: int = 1
    three_factor: bool = False
    sign_mode: str = "mixed"
    num_weight_bits: int = 8
    mode: str = "chip"
    rng_seed: int = 0
    decay_factors: tuple[float, ...] | None = None
    name: str = field(default="rule", compare=False)

    def __post_init__(self) -> None:
        where = f"learning rule {self.name}"
        for tr in TRACES:
            for kind, hi in (("impulse", IMPULSE_MAX), ("tau", TAU_MAX)):
                val = getattr(self, f"{tr}_{kind}")
                if isinstance(val, bool) or not isinstance(val, (int, float, np.integer, np.floating)) \
                        or not math.isfinite(val) or not 0 <= val <= hi:
                    raise LearningRuleError(f"{where}: {tr}_{kind} = {val!r} is out of range [0, {hi:g}]")
        if not isinstance(self.t_epoch, (int, np.integer)) or not 1 <= self.t_epoch <= 63:
            raise LearningRuleError(f"{where}: t_epoch = {self.t_epoch!r} must be an int in [1, 63] "
                                    "(6-bit epoch time on Loihi)")
        if self.sign_mode not in SIGN_MODES:
            raise LearningRuleError(f"{where}: sign_mode = {self.sign_mode!r}; choose one of {sorted(SIGN_MODES)}")
        if self.mode not in LEARNING_MODES:
            raise LearningRuleError(f"{where}: mode = {self.mode!r}; choose one of {LEARNING_MODES}")
        if not isinstance(self.num_weight_bits, (int, np.integer)) or not 1 <= self.num_weight_bits <= 8:
            raise LearningRuleError(f"{where}: num_weight_bits = {self.num_weight_bits!r} must be in [1, 8]")
        if not isinstance(self.rng_seed, (int, np.integer)) or not 0 <= self.rng_seed < 2**31:
            raise LearningRuleError(f"{where}: rng_seed = {self.rng_seed!r} must be an int in [0, 2**31)")
        if self.decay_factors is not None:
            df = tuple(float(x) for x in self.decay_factors)
            if len(df) != 5 or not all(0 <= x <= 1 for x in df):
                raise LearningRuleError(f"{where}: decay_factors must be 5 floats in [0, 1], got {self.decay_factors}")
            object.__setattr__(self, "decay_factors", df)
        prods = self.products  # parse now: a bad rule fails where it is written
        if not prods:
            raise LearningRuleError(f"{where}: no products; give at least one of dw, dd, dt")
        ks = {p.decimate for p in prods if p.dependency == "u"}
        if len(ks) > 1:
            raise LearningRuleError(f"{where}: products use u<k> with different k {sorted(ks)}; one rule has "
                                    "one decimation exponent")

    @property
    def products(self) -> tuple[Product, ...]:
        """Every product of dw, dd and dt, in Lava's evaluation order."""
        return sum((parse_rule(getattr(self, t), t, self.name) for t in TARGETS), ())

    @property
    def decimate_exponent(self) -> int:
        ks = [p.decimate for p in self.products if p.dependency == "u"]
        return ks[0] if ks else -1

    @property
    def impulses(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, f"{tr}_impulse")) for tr in TRACES)

    @property
    def taus(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, f"{tr}_tau")) for tr in TRACES)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["decay_factors"] = list(self.decay_factors) if self.decay_factors is not None else None
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in d.items()}

    @staticmethod
    def from_dict(d: dict) -> LearningRule:
        d = dict(d)
        if d.get("decay_factors") is not None:
            d["decay_factors"] = tuple(d["decay_factors"])
        return LearningRule(**d)


def stdp(learning_rate: float = 1.0, A_plus: float = 1.0, A_minus: float = -1.0, tau_plus: float = 10.0,
         tau_minus: float = 10.0, x1_impulse: float = 16.0, y1_impulse: float = 16.0, **kw) -> LearningRule:
    """Pair-based STDP as Lava's ``STDPLoihi``: ``dw = lr*A- * x0*y1 + lr*A+ * y0*x1``.

    ``A_minus`` is negative for depression. Each coefficient becomes a literal as Lava's
    ``float_to_literal`` makes it (a power-of-two approximation). Other keywords go to
    :class:`LearningRule` (``t_epoch``, ``mode``, ``sign_mode``, ``rng_seed``...).
    """
    lit = float_to_literal
    dw = f"{lit(learning_rate)} * {lit(A_minus)} * x0 * y1 +{lit(learning_rate)} * {lit(A_plus)} * y0 * x1"
    return LearningRule(dw=dw, x1_impulse=x1_impulse, x1_tau=tau_plus, y1_impulse=y1_impulse, y1_tau=tau_minus,
                        **kw)


def rstdp(learning_rate: float = 1.0, A_plus: float = 1.0, A_minus: float = -1.0, pre_trace_decay_tau: float = 10.0,
          post_trace_decay_tau: float = 10.0, pre_trace_kernel_magnitude: float = 16.0,
          post_trace_kernel_magnitude: float = 16.0, eligibility_trace_decay_tau: float = 1.0,
          **kw) -> LearningRule:
    """Reward-modulated STDP as Lava's ``RewardModulatedSTDP`` (a three-factor rule).

    Tag 1 (``t``) is the eligibility trace: ``dt = lr*A- * x0*y1 + lr*A+ * y0*x1 - u0*t*e``
    and the weight follows ``dw = u0 * t * y2``, where ``y2`` is the reward. As in Lava,
    ``eligibility_trace_decay_tau`` is a *rate* ``e`` (t loses ``e*t`` per epoch), not a time
    constant. The post trace ``y1`` is the post neuron's spike trace.
    """
    lit = float_to_literal
    dt = (f"{lit(learning_rate)} * {lit(A_minus)} * x0 * y1 + {lit(learning_rate)} * {lit(A_plus)} * y0 * x1 "
          f"- u0 * t * {lit(eligibility_trace_decay_tau)}")
    return LearningRule(dw=" u0 * t * y2 ", dt=dt, x1_impulse=pre_trace_kernel_magnitude, x1_tau=pre_trace_decay_tau,
                        y1_impulse=post_trace_kernel_magnitude, y1_tau=post_trace_decay_tau, three_factor=True,
                        **kw)


def plastic_weights(weights, rule, reward: bool, src, dst, delay: int, where: str, kind: str):
    """The weight matrix of a plastic (every entry a synapse) or reward projection, and its kind."""
    import scipy.sparse as sp

    from neurocore.graph.nodes import Input, as_weight_matrix

    if reward:
        if rule is not None:
            raise LearningRuleError(f"{where}: a reward projection carries the third factor; it cannot learn itself")
        return as_weight_matrix(weights, dst.n, src.n, where), "reward"
    if not isinstance(rule, LearningRule):
        raise LearningRuleError(f"{where}: learning must be a nc.LearningRule, got {type(rule).__name__}")
    if sp.issparse(weights):
        weights = weights.toarray()
    w = np.asarray(weights)
    if w.shape != (dst.n, src.n):
        raise LearningRuleError(f"{where}: a plastic projection needs dense weights of shape ({dst.n}, {src.n}), "
                                f"got {w.shape}")
    as_weight_matrix(w, dst.n, src.n, where)  # value checks
    lo, hi = SIGN_MODES[rule.sign_mode]
    if w.size and (w.min() < lo or w.max() > hi):
        raise LearningRuleError(f"{where}: initial weights [{int(w.min())}, {int(w.max())}] lie outside the "
                                f"{rule.sign_mode} range [{lo}, {hi}] of learning rule {rule.name}")
    if delay < 1:
        raise LearningRuleError(f"{where}: a plastic projection has delay >= 1 (Lava's LearningDense delivers "
                                "in the next step)")
    if isinstance(src, Input) and src.graded:
        raise LearningRuleError(f"{where}: learning needs spikes from its source; input '{src.name}' is graded")
    rows, cols = np.indices(w.shape)
    full = sp.csr_matrix((w.ravel().astype(np.int64), (rows.ravel(), cols.ravel())), shape=w.shape)
    return full, "plastic"
