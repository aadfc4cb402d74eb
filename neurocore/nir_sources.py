"""Source-tool conventions for NIR import: time step, reset, decay, nested subgraphs.

NIR carries no ``dt`` and cannot say *reset by subtraction* or *exponential (exact)
decay*; each exporter fills those gaps its own way. :func:`neurocore.nir.from_nir` reads
them from here:

* :func:`infer_dt` -- the step a file was written for, from the neurons' ``r``: an ``IF``
  with ``r`` means ``dt = 1/r`` (neurocore's and snnTorch's ``r = 1/dt``), a ``LIF`` or
  ``CubaLIF`` means ``dt = tau/r`` (snnTorch's ``r = tau/dt``); a file where every ``r`` is 1
  is a discrete-time tool's (sinabs, Norse's discrete export): ``dt = 1`` step.
* :data:`SOURCES` -- per tool, what NIR cannot carry, as the tool's documentation and
  source define it (the versions named are those tested in ``tests/peers``).
* :func:`flatten` -- nested ``NIRGraph`` nodes (snnTorch's ``RLeaky``/``RSynaptic``
  export) inlined as ``outer.inner`` nodes.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from neurocore.errors import ConversionError

__all__ = ["SOURCES", "SourceConvention", "flatten", "infer_dt"]


@dataclass(frozen=True)
class SourceConvention:
    """What a tool means by a NIR file, beyond what NIR says.

    Attributes
    ----------
    reset : {"zero", "subtract"}
        What happens to ``v`` after a spike (NIR writes ``v_reset`` only).
    decay : {"euler", "exp"}
        ``"euler"``: per step ``v += dt/tau*(...)`` (NIR's forward Euler). ``"exp"``: the
        tool multiplies ``v`` by ``exp(-dt/tau)`` and scales its input by
        ``1 - exp(-dt/tau)`` (sinabs ``LIF(norm_input=True)``).
    same_step_input : bool
        The input of step t reaches the first layer in step t (a discrete-time tool's
        layers run in one pass); neurocore then imports input edges with ``delay = 0``.
        Between populations a spike still takes neurocore's one step.
    spike_at_threshold : bool
        The tool spikes when ``v >= threshold`` (neurocore: ``v > vth``). For IF
        populations neurocore then starts ``v`` one unit up (``v0 = 1``, kept by a
        subtractive reset), which makes its ``>`` the tool's ``>=`` on the integer grid
        (1 unit = 2**-18 of the threshold); for leaky neurons the unit decays and ties
        may differ by a step.
    tau_times_dt : bool
        The tool writes ``tau = dt / tau_inv`` (Norse 1.1's exporter: ``dt * tau`` in
        seconds squared), so the time constant is ``tau / dt``.
    input_jump : bool
        A CubaLIF's synaptic current jumps by the input (``i += W x``; Norse) instead of
        NIR's ``i += dt/tau_syn * w_in * W x``; ``w_in`` is then ignored.
    default_dt : float or None
        The tool's default step, used when ``dt`` is not given (Norse: 1 ms; a warning says
        it was assumed). None: read ``dt`` from ``r`` (:func:`infer_dt`).
    """

    reset: str = "zero"
    decay: str = "euler"
    same_step_input: bool = False
    spike_at_threshold: bool = False
    tau_times_dt: bool = False
    input_jump: bool = False
    default_dt: float | None = None


#: Known tools. ``None`` (unknown source) resets to zero and warns that it guessed.
SOURCES: dict[str, SourceConvention] = {
    # sinabs 3.1: IAF/LIF default to MembraneSubtract; LIF's alpha = exp(-1/tau_mem), norm_input
    "sinabs": SourceConvention(reset="subtract", decay="exp", same_step_input=True, spike_at_threshold=True),
    # snnTorch 1.0: Leaky/Synaptic default reset_mechanism="subtract", beta = 1 - dt/tau
    "snntorch": SourceConvention(reset="subtract", decay="euler", same_step_input=True),
    # Norse 1.1: LIFCell/LIFBoxCell reset to v_reset (0), forward Euler at dt (default 1 ms),
    # exported with tau = dt / tau_inv and r = 1; LIFCell's current jumps by its input
    "norse": SourceConvention(reset="zero", decay="euler", same_step_input=True, tau_times_dt=True,
                              input_jump=True, default_dt=1e-3),
    # SpikingJelly 2.0: hard reset to v_reset (0; soft reset is refused by its exporter), spikes at
    # v >= threshold, exported at dt = 1e-4 (IF r = 1/dt, LIF tau = tau_steps*dt with r = 1)
    "spikingjelly": SourceConvention(reset="zero", decay="euler", same_step_input=True, spike_at_threshold=True,
                                     default_dt=1e-4),
    # neurocore's own files without metadata: reset to zero, one step per edge
    "neurocore": SourceConvention(reset="zero", decay="euler", same_step_input=False),
}


def convention(source: str | None) -> tuple[SourceConvention, bool]:
    """(the convention of ``source``, whether it was guessed)."""
    if source is None:
        return SOURCES["neurocore"], True
    key = str(source).lower()
    if key not in SOURCES:
        raise ConversionError(f"from_nir: unknown source tool {source!r}; choose one of {sorted(SOURCES)} "
                              "(or None to read NIR literally)")
    return SOURCES[key], False


def infer_dt(g) -> float | None:
    """The step (seconds, or 1 for a discrete-time file) the neurons' ``r`` were written for.

    Returns None when the graph has no neuron with an ``r`` to read. Warns, and returns the
    first candidate, when populations disagree.
    """
    cands: list[tuple[str, float]] = []
    for name, node in g.nodes.items():
        t = type(node).__name__
        if t not in ("IF", "LIF", "CubaLIF"):
            continue
        r = np.asarray(node.r, np.float64).reshape(-1)
        if not r.size or not np.all(np.isfinite(r)) or np.any(r <= 0):
            continue
        if np.all(r == 1.0):
            cands.append((name, 1.0))
            continue
        tau = np.asarray(node.tau if t == "LIF" else node.tau_mem, np.float64).reshape(-1) if t != "IF" else 1.0
        d = np.broadcast_to(np.asarray(tau) / r, r.shape)
        cands.append((name, float(np.median(d))))
    if not cands:
        return None
    dts = np.array([c[1] for c in cands])
    if np.any(np.abs(dts - dts[0]) > 1e-6 * abs(dts[0])):
        warnings.warn("from_nir: the neurons' r imply different steps "
                      + ", ".join(f"'{n}': {d:.4g}" for n, d in cands)
                      + f"; using {dts[0]:.4g} (pass dt= to choose)", stacklevel=4)
    return float(dts[0])


def _is(node, t: str) -> bool:
    return type(node).__name__ == t


def _inline(k: str, sub, nodes: dict, edges: list, entry: dict, exit_: dict) -> None:
    """Inline the flattened subgraph ``sub`` of node ``k``: its inner nodes and edges go to
    ``nodes``/``edges``; ``entry``/``exit_`` learn where edges into and out of ``k`` go."""
    ins = [i for i, m in sub.nodes.items() if _is(m, "Input")]
    outs = [o for o, m in sub.nodes.items() if _is(m, "Output")]
    if not ins or not outs:
        raise ConversionError(f"from_nir: nested graph '{k}' has no Input or no Output node")
    nodes.update({f"{k}.{i}": m for i, m in sub.nodes.items() if i not in ins and i not in outs})
    for a, b in sub.edges:
        if a in ins and b in outs:
            raise ConversionError(f"from_nir: nested graph '{k}' wires its input straight to its output")
        if a not in ins and b not in outs:
            edges.append((f"{k}.{a}", f"{k}.{b}"))
    for i in ins:
        entry[f"{k}.{i}"] = [f"{k}.{b}" for a, b in sub.edges if a == i]
    for o in outs:
        exit_[f"{k}.{o}"] = [f"{k}.{a}" for a, b in sub.edges if b == o]
    entry[k] = [t for i in ins for t in entry[f"{k}.{i}"]]
    exit_[k] = [t for o in outs for t in exit_[f"{k}.{o}"]]


def flatten(g, nir):
    """``g`` with every nested ``NIRGraph`` node inlined (names ``outer.inner``), recursively.

    An edge into a subgraph goes to the successors of its Input node(s) (``outer`` or
    ``outer.<input name>``); an edge out of one leaves from the predecessors of its Output.
    """
    if not any(isinstance(n, nir.NIRGraph) for n in g.nodes.values()):
        return g
    nodes: dict = {}
    edges: list = []
    entry: dict[str, list[str]] = {}   # name an outer edge may point to -> inner targets
    exit_: dict[str, list[str]] = {}
    for k, n in g.nodes.items():
        if isinstance(n, nir.NIRGraph):
            _inline(k, flatten(n, nir), nodes, edges, entry, exit_)
        else:
            nodes[k] = n
    edges += [(s, d) for a, b in g.edges for s in exit_.get(a, [a]) for d in entry.get(b, [b])]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=dict(getattr(g, "metadata", None) or {}),
                        type_check=False)
