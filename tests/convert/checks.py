"""Shared checks for the converter tests."""
import numpy as np

import neurocore as nc
from neurocore.kernels import reference


def assert_chip_run_is_reference(graph, chip, X, n_steps):
    """Compiling and running a converted graph equals the NumPy reference on the integer graph, with no overflow."""
    program = nc.compile(graph, chip)
    res = nc.Simulator(program).run(X, n_steps=n_steps)
    ref = reference.simulate(graph, chip, graph.meta["codec"].encode(X, n_steps), n_steps)
    np.testing.assert_array_equal(res.final_state["v"], ref["v"][:, -1])
    for name, pm in program.populations.items():
        np.testing.assert_array_equal(res.spike_counts[name], ref["spikes"][:, :, pm.offset: pm.offset + pm.n].sum(1))
    assert res.counters["overflow_u"].sum() == 0 and res.counters["overflow_v"].sum() == 0
