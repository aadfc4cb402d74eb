"""Memory estimates against measured peaks: compile (per synapse) and run.

    python bench/memory_estimates.py

For a few random two-layer networks, compiles each under ``tracemalloc`` and prints the
peak next to :func:`neurocore.resources.check_compile`'s estimate (bytes per synapse and
their ratio). The estimate is meant as an upper bound, close enough not to refuse what fits.
"""
import dataclasses
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import neurocore as nc  # noqa: E402
from neurocore.resources import check_compile, format_bytes  # noqa: E402
from tests.mapping.netgen import two_layer  # noqa: E402 - the graph tests/test_inputs.py checks too

#: (inputs, neurons of layer a, neurons of layer b, fan-in per neuron)
CASES = ((1000, 5000, 5000, 100), (10000, 2000, 2000, 300), (300, 3000, 300, 300), (20000, 1000, 20000, 40))


def main() -> None:
    rng = np.random.default_rng(0)
    chip = dataclasses.replace(nc.chip.loihi(), chips_x=4, chips_y=2)
    print(f"{'synapses':>10} {'rows':>9} {'cores':>5} {'estimate':>10} {'peak':>10} {'est/syn':>8} "
          f"{'peak/syn':>8} {'ratio':>6} {'compile':>8}")
    for case in CASES:
        g = two_layer(*case, rng)
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
