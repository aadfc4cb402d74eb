"""Describe: the SNN as a graph of inputs, populations and projections."""
from neurocore.graph.graph import Graph
from neurocore.graph.neurons import IF, NEURON_TYPES, AdaptiveLIF, CubaLIF, NeuronModel
from neurocore.graph.nodes import Input, Node, Population, Projection, one_to_one

__all__ = ["Graph", "AdaptiveLIF", "CubaLIF", "IF", "NeuronModel", "NEURON_TYPES", "Input", "Node", "Population",
           "Projection", "one_to_one"]
