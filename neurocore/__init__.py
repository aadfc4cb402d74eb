"""neurocore: a bit-exact neuromorphic chip simulator.

describe (Graph) -> compile (Program) -> run (RunResult) -> report (EnergyReport).
"""
from neurocore import chip, energy
from neurocore.convert import ConversionReport, accuracy_vs_timesteps, convert
from neurocore.errors import (
                              BitWidthError,
                              BuildError,
                              ConversionError,
                              FileFormatError,
                              GraphError,
                              MappingError,
                              NeurocoreError,
                              ProfileError,
                              ResourceError,
                              SimulationError,
)
from neurocore.graph import IF, CubaLIF, Graph, one_to_one
from neurocore.mapping import Program, compile
from neurocore.sim import RunResult, Simulator

__version__ = "0.1.0"

__all__ = ["chip", "energy", "convert", "accuracy_vs_timesteps", "ConversionReport", "Graph", "CubaLIF", "IF", "one_to_one", "compile", "Program", "Simulator", "RunResult",
           "NeurocoreError", "GraphError", "ConversionError", "MappingError", "BitWidthError", "FileFormatError",
           "ProfileError", "SimulationError", "ResourceError", "BuildError"]
