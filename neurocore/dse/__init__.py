"""Design-space exploration: sweeps and multi-objective search over chip and network choices.

It sits above the pipeline and only calls convert -> compile -> run -> report::

    space = nc.dse.Space(chip=nc.chip.loihi(), chip_fields={"weight_bits": [4, 8]},
                         convert={"percentile": [99.0, 99.9]}, n_steps=[8, 16])
    study = nc.dse.sweep(model, space, data=(X_cal, X_test, y_test), store="runs/bits.sqlite")
    study.table(); study.pareto(["accuracy", "energy_per_inference_J"]).plot("front.png")
    nc.dse.search(model, space, objectives=["-accuracy", "energy_per_inference_J"],
                  data=(X_cal, X_test, y_test), budget=500, store="runs/nsga.sqlite")

Work runs on ``dask.distributed`` (an embedded LocalCluster by default, or any scheduler
address) when the ``dse`` extra is installed, else in this process; results go to a
SQLite store, one committed row per finished point.
"""
from neurocore.dse.metrics import METRICS, Metric, objective
from neurocore.dse.pareto import ParetoFront, pareto_mask
from neurocore.dse.search import search
from neurocore.dse.space import STOCHASTIC_ENCODINGS, Space
from neurocore.dse.store import Store
from neurocore.dse.study import Study, sweep

__all__ = ["METRICS", "Metric", "ParetoFront", "STOCHASTIC_ENCODINGS", "Space", "Store", "Study", "objective",
           "pareto_mask", "search", "sweep"]
