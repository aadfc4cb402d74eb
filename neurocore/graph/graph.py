"""Graph: the SNN as inputs, populations and projections between them."""
from __future__ import annotations

import dataclasses

import numpy as np

from neurocore.errors import GraphError
from neurocore.graph.neurons import NeuronModel
from neurocore.graph.nodes import ConvSpec, Input, Node, Population, Projection, as_weight_matrix

__all__ = ["Graph"]


class Graph:
    """A spiking network, described but not yet mapped to a chip.

    >>> g = Graph()
    >>> x = g.input(100)
    >>> p = g.population(400, CubaLIF(du=410, dv=205, vth=80), name="exc")
    >>> g.connect(x, p, weights=W)                  # (400, 100) dense or scipy.sparse
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.projections: dict[str, Projection] = {}
        #: Free-form data carried into the Program (e.g. ``"codec"``: how a converted
        #: network encodes float samples and decodes predictions; see Simulator.run).
        self.meta: dict = {}

    # ---- building ----------------------------------------------------------
    def _name(self, name: str | None, prefix: str) -> str:
        if name is None:
            i = len(self.nodes) + len(self.projections)
            name = f"{prefix}{i}"
            while name in self.nodes or name in self.projections:
                i += 1
                name = f"{prefix}{i}"
        if not isinstance(name, str) or not name:
            raise GraphError(f"node names must be non-empty strings, got {name!r}")
        if name in self.nodes or name in self.projections:
            raise GraphError(f"name '{name}' is already used in this graph; pick another")
        return name

    def input(self, n: int, name: str | None = None, graded: bool = False,
              shape: tuple[int, ...] | None = None) -> Input:
        """Add ``n`` external input channels (spikes, or graded integers if ``graded``)."""
        node = Input(self._name(name, "input"), n, graded=bool(graded), shape=shape)
        self.nodes[node.name] = node
        return node

    def population(self, n: int, neuron: NeuronModel, name: str | None = None,
                   shape: tuple[int, ...] | None = None) -> Population:
        """Add ``n`` neurons of one model."""
        node = Population(self._name(name, "pop"), n, neuron=neuron, shape=shape)
        self.nodes[node.name] = node
        return node

    def connect(self, src: Node | str, dst: Population | str, weights, weight_exp: int = 0, delay: int = 1,
                name: str | None = None, kind: str = "sparse", meta: dict | None = None, learning=None,
                reward: bool = False, conv: ConvSpec | None = None) -> Projection:
        """Connect ``src`` to ``dst`` with integer weight mantissas.

        Parameters
        ----------
        weights : (n_dst, n_src) array or scipy.sparse matrix of ints
            Use :func:`neurocore.one_to_one` for one-to-one connections.
        weight_exp : int
            Per-table exponent: a synapse adds ``(w * x) << (act_shift + weight_exp)`` to ``u``.
        delay : int
            1 (the default) delivers a spike in the step after it was emitted; up to the chip's
            ``max_delay``. 0 is allowed only from an input (the value reaches ``dst`` in the same step).
        learning : LearningRule, optional
            Makes the projection plastic (see :mod:`neurocore.graph.learning`): ``weights`` must be
            a dense (n_dst, n_src) array; every entry is a learning synapse, zeros included.
        reward : bool
            The projection carries a third factor (reward) to ``dst`` instead of input current:
            what it delivers becomes the post trace ``y2`` of three-factor rules on ``dst``.
        conv : ConvSpec, optional
            The convolution a ``kind="conv2d"`` projection expands; default: read from ``meta``
            (``kernel_shape``, ``out_shape``, ``in_shape``, ``stride``...), as files saved before
            ConvSpec existed hold it.
        """
        s, d = self[src], self[dst]
        pname = self._name(name, f"{s.name}->{d.name}#")
        where = f"projection '{pname}' ({s.name} -> {d.name})"
        if not isinstance(d, Population):
            raise GraphError(f"{where}: the target must be a population, '{d.name}' is an {type(d).__name__}")
        for k, val in (("weight_exp", weight_exp), ("delay", delay)):
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool):
                raise GraphError(f"{where}: {k} must be an int, got {val!r}")
        if delay < 0:
            raise GraphError(f"{where}: delay must be >= 0, got {delay}")
        if delay == 0 and not isinstance(s, Input):
            raise GraphError(f"{where}: delay 0 is only allowed from an input; a spike from population "
                             f"'{s.name}' takes at least one step (use delay=1)")
        if learning is not None or reward:
            from neurocore.graph.learning import plastic_weights

            w, kind = plastic_weights(weights, learning, reward, s, d, delay, where, kind)
        else:
            w = as_weight_matrix(weights, d.n, s.n, where)
        meta = dict(meta or {})
        if conv is None and kind == "conv2d":
            conv = ConvSpec.from_meta(meta)
        proj = Projection(pname, s.name, d.name, w, int(weight_exp), int(delay), kind, meta, learning=learning,
                          conv=conv)
        self.projections[pname] = proj
        return proj

    # ---- layers (each = one population + one projection) -----------------------
    def _layer_src_shape(self, src: Node, where: str) -> tuple[int, ...]:
        shape = getattr(src, "shape", None)
        if shape is None:
            raise GraphError(f"{where}: source '{src.name}' has no (C, H, W) shape; give shape= when adding it")
        return tuple(int(i) for i in shape)

    def dense(self, src: Node | str, weight, neuron: NeuronModel, weight_exp: int = 0, delay: int = 1,
              name: str | None = None) -> Population:
        """A fully connected layer: ``weight`` is (n_out, n_in) integer mantissas."""
        s = self[src]
        w = np.asarray(weight)
        if w.ndim != 2:
            raise GraphError(f"dense layer '{name or '?'}': weight must be 2-D (n_out, n_in), got shape {w.shape}")
        pop = self.population(w.shape[0], neuron, name=name)
        self.connect(s, pop, w, weight_exp=weight_exp, delay=delay, name=f"{pop.name}.weight", kind="dense",
                     meta={"dense_macs": int(w.shape[0] * w.shape[1])})
        return pop

    def conv2d(self, src: Node | str, kernel, neuron: NeuronModel, stride=1, padding=0, dilation=1, groups: int = 1,
               weight_exp: int = 0, delay: int = 1, name: str | None = None) -> Population:
        """A 2-D convolution over a (C, H, W) source; ``kernel`` is (C_out, C_in/groups, kh, kw) mantissas."""
        from neurocore.graph.layers import conv2d_matrix

        s = self[src]
        where = f"conv2d layer '{name or '?'}' (from '{s.name}')"
        in_shape = self._layer_src_shape(s, where)
        kernel = np.asarray(kernel)
        m, out_shape = conv2d_matrix(kernel, in_shape, stride, padding, dilation, groups, where)
        pop = self.population(int(np.prod(out_shape)), neuron, name=name, shape=out_shape)
        macs = int(np.prod(out_shape)) * int(np.prod(kernel.shape[1:]))
        self.connect(s, pop, m, weight_exp=weight_exp, delay=delay, name=f"{pop.name}.weight", kind="conv2d",
                     meta={"dense_macs": macs, "kernel_shape": tuple(int(i) for i in kernel.shape),
                           "in_shape": in_shape, "out_shape": out_shape, "stride": stride, "padding": padding,
                           "dilation": dilation, "groups": groups})
        return pop

    def sumpool2d(self, src: Node | str, kernel_size, neuron: NeuronModel, stride=None, weight: int = 1,
                  weight_exp: int = 0, delay: int = 1, name: str | None = None) -> Population:
        """Sum pooling (average pooling with the 1/k² folded into the threshold): a depthwise all-``weight`` conv."""
        from neurocore.graph.layers import sumpool2d_kernel

        s = self[src]
        in_shape = self._layer_src_shape(s, f"sumpool2d layer '{name or '?'}'")
        kernel = sumpool2d_kernel(in_shape[0], kernel_size) * int(weight)
        pop = self.conv2d(s, kernel, neuron, stride=kernel_size if stride is None else stride, groups=in_shape[0],
                          weight_exp=weight_exp, delay=delay, name=name)
        proj = self.projections[f"{pop.name}.weight"]
        proj.meta["pool"] = True
        self.projections[proj.name] = dataclasses.replace(proj, conv=dataclasses.replace(proj.conv, pool=True))
        return pop

    # ---- queries -----------------------------------------------------------
    def __getitem__(self, key: Node | str) -> Node:
        name = key.name if isinstance(key, Node) else key
        if not isinstance(name, str) or name not in self.nodes:
            raise GraphError(f"no node named {name!r} in this graph; nodes are {list(self.nodes)}")
        node = self.nodes[name]
        if isinstance(key, Node) and node is not key:
            raise GraphError(f"node '{name}' belongs to another graph")
        return node

    @property
    def inputs(self) -> list[Input]:
        return [n for n in self.nodes.values() if isinstance(n, Input)]

    @property
    def populations(self) -> list[Population]:
        return [n for n in self.nodes.values() if isinstance(n, Population)]

    @property
    def n_neurons(self) -> int:
        return sum(p.n for p in self.populations)

    @property
    def n_inputs(self) -> int:
        return sum(i.n for i in self.inputs)

    def recurrent_projections(self) -> set[str]:
        """Names of projections that lie on a cycle of populations."""
        succ: dict[str, set[str]] = {n: set() for n in self.nodes}
        for p in self.projections.values():
            succ[p.src].add(p.dst)

        def reaches(a: str, b: str) -> bool:
            seen, stack = set(), [a]
            while stack:
                x = stack.pop()
                if x == b:
                    return True
                if x not in seen:
                    seen.add(x)
                    stack.extend(succ[x])
            return False

        return {p.name for p in self.projections.values() if reaches(p.dst, p.src)}

    def validate(self, where: str = "graph") -> Graph:
        """Check nodes, projections and their CSR weight arrays; returns ``self``.

        Run by :meth:`load`; call it after editing ``projections`` by hand. The chip's
        widths are checked by ``nc.compile``. Raises ``FileFormatError`` naming the
        projection and the field (see :mod:`neurocore.graph.validate`).
        """
        from neurocore.graph.validate import validate_graph

        validate_graph(self, where)
        return self

    def save(self, path):
        """Write the graph to ``path`` (versioned ``.npz``); read it back with :meth:`Graph.load`."""
        from neurocore.graph.io import save_graph

        return save_graph(self, path)

    @staticmethod
    def load(path) -> Graph:
        """Read a graph written by :meth:`save`; raises FileFormatError on a truncated or foreign file."""
        from neurocore.graph.io import load_graph

        return load_graph(path)

    def summary(self) -> str:
        lines = [f"Graph: {len(self.inputs)} input(s), {len(self.populations)} population(s), "
                 f"{len(self.projections)} projection(s), {self.n_neurons} neurons, "
                 f"{sum(p.n_synapses for p in self.projections.values())} synapses"]
        for node in self.nodes.values():
            what = "input" + (" (graded)" if getattr(node, "graded", False) else "") if isinstance(node, Input) \
                else type(node.neuron).__name__
            lines.append(f"  {node.name:<16} {node.n:>8}  {what}")
        for p in self.projections.values():
            lines.append(f"  {p.src} -> {p.dst}: {p.n_synapses} synapses, exp {p.weight_exp}, delay {p.delay}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary().splitlines()[0]
