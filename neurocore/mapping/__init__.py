"""Compile: map a Graph onto a ChipSpec, producing a Program."""
from neurocore._compat import alias_module
from neurocore.mapping._compile import compile
from neurocore.mapping.program import InputMap, LayerStats, MappingInfo, PopulationMap, Program

alias_module("neurocore.mapping.compile", "neurocore.mapping._compile", "neurocore.mapping")

__all__ = ["InputMap", "LayerStats", "MappingInfo", "PopulationMap", "Program", "compile"]
