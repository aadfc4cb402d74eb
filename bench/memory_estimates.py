"""Memory estimates against measured peaks: compile (per synapse) and run.

    python bench/memory_estimates.py

For a few random two-layer networks, compiles each under ``tracemalloc`` and prints the
peak next to :func:`neurocore.resources.check_compile`'s estimate (bytes per synapse and
their ratio). The estimate is meant as an upper bound, close enough not to refuse what fits.
"""
import dataclasses
import time
import tracemalloc

import numpy as np
import scipy.sparse as sp

import neurocore as nc
from neurocore.resources import check_compile, format_bytes

#: (inputs, neurons of layer a, neurons of layer b, fan-in per neuron)
CASES = ((1000, 5000, 5000, 100), (10000, 2000, 2000, 300), (300, 3000, 300, 300), (20000, 1000, 20000, 40))


def graph(n_in: int, n_a: int, n_b: int, fan: int, rng) -> nc.Graph:
    def rnd(nd, ns):
        rows, cols = np.repeat(np.arange(nd), fan), rng.integers(0, ns, nd * fan)
        return sp.csr_matrix((rng.integers(-2, 3, nd * fan) | 1, (rows, cols)), shape=(nd, ns))

    g = nc.Graph()
    x = g.input(n_in, name="x")
    a = g.population(n_a, nc.IF(vth=100), name="a")
    g.connect(x, a, rnd(n_a, n_in))
    g.connect(a, g.population(n_b, nc.IF(vth=100), name="b"), rnd(n_b, n_a))
    return g


def main() -> None:
    rng = np.random.default_rng(0)
    chip = dataclasses.replace(nc.chip.loihi(), chips_x=4, chips_y=2)
    print(f"{'synapses':>10} {'rows':>9} {'cores':>5} {'estimate':>10} {'peak':>10} {'est/syn':>8} "
          f"{'peak/syn':>8} {'ratio':>6} {'compile':>8}")
    for case in CASES:
        g = graph(*case, rng)
        est = check_compile(g, chip, float("inf")).total
        tracemalloc.start()
        t0 = time.perf_counter()
        prog = nc.compile(g, chip, placement="greedy", progress=False)
        wall = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        n = sum(p.n_synapses for p in g.projections.values())
        print(f"{n:>10,} {prog.arrays['row_ptr'].size - 1:>9,} {prog.n_cores_used:>5} {format_bytes(est):>10} "
              f"{format_bytes(peak):>10} {est / n:>8.0f} {peak / n:>8.0f} {est / peak:>6.2f} {wall:>7.1f}s")


if __name__ == "__main__":
    main()
