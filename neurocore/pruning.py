"""Use it or lose it: remove synapses that carry little or nothing on calibration data.

``nc.prune(graph, calibration=X, rule=...)`` scores every synapse of the prunable
projections, removes the lowest-scoring ones and returns ``(pruned_graph, PruneReport)``.
The pruned graph is a new :class:`~neurocore.graph.Graph` whose projections hold only
the kept synapses (stored zeros do not exist in a CSR weight table), so the compiler
stores, routes and prices only those: synapse memory and, where it binds, cores shrink.

Scores (all in [0, 1], per destination neuron, so layers of any weight scale compare):

* ``"activity"``: ``|w| * a_src / sum_row(|w| * a_src)``, the synapse's share of its target
  neuron's accumulated absolute drive on the calibration set, where ``a_src`` is the
  source's spike count (or, for graded inputs, the sum of ``|value|``) over every sample
  and step. A synapse whose source never fires scores 0.
* ``"silent"``: 0 if the source never fires on the calibration set, else 1 (only
  never-used synapses can go).
* ``"magnitude"``: ``|w| / sum_row |w|`` (needs no calibration).
* ``"both"``: the magnitude score, 0 where the source never fires: never-used synapses
  go first, then the smallest weights.

A synapse is removed when its score is ``<= threshold``; or ``fraction=f`` removes the
``round(f * n)`` lowest-scoring of the ``n`` prunable synapses (ties broken by position,
so the result is deterministic); or ``max_accuracy_drop=d`` with ``validation=(X, y)``
bisects the number removed for the most that keeps validation accuracy within ``d`` of
the unpruned graph's.

This module runs the simulator, so it lives at the package top level (graph/ must not
import sim).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from neurocore.errors import NeurocoreError
from neurocore.graph.graph import Graph
from neurocore.graph.nodes import Input

__all__ = ["PRUNE_RULES", "LayerPrune", "PruneError", "PruneReport", "prune", "synapse_scores"]

#: Meta keys that describe a convolution's shared kernel; dropped when a conv is pruned
#: (its synapses no longer form one kernel, so it becomes a free-form sparse projection).
_CONV_KEYS = ("kernel_shape", "in_shape", "out_shape", "stride", "padding", "dilation", "groups", "pool")


class PruneError(NeurocoreError, ValueError):
    """A pruning request that cannot be carried out (bad rule, target or calibration data)."""


# ---- scores ------------------------------------------------------------------------------
def _row_share(w: sp.csr_matrix, vals: NDArray[np.float64]) -> NDArray[np.float64]:
    """``vals`` (one per stored entry of ``w``) divided by its row's sum (0 where the row sums to 0)."""
    rows = np.repeat(np.arange(w.shape[0]), np.diff(w.indptr))
    tot = np.bincount(rows, weights=vals, minlength=w.shape[0])
    den = tot[rows]
    return np.divide(vals, den, out=np.zeros_like(vals), where=den > 0)


def _activity_score(w, act):
    return _row_share(w, np.abs(w.data).astype(np.float64) * act[w.indices])


def _silent_score(w, act):
    return (act[w.indices] > 0).astype(np.float64)


def _magnitude_score(w, act):
    return _row_share(w, np.abs(w.data).astype(np.float64))


def _both_score(w, act):
    return _magnitude_score(w, act) * (act[w.indices] > 0)


#: Rule name -> score function (weights CSR, source activity per neuron) -> score per stored entry.
PRUNE_RULES = {"activity": _activity_score, "silent": _silent_score, "magnitude": _magnitude_score,
               "both": _both_score}
_NEEDS_CALIBRATION = {"activity", "silent", "both"}


# ---- report ------------------------------------------------------------------------------
@dataclass
class LayerPrune:
    """One projection before and after pruning (cores: those holding its target's neurons)."""

    name: str
    src: str
    dst: str
    kind: str
    synapses_before: int
    synapses_after: int
    cores_before: int | None = None
    cores_after: int | None = None

    @property
    def removed_fraction(self) -> float:
        return 1.0 - self.synapses_after / self.synapses_before if self.synapses_before else 0.0


@dataclass
class PruneReport:
    """What :func:`prune` removed.

    Attributes
    ----------
    rule : str
    threshold : float
        Largest score removed (scores are shares of a neuron's drive, in [0, 1]); -1 if none.
    layers : list of LayerPrune
        Every projection of the graph (unpruned ones unchanged).
    cores_before, cores_after : int or None
        Cores the whole graph uses on ``chip`` (None when no chip was given).
    accuracy_before, accuracy_after : float or None
        Validation accuracy (fraction) when ``validation`` was given.
    """

    rule: str
    threshold: float
    layers: list[LayerPrune]
    cores_before: int | None = None
    cores_after: int | None = None
    accuracy_before: float | None = None
    accuracy_after: float | None = None
    n_steps: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def synapses_before(self) -> int:
        return sum(lp.synapses_before for lp in self.layers)

    @property
    def synapses_after(self) -> int:
        return sum(lp.synapses_after for lp in self.layers)

    @property
    def removed_fraction(self) -> float:
        """Fraction of the graph's stored (non-zero) synapses removed."""
        b = self.synapses_before
        return 1.0 - self.synapses_after / b if b else 0.0

    def summary(self) -> str:
        def c(v):
            return "-" if v is None else str(v)

        lines = [f"Pruning ({self.rule}, threshold {self.threshold:.4g}): {self.synapses_before} -> "
                 f"{self.synapses_after} synapses ({100 * self.removed_fraction:.1f} % removed), "
                 f"cores {c(self.cores_before)} -> {c(self.cores_after)}"]
        if self.accuracy_before is not None:
            lines.append(f"  validation accuracy {100 * self.accuracy_before:.2f} % -> "
                         f"{100 * self.accuracy_after:.2f} % (T = {self.n_steps})")
        lines.append(f"  {'projection':<24} {'synapses before':>15} {'after':>9} {'removed':>8} {'cores':>9}")
        for lp in self.layers:
            lines.append(f"  {lp.name:<24} {lp.synapses_before:>15} {lp.synapses_after:>9} "
                         f"{100 * lp.removed_fraction:>7.1f}% {c(lp.cores_before):>4}->{c(lp.cores_after):<4}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = summary


# ---- checks ------------------------------------------------------------------------------
def _check_args(rule, fraction, threshold, max_accuracy_drop, validation) -> None:
    if not isinstance(rule, str) or rule not in PRUNE_RULES:
        raise PruneError(f"prune: unknown rule {rule!r}; choose one of {sorted(PRUNE_RULES)}")
    given = [k for k, v in (("fraction", fraction), ("threshold", threshold),
                            ("max_accuracy_drop", max_accuracy_drop)) if v is not None]
    if len(given) > 1:
        raise PruneError(f"prune: give one target, got {given}")
    for k, v in (("fraction", fraction), ("threshold", threshold), ("max_accuracy_drop", max_accuracy_drop)):
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not np.isfinite(v):
            raise PruneError(f"prune: {k} must be a finite number in [0, 1), got {v!r}")
        if not 0 <= v < 1:
            raise PruneError(f"prune: {k}={v} is outside [0, 1); it is a fraction "
                             f"({'of synapses' if k == 'fraction' else 'of accuracy' if k != 'threshold' else 'of drive'})")
    if max_accuracy_drop is not None and validation is None:
        raise PruneError("prune: max_accuracy_drop needs validation=(X, y) to measure accuracy on")


def _check_samples(graph: Graph, x, n_steps: int, what: str):
    """Calibration/validation samples as Simulator.run takes them: floats through the codec, or ints."""
    codec = graph.meta.get("codec")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise PruneError(f"prune: {what} must be a numeric array, got dtype {arr.dtype}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise PruneError(f"prune: {what} has {arr[bad]} at index {bad}; remove or impute those samples")
    if codec is not None:
        shape = tuple(codec.input_shape)
        if arr.ndim < 2 or arr.shape[0] < 1 or int(np.prod(arr.shape[1:])) != int(np.prod(shape)):
            raise PruneError(f"prune: {what} has shape {arr.shape}; this converted graph takes samples of shape "
                             f"(batch, {', '.join(map(str, shape))})")
        return arr
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[2] != graph.n_inputs or arr.shape[1] != n_steps:
        raise PruneError(f"prune: {what} has shape {arr.shape}; a graph without a codec takes (batch, n_steps, "
                         f"channels) = (batch, {n_steps}, {graph.n_inputs}) integer inputs")
    if arr.dtype.kind == "f" and (arr != np.round(arr)).any():
        raise PruneError(f"prune: {what} must hold integer spikes/graded values for a graph without a codec")
    return arr.astype(np.int32)


# ---- running -----------------------------------------------------------------------------
def _run(graph: Graph, x, n_steps: int, chip, seed: int):
    from neurocore.mapping import compile
    from neurocore.sim import Simulator

    program = compile(graph, chip, placement="in_order")  # placement never changes results
    return Simulator(program).run(x, n_steps=n_steps, seed=seed)


def _activity(graph: Graph, x, n_steps: int, chip, seed: int) -> dict[str, NDArray[np.float64]]:
    """Per node: spikes (or |graded value| summed) over every calibration sample and step."""
    codec = graph.meta.get("codec")
    enc = codec.encode(x, n_steps, seed=seed) if codec is not None else x
    act, col = {}, 0
    for node in graph.inputs:  # channels are the inputs in the order added
        act[node.name] = np.abs(enc[:, :, col: col + node.n]).sum(axis=(0, 1)).astype(np.float64)
        col += node.n
    result = _run(graph, x, n_steps, chip, seed)
    for name, counts in result.spike_counts.items():
        act[name] = counts.sum(axis=0).astype(np.float64)
    return act


def _accuracy(graph: Graph, validation, n_steps: int, chip, seed: int) -> float:
    xv, yv = validation
    return _run(graph, xv, n_steps, chip, seed).accuracy(yv)


def _prunable(graph: Graph, layers) -> list[str]:
    plastic = [n for n, p in graph.projections.items() if p.learning is not None]
    if layers is None:
        return [n for n, p in graph.projections.items()
                if p.learning is None and not p.meta.get("reward") and p.kind != "conv2d"]
    names = [layers] if isinstance(layers, str) else list(layers)
    for n in names:
        if n not in graph.projections:
            raise PruneError(f"prune: no projection named {n!r}; projections are {list(graph.projections)}")
        if n in plastic:
            raise PruneError(f"prune: projection {n!r} is plastic (every entry is a learning synapse); "
                             f"it cannot be pruned")
    return names


def _rebuild(graph: Graph, keep: dict[str, NDArray[np.bool_]]) -> Graph:
    """A new graph with the same nodes and the kept entries of each pruned projection."""
    g = Graph()
    g.nodes = dict(graph.nodes)  # nodes are immutable; sharing them is safe
    g.meta = dict(graph.meta)
    for name, proj in graph.projections.items():
        if name not in keep or keep[name].all():
            g.projections[name] = proj
            continue
        w = proj.weights.tocoo()
        m = keep[name]
        nw = sp.csr_matrix((w.data[m], (w.row[m], w.col[m])), shape=w.shape, dtype=np.int64)
        nw.sort_indices()
        kind, meta = proj.kind, dict(proj.meta)
        if kind == "conv2d":  # no longer one shared kernel: a free-form sparse projection
            kind = "sparse"
            for k in _CONV_KEYS:
                meta.pop(k, None)
        g.projections[name] = dataclasses.replace(proj, weights=nw, kind=kind, meta=meta,
                                                  conv=proj.conv if kind == "conv2d" else None)
    return g


def synapse_scores(graph: Graph, rule: str, activity: dict | None, names: list[str]) -> dict[str, NDArray]:
    """Score of every stored synapse (CSR entry order) of the projections ``names`` under ``rule``."""
    out = {}
    for n in names:
        p = graph.projections[n]
        act = activity[p.src] if activity is not None else np.ones(graph.nodes[p.src].n)
        out[n] = PRUNE_RULES[rule](p.weights.tocsr(), act)
    return out


def _keep_lowest_k(scores: dict[str, NDArray], k: int) -> tuple[dict[str, NDArray], float]:
    """Remove the ``k`` lowest scores overall (ties by projection then entry order)."""
    names = list(scores)
    flat = np.concatenate([scores[n] for n in names]) if names else np.zeros(0)
    order = np.argsort(flat, kind="stable")
    keep_flat = np.ones(flat.size, bool)
    keep_flat[order[:k]] = False
    thr = float(flat[order[k - 1]]) if k > 0 else -1.0
    out, i = {}, 0
    for n in names:
        out[n] = keep_flat[i: i + scores[n].size]
        i += scores[n].size
    return out, thr


def _cores(graph: Graph, chip) -> tuple[int, dict[str, int]]:
    from neurocore.mapping import compile

    prog = compile(graph, chip, placement="in_order")
    nc = prog.arrays["neuron_core"]
    per = {name: int(np.unique(nc[pm.offset: pm.offset + pm.n]).size) for name, pm in prog.populations.items()}
    return prog.n_cores_used, per


# ---- the transform -----------------------------------------------------------------------
def prune(graph: Graph, calibration=None, rule: str = "activity", *, fraction: float | None = None,
          threshold: float | None = None, validation=None, max_accuracy_drop: float | None = None,
          n_steps: int = 32, chip=None, layers=None, seed: int = 0, max_iter: int = 10) -> tuple[Graph, PruneReport]:
    """Remove low-use synapses from ``graph``; returns ``(pruned_graph, PruneReport)``.

    Parameters
    ----------
    graph : Graph
        Hand-built or from :func:`neurocore.convert` (then samples go through its codec).
    calibration : array, optional
        Samples whose activity scores the synapses: the ANN's float samples (batch,
        features...) for a converted graph, else (batch, n_steps, channels) integer inputs.
        Needed by every rule but ``"magnitude"``.
    rule : {"activity", "silent", "magnitude", "both"}
        See the module docstring. On the wide digits MLP of ``examples/prune_digits.py``
        the magnitude share keeps accuracy far better than the activity share.
    fraction : float in [0, 1), optional
        Remove this fraction of the prunable synapses (lowest scores first).
    threshold : float in [0, 1), optional
        Remove synapses whose score is ``<= threshold``. Default (no target given): 0,
        which removes only synapses that carry nothing (source silent on calibration).
    validation : (X, y), optional
        Labelled samples; with ``max_accuracy_drop`` the search measures accuracy on them,
        and the report gives accuracy before and after.
    max_accuracy_drop : float in [0, 1), optional
        Accuracy budget (a fraction: 0.005 = 0.5 points): bisects the number removed.
    n_steps : int
        Timesteps of the calibration and validation runs.
    chip : ChipSpec, optional
        Chip the runs compile for (default :func:`neurocore.chip.loihi`); when given, the
        report also counts cores before and after (per layer: cores holding its target).
    layers : str or list of str, optional
        Projections to prune (default: every fixed, non-conv projection).
    seed : int
        Seed of stochastic input encodings.
    max_iter : int
        Bisection steps of the accuracy-budget search.

    Raises
    ------
    PruneError
        Unknown rule, target outside [0, 1), calibration or validation of the wrong shape
        or holding NaN, an unknown or plastic projection in ``layers``.
    """
    if not isinstance(graph, Graph):
        raise PruneError(f"prune: expected a neurocore Graph, got {type(graph).__name__}")
    _check_args(rule, fraction, threshold, max_accuracy_drop, validation)
    names = _prunable(graph, layers)
    activity = None
    if rule in _NEEDS_CALIBRATION:
        if calibration is None:
            raise PruneError(f"prune: rule {rule!r} needs calibration= samples (only 'magnitude' does not)")
        x = _check_samples(graph, calibration, n_steps, "calibration")
        activity = _activity(graph, x, n_steps, chip, seed)
    if validation is not None:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise PruneError("prune: validation must be a pair (X, y)")
        validation = (_check_samples(graph, validation[0], n_steps, "validation X"), np.asarray(validation[1]))
    scores = synapse_scores(graph, rule, activity, names)
    keep, thr, acc0, acc1 = _choose(graph, scores, fraction, threshold, validation, max_accuracy_drop,
                                    n_steps, chip, seed, max_iter)
    pruned = _rebuild(graph, keep)
    report = _report(graph, pruned, rule, thr, chip, n_steps if validation is not None else None)
    if validation is not None:
        report.accuracy_before = acc0 if acc0 is not None else _accuracy(graph, validation, n_steps, chip, seed)
        report.accuracy_after = acc1 if acc1 is not None else _accuracy(pruned, validation, n_steps, chip, seed)
    skipped = [n for n in graph.projections if n not in names]
    if skipped:
        report.notes.append(f"not pruned (plastic, reward or conv2d; name them in layers= to prune convs): {skipped}")
    return pruned, report


def _choose(graph, scores, fraction, threshold, validation, budget, n_steps, chip, seed, max_iter):
    """The keep masks, the threshold removed and (for the budget search) accuracies before/after."""
    n = sum(s.size for s in scores.values())
    if fraction is not None:
        keep, thr = _keep_lowest_k(scores, int(round(fraction * n)))
        return keep, thr, None, None
    if budget is None:
        t = 0.0 if threshold is None else float(threshold)
        keep = {k: s > t for k, s in scores.items()}
        removed = [s[s <= t] for s in scores.values()]
        thr = max((float(r.max()) for r in removed if r.size), default=-1.0)
        return keep, thr, None, None
    acc0 = _accuracy(graph, validation, n_steps, chip, seed)
    lo, hi, best = 0, n, (_keep_lowest_k(scores, 0), acc0)
    for _ in range(max_iter):  # largest k whose accuracy stays within the budget (assumes monotone)
        if hi - lo <= max(1, n // 1000):
            break
        mid = (lo + hi + 1) // 2
        cand = _keep_lowest_k(scores, mid)
        acc = _accuracy(_rebuild(graph, cand[0]), validation, n_steps, chip, seed)
        if acc0 - acc <= budget + 1e-12:
            lo, best = mid, (cand, acc)
        else:
            hi = mid - 1
    (keep, thr), acc1 = best
    return keep, thr, acc0, acc1


def _report(graph: Graph, pruned: Graph, rule: str, thr: float, chip, n_steps) -> PruneReport:
    layers = [LayerPrune(n, p.src, p.dst, p.kind, p.n_synapses, pruned.projections[n].n_synapses)
              for n, p in graph.projections.items()]
    report = PruneReport(rule=rule, threshold=thr, layers=layers, n_steps=n_steps)
    if chip is not None:
        report.cores_before, per0 = _cores(graph, chip)
        report.cores_after, per1 = _cores(pruned, chip)
        for lp in layers:
            lp.cores_before, lp.cores_after = per0.get(lp.dst), per1.get(lp.dst)
    return report
