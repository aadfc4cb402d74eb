"""Exceptions raised by neurocore.

Every error says what failed, where (node, layer, core or parameter) and what to
do about it. Each subclasses ``ValueError`` (or ``RuntimeError`` for the build)
so that generic handlers still catch them.
"""
from __future__ import annotations

__all__ = [
    "NeurocoreError",
    "GraphError",
    "ConversionError",
    "MappingError",
    "AxonTypeError",
    "SingleTargetError",
    "BitWidthError",
    "FileFormatError",
    "ProfileError",
    "SimulationError",
    "ResourceError",
    "BuildError",
    "LearningRuleError",
    "StudyError",
    "StoreMismatchError",
    "OutputError",
    "StopRuleError",
]


class NeurocoreError(Exception):
    """Base class of every neurocore error."""


class GraphError(NeurocoreError, ValueError):
    """A graph is malformed: wrong shape, unknown node, zero-delay loop, ..."""


class ConversionError(NeurocoreError, ValueError):
    """An ANN cannot be converted: unsupported layer, NaN weights, ..."""


class MappingError(NeurocoreError, ValueError):
    """A graph does not fit the chip: names the layer, the limit, the need and the budget."""


class AxonTypeError(MappingError):
    """A neuron needs more distinct weights on its core than the chip's axon types serve."""


class SingleTargetError(MappingError):
    """A neuron still reaches more than one axon on a single-target chip after splitting."""


class BitWidthError(NeurocoreError, ValueError):
    """A parameter or weight lies outside the range its bit width allows."""


class FileFormatError(NeurocoreError, ValueError):
    """A saved file is truncated, corrupt or of an unsupported version."""


class ProfileError(NeurocoreError, ValueError):
    """An energy profile is missing a number, or is malformed."""


class SimulationError(NeurocoreError, ValueError):
    """Bad arguments to a simulation run: input shape, step count, probes."""


class ResourceError(NeurocoreError, MemoryError):
    """A compile or run would need more memory than allowed: names the size and how to reduce it."""


class BuildError(NeurocoreError, RuntimeError):
    """The compiled kernels are missing: the package was not built."""


class LearningRuleError(GraphError):
    """A learning rule is malformed: unknown symbol, too many factors, a tau or impulse out of range."""


class StudyError(NeurocoreError, ValueError):
    """A design-space study is malformed: unknown field or metric, empty dimension, bad store."""


class StoreMismatchError(StudyError):
    """A study store holds points of another model or data set than the one given."""


class OutputError(NeurocoreError, OSError):
    """An output file cannot be written: its directory is missing, a directory is in the way,
    or the disk is full. The previous file at that path, if any, is left as it was."""


class StopRuleError(SimulationError):
    """An early-stop rule is malformed or does not fit the Program: bad margin or min_steps,
    unknown rule or read-out population."""
