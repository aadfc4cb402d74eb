"""neurocore: a bit-exact neuromorphic chip simulator.

describe (Graph) -> compile (Program) -> run (RunResult) -> report (EnergyReport).
"""
from neurocore import chip, energy
from neurocore.graph import learning
from neurocore.graph.learning import LearningRule
from neurocore.graph.learning import rstdp as RSTDP
from neurocore.graph.learning import stdp as STDP
from neurocore import convert  # the package, callable as convert() (see neurocore/convert/__init__.py)
from neurocore.convert import ConversionReport
from neurocore.errors import (
                              BitWidthError,
                              StoreMismatchError,
                              StudyError,
                              BuildError,
                              ConversionError,
                              FileFormatError,
                              GraphError,
                              LearningRuleError,
                              MappingError,
                              NeurocoreError,
                              OutputError,
                              ProfileError,
                              ResourceError,
                              SimulationError,
                              StopRuleError,
)
from neurocore.graph import IF, AdaptiveLIF, CubaLIF, Graph, one_to_one
from neurocore.mapping import Program, compile
from neurocore.energy import estimate
from neurocore.sim import RunResult, Simulator
from neurocore.evaluate import accuracy_vs_timesteps
from neurocore.learning_sim import learned_graph
from neurocore.pruning import PruneReport, prune
from neurocore.anytime import StopRule
from neurocore.anytime_energy import accuracy_vs_energy

from neurocore._version import __version__

def __getattr__(name: str):
    # nc.dse is imported on first use, so `import neurocore` never imports dask or pymoo
    if name == "dse":
        import importlib

        return importlib.import_module("neurocore.dse")
    raise AttributeError(f"module 'neurocore' has no attribute {name!r}")

__all__ = ["chip", "energy", "convert", "accuracy_vs_timesteps", "ConversionReport", "Graph", "AdaptiveLIF", "CubaLIF", "IF", "one_to_one", "compile", "Program", "Simulator", "RunResult",
           "estimate", "learning", "LearningRule", "STDP", "RSTDP", "learned_graph", "prune", "PruneReport", "StopRule", "accuracy_vs_energy", "StopRuleError", "LearningRuleError", "NeurocoreError", "GraphError", "ConversionError", "MappingError", "BitWidthError", "FileFormatError",
           "ProfileError", "SimulationError", "ResourceError", "BuildError", "StudyError", "StoreMismatchError", "dse", "OutputError"]
