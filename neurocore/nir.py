"""NIR interchange: export a neurocore Graph to NIR and import NIR graphs.

NIR (the Neuromorphic Intermediate Representation, https://neuroir.org, PyPI ``nir``) is an
optional dependency: ``pip install "neurocore[nir]"``. Nothing here is imported by
``import neurocore``; ``nir`` is imported on first use.

Time convention
---------------
NIR describes continuous-time dynamics and carries no ``dt``. neurocore reads and writes it
with **forward Euler at step ``dt``, a spike (or graded value) x[t] entering as a current of
value x held over its step** -- the convention snnTorch's exporter uses (``r = tau/dt``,
``w_in = tau_syn/dt``). Per step, for a neuron's input current ``I = W x + b``:

* ``IF``:      ``v += dt*r*I``
* ``LIF``:     ``v += dt/tau*(v_leak - v + r*I)``
* ``CubaLIF``: ``i += dt/tau_syn*(w_in*I - i)`` then ``v += dt/tau_mem*(v_leak - v + r*i)``
  (v uses the *updated* current, as neurocore's u and snnTorch's ``Synaptic`` do)
* an edge into a neuron costs one step (neurocore's minimum synaptic latency); a ``Delay``
  of ``tau`` seconds adds ``round(tau/dt)`` steps.

Export (:func:`to_nir`)
-----------------------
Voltages and currents are written in neurocore's integer v units, so weights are
``w * 2**(act_shift + weight_exp)`` (exact integers as floats) and thresholds
``vth * 2**vth_shift``:

* ``IF``      -> ``nir.IF(r=1/dt, v_threshold=vth*2**vth_shift, v_reset=0)``; the bias is the
  ``bias`` of the first incoming projection, written as ``nir.Affine``.
* ``CubaLIF`` -> ``nir.CubaLIF(tau_syn=dt*4096/(du+1), tau_mem=dt*4096/dv, r=tau_mem/dt,
  w_in=tau_syn/dt, v_leak=bias*4096/dv)`` (so ``dt/tau_mem*v_leak`` is the bias per step).
  With ``dv = 0`` (no leak, ``tau_mem`` infinite) it is written as ``nir.LI(tau=tau_syn,
  r=tau_syn/dt, v_leak=0)`` -> ``nir.IF(r=1/dt)``, exact in continuous time, with an identity
  ``nir.Affine`` in between carrying the bias when there is one.
* projections -> ``nir.Linear`` (sparse matrices written dense) or ``nir.Affine``;
  ``g.conv2d`` projections -> ``nir.Conv2d`` with the kernel recovered from the expanded
  matrix (checked by re-expanding it; otherwise written as Linear); ``g.sumpool2d`` ->
  ``nir.SumPool2d`` -> ``nir.Scale``; a dense projection from a shaped source gets a
  ``nir.Flatten`` in front; ``delay = d > 1`` -> ``nir.Delay((d - 1)*dt)`` in front.

NIR cannot express: reset by subtraction (``IF``/``LIF`` reset to ``v_reset``), a refractory
period, initial state ``u0``/``v0``, ``delay = 0`` from an input, overflow rules. These and the
exact integer parameters are kept in each node's ``metadata["neurocore"]`` (a JSON string)
and in the graph's, so :func:`from_nir` on a file written by :func:`to_nir` rebuilds the
identical integer graph (bit-identical simulation). Other tools must not rely on metadata:
for them, every reset is a reset to 0.

Import (:func:`from_nir`) of float NIR graphs
--------------------------------------------
(This module reads the file and rebuilds exact exports; the float import is a converter and
lives in :mod:`neurocore.convert.from_nir`, quantizing with :mod:`neurocore.convert.quantize`.)
Supported nodes: Input, Output, Affine, Linear, Conv2d, SumPool2d, AvgPool2d, Flatten, Delay,
Scale, IF, LIF, CubaLIF, and LI directly in front of a single IF/LIF (read as CubaLIF). Any
other node raises :class:`~neurocore.errors.ConversionError` before any work. Chains of
linear nodes between two neuron nodes (or an Input and a neuron) are composed into one
projection. Then, per population:

* decays: ``du = round(4096*dt/tau_syn) - 1`` (IF/LIF: ``du = 4095``, u holds one step's
  input), ``dv = round(4096*dt/tau_mem)`` (IF: 0), clipped to the ``decay_bits`` range;
* a v-unit scale ``s`` (neurocore v = s * NIR v) chosen so the largest threshold becomes a
  ``vth`` mantissa of ``2**12`` (fewer if ``vth_bits`` or the v register is smaller):
  12 bits of threshold resolution and 32x headroom in Loihi's 24-bit v;
* weights in v units (``s * dt*r*W`` for IF, ``s * dt*r/tau * W`` for LIF,
  ``s * (dt*r/tau_mem) * (dt*w_in/tau_syn) * W`` for CubaLIF) quantized to ``weight_bits``
  with the smallest per-projection exponent at which the largest weight still fits (full
  mantissa range), rounded to nearest;
* bias: ``s*dt/tau*(v_leak + r*b)`` (LIF), ``s*dt*r*b`` (IF) as mantissa and exponent; an
  Affine bias into a CubaLIF is folded into ``v_leak`` as ``r*w_in*b`` (exact in steady state,
  it skips the synaptic filter's transient);
* reset to zero (``v_reset`` must be 0), spikes when ``v > vth * 2**vth_shift``.

What NIR does not say is read from the source tool (``from_nir(..., source="sinabs")``,
see :mod:`neurocore.nir_sources`): ``dt`` from the neurons' ``r`` (discrete-time tools write
``r = 1``: ``dt = 1``), reset by subtraction (sinabs, snnTorch), sinabs' exponential decay
``exp(-dt/tau)`` with its input scaled by ``1 - exp(-dt/tau)``, and same-step input (input
edges get ``delay = 0``; each further layer still costs neurocore one step, so layer k's
spikes come k - 1 steps after the tool's). Without ``source`` the reset is a guess (zero)
and a warning says so. Nested ``NIRGraph`` nodes (snnTorch's recurrent layers) are inlined.
Analog input: ``graded_inputs=True`` takes ``round(x * input_scale)`` as graded values.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from neurocore.errors import ConversionError, FileFormatError, GraphError, NeurocoreError

__all__ = ["NIR_METADATA_VERSION", "from_nir", "load_nir", "save_nir", "to_nir"]

NIR_METADATA_VERSION = 1
_KEY = "neurocore"


def _nir():
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("NIR interchange needs the 'nir' package: pip install \"neurocore[nir]\"") from exc
    return nir


def _chip(chip):
    from neurocore.chip import loihi

    return loihi() if chip is None else chip


def _safe(name: str) -> str:
    """A NIR/HDF5-safe node name ('/' separates HDF5 groups)."""
    return name.replace("/", "|")


def _jdump(d: dict) -> str:
    from neurocore._io import _jsonable

    return json.dumps(_jsonable(d))


# ============================================================================ export
def _param(v, shape):
    """A neuron parameter as a float array of the population's shape."""
    arr = np.asarray(v, dtype=np.float64)
    return np.broadcast_to(arr.reshape(-1) if arr.ndim else arr, (int(np.prod(shape)),)).reshape(shape).copy()


def _shape_of(node) -> tuple:
    """A node's NIR shape: its (C, H, W) shape where it has one that matches its size, else (n,)."""
    return tuple(node.shape) if node.shape is not None and int(np.prod(node.shape)) == node.n else (node.n,)


@dataclass
class _Export:
    """The NIR graph being written, and the facts every per-node writer needs."""

    nir: object
    chip: object
    dt: float
    tie: float                                           # added to thresholds (target="sinabs")
    nodes: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    entry: dict[str, str] = field(default_factory=dict)  # neurocore node -> NIR node receiving its input
    exit_: dict[str, str] = field(default_factory=dict)  # neurocore node -> NIR node emitting its output
    used: set[str] = field(default_factory=set)

    @property
    def full(self) -> float:
        return float(1 << self.chip.decay_bits)

    def uniq(self, name: str) -> str:
        base, k, out = _safe(name), 1, _safe(name)
        while out in self.used:
            k += 1
            out = f"{base}~{k}"
        self.used.add(out)
        return out

    def flatten(self, name: str, shape: tuple) -> str:
        """A NIR Flatten node from ``shape``; returns its name."""
        fl = self.uniq(name + ".flatten")
        self.nodes[fl] = self.nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1)
        return fl


def _part_of(name: str) -> dict:
    return {_KEY: _jdump({"part_of": name})}


def _export_if(ex: _Export, node, shape, vth, bias, meta) -> None:
    nm = ex.uniq(node.name)
    ex.nodes[nm] = ex.nir.IF(r=np.full(shape, 1.0 / ex.dt), v_threshold=vth, v_reset=np.zeros(shape), metadata=meta)
    ex.entry[node.name] = ex.exit_[node.name] = nm


def _export_cubalif(ex: _Export, node, shape, vth, bias, meta) -> None:
    nir, dt, neuron = ex.nir, ex.dt, node.neuron
    du, dv = _param(neuron.du, shape), _param(neuron.dv, shape)
    tau_syn = dt * ex.full / (du + 1.0)
    if not np.all(dv > 0):
        return _export_li_if(ex, node, shape, vth, bias, meta, tau_syn, dv)
    tau_mem = dt * ex.full / dv
    nm = ex.uniq(node.name)
    ex.nodes[nm] = nir.CubaLIF(tau_syn=tau_syn, tau_mem=tau_mem, r=tau_mem / dt, v_leak=bias * ex.full / dv,
                               v_threshold=vth, v_reset=np.zeros(shape), w_in=tau_syn / dt, metadata=meta)
    ex.entry[node.name] = ex.exit_[node.name] = nm


def _export_li_if(ex: _Export, node, shape, vth, bias, meta, tau_syn, dv) -> None:
    """A CubaLIF without leak (dv = 0) as LI -> [Affine bias] -> IF."""
    nir, dt = ex.nir, ex.dt
    if np.any(dv > 0):
        raise ConversionError(f"to_nir: population '{node.name}' mixes dv = 0 and dv > 0 neurons; NIR "
                              "has no single node for that (split the population)")
    syn = ex.uniq(node.name + ".syn")
    ex.nodes[syn] = nir.LI(tau=tau_syn, r=tau_syn / dt, v_leak=np.zeros(shape), metadata=_part_of(node.name))
    nm = ex.uniq(node.name)
    ex.nodes[nm] = nir.IF(r=np.full(shape, 1.0 / dt), v_threshold=vth, v_reset=np.zeros(shape), metadata=meta)
    if np.any(bias != 0):
        b = ex.uniq(node.name + ".bias")
        ex.nodes[b] = nir.Affine(weight=np.eye(node.n), bias=bias.reshape(-1), metadata=_part_of(node.name))
        if shape != (node.n,):
            fl = ex.flatten(node.name, shape)
            ex.edges += [(syn, fl), (fl, b)]
        else:
            ex.edges.append((syn, b))
        ex.edges.append((b, nm))
    else:
        ex.edges.append((syn, nm))
    ex.entry[node.name], ex.exit_[node.name] = syn, nm


def _export_node(ex: _Export, node) -> None:
    """One Input or population as NIR node(s)."""
    from neurocore.graph.neurons import IF, CubaLIF
    from neurocore.graph.nodes import Input

    shape = _shape_of(node)
    rec = {"name": node.name, "n": node.n, "shape": node.shape}
    if isinstance(node, Input):
        nm = ex.uniq(node.name)
        rec.update(type="Input", graded=node.graded)
        ex.nodes[nm] = ex.nir.Input(input_type={"input": np.array(shape)}, metadata={_KEY: _jdump(rec)})
        ex.entry[node.name] = ex.exit_[node.name] = nm
        return
    neuron = node.neuron
    writers = {IF: _export_if, CubaLIF: _export_cubalif}   # by class, subclasses included (AdaptiveLIF)
    writer = next((writers[c] for c in type(neuron).__mro__ if c in writers), None)
    if writer is None:
        raise ConversionError(f"to_nir: population '{node.name}' has an unsupported neuron model "
                              f"{type(neuron).__name__}")
    rec.update(type="Population", neuron=neuron.to_dict())
    vth = _param(neuron.vth, shape) * 2.0 ** ex.chip.vth_shift + ex.tie
    bias = _param(neuron.bias_mant, shape) * np.exp2(_param(neuron.bias_exp, shape))
    writer(ex, node, shape, vth, bias, {_KEY: _jdump(rec)})


def _export_pool(ex: _Export, p, rec, nm, prev, kernel, scale, dst_shape) -> str:
    """A uniform-kernel depthwise conv (g.sumpool2d) as SumPool2d -> Scale; returns the last node."""
    rec["pool_weight"] = int(kernel.flat[0])
    stride, padding = np.array(p.conv.stride), np.array(p.conv.padding)
    ex.nodes[nm] = ex.nir.SumPool2d(kernel_size=np.array(kernel.shape[2:]), stride=stride, padding=padding,
                                    metadata={_KEY: _jdump(rec)})
    sc = ex.uniq(p.name + ".scale")
    ex.nodes[sc] = ex.nir.Scale(scale=np.full(dst_shape, kernel.flat[0] * scale), metadata=_part_of(p.name))
    ex.edges += [(prev, nm), (nm, sc)]
    return sc


def _export_conv(ex: _Export, p, rec, nm, prev, kernel, scale, src_shape) -> str:
    # stride/padding/dilation as the layer's maker gave them (an int or a pair), so files stay as they were
    ex.nodes[nm] = ex.nir.Conv2d(input_shape=tuple(src_shape[1:]), weight=kernel * scale,
                                 stride=p.meta.get("stride", p.conv.stride), padding=p.meta.get("padding", p.conv.padding),
                                 dilation=p.meta.get("dilation", p.conv.dilation), groups=p.conv.groups,
                                 bias=np.zeros(kernel.shape[0]), metadata={_KEY: _jdump(rec)})
    ex.edges.append((prev, nm))
    return nm


def _export_matrix(ex: _Export, graph, p, rec, nm, prev, scale, src_shape, dst_shape, with_bias: bool) -> str:
    """Any other projection as [Flatten ->] Linear, or Affine when it carries its IF population's bias."""
    if len(src_shape) > 1:
        fl = ex.flatten(p.name, src_shape)
        ex.edges.append((prev, fl))
        prev = fl
    w = p.weights.toarray().astype(np.float64) * scale
    if with_bias:
        dst = graph.nodes[p.dst]
        b = _param(dst.neuron.bias_mant, (dst.n,)) * np.exp2(_param(dst.neuron.bias_exp, (dst.n,)))
        ex.nodes[nm] = ex.nir.Affine(weight=w, bias=b, metadata={_KEY: _jdump(rec)})
    else:
        ex.nodes[nm] = ex.nir.Linear(weight=w, metadata={_KEY: _jdump(rec)})
    ex.edges.append((prev, nm))
    if len(dst_shape) > 1:   # NIR types: a flat result into a shaped population
        rec["unflatten"] = True
    return nm


def _export_projection(ex: _Export, graph, p, with_bias: bool) -> None:
    """One projection as [Delay ->] its NIR node(s) -> the destination's entry node."""
    from neurocore.graph.layers import conv2d_kernel

    src_shape, dst_shape = _shape_of(graph.nodes[p.src]), _shape_of(graph.nodes[p.dst])
    scale = 2.0 ** (ex.chip.act_shift + p.weight_exp)
    rec = {"name": p.name, "src": p.src, "dst": p.dst, "weight_exp": p.weight_exp, "delay": p.delay,
           "kind": p.kind, "meta": p.meta}
    prev = ex.exit_[p.src]
    if p.delay > 1:
        d = ex.uniq(p.name + ".delay")
        ex.nodes[d] = ex.nir.Delay(delay=np.full(src_shape, (p.delay - 1) * ex.dt), metadata=_part_of(p.name))
        ex.edges.append((prev, d))
        prev = d
    conv = p.conv if p.kind == "conv2d" and len(src_shape) == 3 and len(dst_shape) == 3 else None
    kernel = conv2d_kernel(p.weights, conv)
    pool = (kernel is not None and conv.pool and np.all(kernel == kernel.flat[0])
            and kernel.shape[1] == 1 and conv.groups == kernel.shape[0])
    nm = ex.uniq(p.name)
    if pool:
        last = _export_pool(ex, p, rec, nm, prev, kernel, scale, dst_shape)
    elif kernel is not None:
        last = _export_conv(ex, p, rec, nm, prev, kernel, scale, src_shape)
    else:
        last = _export_matrix(ex, graph, p, rec, nm, prev, scale, src_shape, dst_shape, with_bias)
    ex.edges.append((last, ex.entry[p.dst]))


def to_nir(graph, dt: float = 1e-3, chip=None, target: str | None = None):
    """Export a neurocore :class:`~neurocore.Graph` to a ``nir.NIRGraph`` (see the module docstring).

    ``dt`` is the duration of one step in seconds; ``chip`` supplies ``act_shift``,
    ``vth_shift`` and ``decay_bits`` (Loihi's by default). ``target="sinabs"`` writes every
    threshold one v unit higher: sinabs spikes at ``v >= threshold``, neurocore (and NIR) at
    ``v > threshold``, and on neurocore's integer v grid ``v >= vth*2**vth_shift + 1`` is
    exactly ``v > vth*2**vth_shift``.
    """
    from neurocore._io import encode_meta
    from neurocore.graph.neurons import IF

    nir = _nir()
    chip = _chip(chip)
    dt = float(dt)
    if not dt > 0:
        raise ConversionError(f"to_nir: dt must be > 0 seconds, got {dt!r}")
    if target not in (None, "sinabs"):
        raise ConversionError(f"to_nir: target={target!r}; choose None or 'sinabs'")
    ex = _Export(nir, chip, dt, 1.0 if target == "sinabs" else 0.0)
    bias_proj: dict[str, str] = {}   # IF populations carry their bias in the first incoming projection's Affine
    for p in graph.projections.values():
        if isinstance(graph.nodes[p.dst].neuron, IF) and p.dst not in bias_proj and p.kind != "conv2d":
            bias_proj[p.dst] = p.name
    for node in graph.nodes.values():
        _export_node(ex, node)
    for p in graph.projections.values():
        _export_projection(ex, graph, p, bias_proj.get(p.dst) == p.name)
    sources = {p.src for p in graph.projections.values()}
    for node in graph.populations:
        if node.name not in sources:     # sinks: NIR output ports
            o = ex.uniq(node.name + ".out")
            ex.nodes[o] = nir.Output(output_type={"output": np.array(_shape_of(node))})
            ex.edges.append((ex.exit_[node.name], o))
    head = {"version": NIR_METADATA_VERSION, "dt": dt, "act_shift": chip.act_shift, "vth_shift": chip.vth_shift,
            "decay_bits": chip.decay_bits, "nodes": list(graph.nodes), "projections": list(graph.projections),
            "graph_meta": json.dumps(encode_meta(graph.meta))}
    gmeta = {_KEY: json.dumps(head)}
    try:
        return nir.NIRGraph(nodes=ex.nodes, edges=ex.edges, metadata=gmeta, type_check=True)
    except Exception:  # noqa: BLE001 - NIR's type inference is strict about shapes (grouped convs, reshapes)
        return nir.NIRGraph(nodes=ex.nodes, edges=ex.edges, metadata=gmeta, type_check=False)


def save_nir(graph, path, dt: float = 1e-3, chip=None, compat: str | None = None, target: str | None = None) -> Path:
    """Write ``graph`` as a NIR HDF5 file (``nir.write``); returns the path.

    ``compat="nir-1.0.4"`` writes a file that readers pinned to nir <= 1.0.4 (sinabs 3.1)
    can open: nir >= 1.0.5 writes a ``v_reset`` field into every IF/LIF/CubaLIF node that
    their ``IF.__init__`` rejects; it is dropped (it is 0: NIR's reset-to-zero), and so is the
    metadata of Input, Output, Linear, Conv2d and Scale nodes (fields nir 1.0.4 lacks), so
    such a file no longer round-trips exactly into neurocore: it is meant for the other tool.
    ``target`` is passed to :func:`to_nir` (``"sinabs"`` implies ``compat="nir-1.0.4"``).
    The file is written beside ``path`` and moved into place, so a failed write leaves an
    existing file untouched.
    """
    from neurocore._io import atomic_path

    nir = _nir()
    if compat not in (None, "nir-1.0.4"):
        raise ConversionError(f"save_nir: compat={compat!r}; choose None or 'nir-1.0.4'")
    path = Path(path)
    if target == "sinabs":
        compat = "nir-1.0.4"
    graph_nir = to_nir(graph, dt=dt, chip=chip, target=target)
    with atomic_path(path, "NIR") as tmp:  # h5py writes in place: write a temporary file, then rename
        try:
            nir.write(tmp, graph_nir)
            if compat == "nir-1.0.4":
                _drop_v_reset(tmp)
        except (OSError, NeurocoreError):
            raise
        except Exception as exc:  # noqa: BLE001 - h5py raises RuntimeError etc. on a full disk
            raise OSError(getattr(exc, "errno", None), f"{type(exc).__name__}: {exc}") from exc
    return path


_NO_METADATA_104 = {"Input", "Output", "Linear", "Conv2d", "Scale"}   # nir 1.0.4 nodes without a metadata field


def _drop_v_reset(path) -> None:
    """Make a NIR HDF5 file readable by nir 1.0.4: delete every (all-zero) ``v_reset`` and the
    ``metadata`` of node types that had none then."""
    import h5py

    with h5py.File(path, "r+") as f:
        found, meta = [], []

        def visit(name, obj):
            if name.endswith("/v_reset"):
                found.append(name)
            elif isinstance(obj, h5py.Group) and "type" in obj and "metadata" in obj:
                t = obj["type"][()]
                if (t.decode() if isinstance(t, bytes) else str(t)) in _NO_METADATA_104:
                    meta.append(name + "/metadata")
        f.visititems(visit)
        for name in meta:
            del f[name]
        for name in found:
            if np.any(f[name][()] != 0):
                raise ConversionError(f"save_nir: '{name}' is a non-zero v_reset, which nir 1.0.4 cannot express")
            del f[name]


def load_nir(path, chip=None, dt: float | None = None, **kwargs):
    """Read a NIR HDF5 file into a neurocore Graph (see :func:`from_nir`), validated.

    Every array the file's nodes carry (weights, biases, time constants, thresholds,
    shapes) must be numeric and finite; the Graph built from them is checked with
    :meth:`Graph.validate`. A file that fails raises FileFormatError naming the node and
    the field.
    """
    g = _read(path)
    _check_arrays(g, path)
    try:
        graph = from_nir(g, chip=chip, dt=dt, **kwargs)
    except NeurocoreError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise FileFormatError(f"'{path}': NIR graph is inconsistent ({type(exc).__name__}: {exc})") from None
    return graph.validate(f"'{path}'")


def _check_arrays(g, path) -> None:
    """Every array-valued field of every node of a NIR graph read from ``path``: numeric and finite."""
    for name, node in getattr(g, "nodes", {}).items():
        for field, val in vars(node).items():
            if not isinstance(val, np.ndarray):
                continue
            if val.dtype.kind not in "biuf":
                raise FileFormatError(f"'{path}': NIR node '{name}' field '{field}' has dtype {val.dtype}; "
                                      "numbers are expected")
            if val.dtype.kind == "f" and not np.all(np.isfinite(val)):
                raise FileFormatError(f"'{path}': NIR node '{name}' field '{field}' holds "
                                      f"{int(np.sum(~np.isfinite(val)))} NaN/inf value(s)")


def _read(path):
    nir = _nir()
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"'{path}': no such NIR file")
    try:
        try:
            return nir.read(path)
        except (ValueError, KeyError, NotImplementedError):
            return nir.read(path, type_check=False)
    except Exception as exc:  # noqa: BLE001 - h5py and nir raise many types on a bad file
        raise FileFormatError(f"'{path}' is not a readable NIR file ({type(exc).__name__}: {exc})") from None


# ============================================================================ import
# the float import itself (discretize, quantize) is a converter: neurocore.convert.from_nir

def from_nir(nir_graph_or_path, chip=None, dt: float | None = None, graded_inputs: bool = False,
             source: str | None = None, input_scale: float | None = None):
    """Import a NIR graph (a ``nir.NIRGraph`` or a path to a NIR file) as a neurocore Graph.

    A graph written by :func:`to_nir` (it carries neurocore metadata and its weights are
    unchanged) is rebuilt exactly. Any other graph is discretized at ``dt`` and quantized to
    ``chip``'s fixed point (see the module docstring). Raises ConversionError for an
    unsupported node (before any work) and FileFormatError for an unreadable file.

    Parameters
    ----------
    dt : float, optional
        Step in seconds. Default: read from the neurons' ``r``
        (:func:`neurocore.nir_sources.infer_dt`; 1 for a discrete-time file where every
        ``r`` is 1, as sinabs writes), else 1 ms with a warning.
    graded_inputs : bool
        Inputs carry analog values as graded integers ``round(x * input_scale)``.
    source : {"sinabs", "snntorch", "norse", "spikingjelly", "neurocore"}, optional
        The exporting tool, whose conventions (reset by subtraction, exponential decay,
        same-step input) fill what NIR cannot say (:data:`neurocore.nir_sources.SOURCES`).
        None reads NIR literally (reset to zero) and warns that this was guessed. With a
        source, the v scale is a power of two, so weights on a binary grid (a network
        quantized for a chip) import exactly.
    input_scale : float, optional
        Graded inputs only: the factor analog inputs are multiplied by before rounding to
        integers (default 256 = 8 fractional bits); weights from inputs are divided by it.
        Recorded in ``graph.meta["nir_import"]["input_scale"]``.
    """
    from neurocore.convert.from_nir import LINEAR_TYPES, NEURON_TYPES, PORT_TYPES, from_float_nir
    from neurocore.nir_sources import convention, flatten, infer_dt

    nir = _nir()
    g = _read(nir_graph_or_path) if isinstance(nir_graph_or_path, (str, Path)) else nir_graph_or_path
    if not isinstance(g, nir.NIRGraph):
        raise ConversionError(f"from_nir: expected a nir.NIRGraph or a path, got {type(g).__name__}")
    g = flatten(g, nir)
    for name, node in g.nodes.items():
        t = type(node).__name__
        if t not in LINEAR_TYPES | NEURON_TYPES | PORT_TYPES | {"LI"}:
            raise ConversionError(f"from_nir: node '{name}' has type {t}, which neurocore cannot import "
                                  f"(supported: {sorted(LINEAR_TYPES | NEURON_TYPES | PORT_TYPES)}, and LI directly "
                                  "before IF/LIF)")
    exact = _from_metadata(g, chip)
    if exact is not None:
        return exact
    conv, guessed = convention(source)
    has_neurons = any(type(n).__name__ in NEURON_TYPES for n in g.nodes.values())
    if dt is None and conv.default_dt is not None and has_neurons:
        dt = conv.default_dt
        warnings.warn(f"from_nir: assuming {source}'s default dt = {dt} s (NIR does not carry it; pass dt=)",
                      stacklevel=2)
    if dt is None:
        dt = infer_dt(g)
        if dt is None:
            dt = 1e-3
            if has_neurons:
                warnings.warn("from_nir: no neuron's r tells the step; assuming dt = 1 ms (pass dt=)", stacklevel=2)
    if guessed and has_neurons:
        warnings.warn("from_nir: NIR cannot say how a neuron resets; assuming reset to zero with forward-Euler decay. "
                      "Pass source='sinabs'|'snntorch'|'norse'|'spikingjelly' for that tool's conventions "
                      "(sinabs and snnTorch reset by subtraction)", stacklevel=2)
    if input_scale is not None and not (graded_inputs and float(input_scale) > 0):
        raise ConversionError(f"from_nir: input_scale={input_scale!r} needs graded_inputs=True and a value > 0")
    scale_in = float(input_scale) if input_scale is not None else (256.0 if graded_inputs else 1.0)
    return from_float_nir(g, chip, float(dt), graded_inputs, conv, scale_in, pow2=not guessed)


def _meta_record(node) -> dict | None:
    md = getattr(node, "metadata", None) or {}
    raw = md.get(_KEY)
    if raw is None:
        return None
    try:
        return json.loads(str(raw))
    except ValueError:
        return None


def _from_metadata(g, chip):
    """Rebuild the exact integer graph from neurocore metadata, or None if it is absent or stale."""
    from neurocore._io import decode_meta
    from neurocore.graph.graph import Graph
    from neurocore.graph.layers import conv2d_matrix
    from neurocore.graph.neurons import neuron_from_dict

    head = _meta_record(g)
    if head is None or head.get("version") != NIR_METADATA_VERSION:
        return None
    chip_ = _chip(chip)
    if chip is not None and chip_.act_shift != head["act_shift"]:
        warnings.warn("from_nir: the file was written for act_shift "
                      f"{head['act_shift']}; weights are read back in those units", stacklevel=3)
    act_shift = int(head["act_shift"])
    recs: dict[str, tuple[dict, object]] = {}
    for node in g.nodes.values():
        r = _meta_record(node)
        if r is not None and "name" in r:
            recs.setdefault(("p:" if "src" in r else "n:") + r["name"], (r, node))
    out = Graph()
    try:
        for name in head["nodes"]:
            r, _ = recs["n:" + name]
            shape = tuple(r["shape"]) if r["shape"] is not None else None
            if r["type"] == "Input":
                out.input(r["n"], name=name, graded=r["graded"], shape=shape)
            else:
                out.population(r["n"], neuron_from_dict(r["neuron"]), name=name, shape=shape)
        for name in head["projections"]:
            r, node = recs["p:" + name]
            scale = 2.0 ** (act_shift + r["weight_exp"])
            t = type(node).__name__
            n_dst, n_src = out.nodes[r["dst"]].n, out.nodes[r["src"]].n
            meta = dict(r["meta"])
            for k in ("kernel_shape", "in_shape", "out_shape"):
                if k in meta:
                    meta[k] = tuple(meta[k])
            if t == "SumPool2d":
                kernel = np.full(meta["kernel_shape"], r["pool_weight"], np.float64)
                w, _ = conv2d_matrix(kernel, meta["in_shape"], meta["stride"], meta["padding"], meta["dilation"],
                                     meta["groups"])
                w = w.toarray()
            elif t == "Conv2d":
                kernel = np.asarray(node.weight, np.float64) / scale
                if np.any(kernel != np.round(kernel)):
                    return _stale(name)
                w, _ = conv2d_matrix(kernel, meta["in_shape"], meta["stride"], meta["padding"], meta["dilation"],
                                     meta["groups"])
                w = w.toarray()
            else:
                w = np.asarray(node.weight, np.float64) / scale
            if w.shape != (n_dst, n_src) or np.any(w != np.round(w)):
                return _stale(name)
            out.connect(r["src"], r["dst"], sp.csr_matrix(np.round(w).astype(np.int64)), weight_exp=r["weight_exp"],
                        delay=r["delay"], name=name, kind=r["kind"], meta=meta)
        out.meta = decode_meta(json.loads(head.get("graph_meta", "{}")))
    except KeyError as exc:
        warnings.warn(f"from_nir: neurocore metadata is incomplete ({exc} missing); importing the float dynamics",
                      stacklevel=3)
        return None
    except (GraphError, TypeError, ValueError) as exc:
        raise FileFormatError(f"from_nir: the neurocore metadata is inconsistent ({exc})") from None
    return out


def _stale(name):
    warnings.warn(f"from_nir: the weights of '{name}' no longer match its neurocore metadata (edited in another "
                  "tool?); importing the float dynamics instead", stacklevel=4)
