"""NumPy twin of the kernel that reads a compiled Program's tables (not its Graph).

:func:`neurocore.kernels.reference.simulate` runs the Graph a Program came from; a
Program read from a file (or edited) has no Graph, so :func:`simulate_program` runs
the Program's own tables with the same integer arithmetic
(:func:`~neurocore.kernels.reference.neuron_step`): per source, its packets, per
packet its rows, per row its targets, weights (``wscaled``) and delay. Used by the
file fuzz test to check that any Program that passes validation runs in the kernel
exactly as written. The Program must be valid (:meth:`~neurocore.mapping.Program.validate`).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from neurocore.kernels.reference import count, neuron_step

__all__ = ["simulate_program"]


def _delay_matrices(program) -> dict[int, sp.csr_matrix]:
    """Per delay d, the (sources, N) matrix of summed ``wscaled`` from each source to each neuron."""
    a = program.arrays
    N = program.n_neurons
    S = a["src_pk_ptr"].shape[0] - 1
    pk_src = np.repeat(np.arange(S), np.diff(a["src_pk_ptr"]))
    row_of = a["pk_rows"].astype(np.int64)
    row_src = np.empty(row_of.shape[0], np.int64)
    row_src[row_of] = pk_src[np.repeat(np.arange(pk_src.shape[0]), np.diff(a["pk_row_ptr"]))]
    nnz = np.diff(a["row_ptr"])
    syn_row = np.repeat(np.arange(nnz.shape[0]), nnz)
    src, tgt = row_src[syn_row], a["target"].astype(np.int64)
    w, d = a["wscaled"].astype(np.int64), a["row_delay"].astype(np.int64)[syn_row]
    return {int(k): sp.csr_matrix((w[d == k], (src[d == k], tgt[d == k])), shape=(S, N))
            for k in np.unique(d)}


def simulate_program(program, inputs: NDArray, n_steps: int, record: bool = False) -> dict[str, NDArray]:
    """Run a valid ``program`` on integer ``inputs`` (batch, n_steps, channels).

    Returns ``spikes``, ``active`` (batch, n_steps, N) bool, ``u``, ``v`` (batch, N) int64
    after the last step, ``counters`` (as ``RunResult.counters``, overflow counts included)
    and the ``core_steps``, ``busiest_link`` and ``link_packets`` of
    :func:`~neurocore.kernels.reference.count`. With ``record``, also ``u_steps`` and
    ``v_steps`` (batch, n_steps, N) int64: the state at the end of every step (what probes
    record). This is the ``Simulator(program, backend="reference")`` model of execution.
    """
    a, chip = program.arrays, program.chip
    N, T = program.n_neurons, int(n_steps)
    x = np.asarray(inputs, np.int64)
    B = x.shape[0]
    p = {k: a[k].astype(np.int64) for k in ("du", "dv", "vth", "bias_mant", "bias_exp", "refractory", "reset")}
    mats = {d: m.astype(np.int64) for d, m in _delay_matrices(program).items()}  # sparse (sources, N)
    D = max(mats, default=0) + 1
    acc = np.zeros((D, B, N), np.int64)
    u = np.broadcast_to(a["u0"].astype(np.int64), (B, N)).copy()
    v = np.broadcast_to(a["v0"].astype(np.int64), (B, N)).copy()
    refr = np.zeros((B, N), np.int64)
    spikes = np.zeros((B, T, N), bool)
    active = np.zeros((B, T, N), bool)
    ovf_u, ovf_v = np.zeros(B, np.int64), np.zeros(B, np.int64)
    steps = {k: np.zeros((B, T, N), np.int64) for k in (("u", "v") if record else ())}
    from_inputs = {d: m[N:] for d, m in mats.items()}
    from_neurons = {d: m[:N] for d, m in mats.items() if d >= 1}
    for t in range(T):
        for d, m in from_inputs.items():
            acc[(t + d) % D] += np.asarray(x[:, t] @ m, np.int64)
        slot = t % D
        a_t = acc[slot].copy()
        acc[slot] = 0
        u, v, refr, s, act, ou, ov = neuron_step(u, v, refr, a_t, p, chip)
        ovf_u += ou.sum(1)
        ovf_v += ov.sum(1)
        spikes[:, t], active[:, t] = s, act
        if record:
            steps["u"][:, t], steps["v"][:, t] = u, v
        for d, m in from_neurons.items():
            acc[(t + d) % D] += np.asarray(s.astype(np.int64) @ m, np.int64)
    out = count(program, x, spikes, active)
    out["counters"].update(overflow_u=ovf_u, overflow_v=ovf_v)
    out.update(spikes=spikes, active=active, u=u, v=v)
    out.update({f"{k}_steps": a for k, a in steps.items()})
    return out
