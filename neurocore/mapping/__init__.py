"""Compile: map a Graph onto a ChipSpec, producing a Program."""
from neurocore.mapping.compile import compile
from neurocore.mapping.program import InputMap, PopulationMap, Program

__all__ = ["InputMap", "PopulationMap", "Program", "compile"]
