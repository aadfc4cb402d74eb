"""neurocore: a bit-exact neuromorphic chip simulator.

describe (Graph) -> compile (Program) -> run (RunResult) -> report (EnergyReport).
"""
from neurocore import chip, energy
from neurocore.graph import learning
from neurocore.graph.learning import LearningRule
from neurocore.graph.learning import rstdp as RSTDP
from neurocore.graph.learning import stdp as STDP
from neurocore.convert import ConversionReport, accuracy_vs_timesteps, convert
from neurocore.errors import (
                              BitWidthError,
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
from neurocore.sim import RunResult, Simulator
from neurocore.learning_sim import learned_graph
from neurocore.pruning import PruneReport, prune
from neurocore.anytime import StopRule, accuracy_vs_energy

__version__ = "0.1.0"

__all__ = ["chip", "energy", "convert", "accuracy_vs_timesteps", "ConversionReport", "Graph", "CubaLIF", "IF", "one_to_one", "compile", "Program", "Simulator", "RunResult",
           "NeurocoreError", "GraphError", "ConversionError", "MappingError", "BitWidthError", "FileFormatError",
           "ProfileError", "SimulationError", "ResourceError", "BuildError"]

def __getattr__(name: str):
    # nc.dse is imported on first use, so `import neurocore` never imports dask or pymoo
    if name == "dse":
        import importlib

        return importlib.import_module("neurocore.dse")
    raise AttributeError(f"module 'neurocore' has no attribute {name!r}")

__all__ = ["chip", "energy", "convert", "accuracy_vs_timesteps", "ConversionReport", "Graph", "AdaptiveLIF", "CubaLIF", "IF", "one_to_one", "compile", "Program", "Simulator", "RunResult",
           "learning", "LearningRule", "STDP", "RSTDP", "learned_graph", "prune", "PruneReport", "StopRule", "accuracy_vs_energy", "StopRuleError", "LearningRuleError", "NeurocoreError", "GraphError", "ConversionError", "MappingError", "BitWidthError", "FileFormatError",
           "ProfileError", "SimulationError", "BuildError", "StudyError", "StoreMismatchError", "dse", "OutputError"]
