"""convert(model, calibration=X) -> Graph: one front end for every ANN format.

read (format -> ops) -> fold (ops -> spiking layers) -> balance (thresholds
from calibration) -> align delays -> quantize and build (chip widths) -> codec:
a :class:`~neurocore.Graph` whose ``meta`` holds the codec, the float twin and
the report. Each step is one function below (``_read``, ``_fold``, ``_balance``,
``_align_delays``, ``_build``, ``_codec``); typed dataclasses carry the data
between them (``_Options``, ``_Folded``, ``_Timing``, ``_Built``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from neurocore.chip.presets import loihi
from neurocore.chip.spec import ChipSpec
from neurocore.convert._ir import Op, check_ops
from neurocore.convert.balance import activation_scale, normalize
from neurocore.convert.encode import ENCODINGS, Codec
from neurocore.convert.floatsim import FloatLayer, FloatSNN
from neurocore.convert.fold import SpikingLayer, build_layers, forward
from neurocore.convert.layers import read_layers
from neurocore.convert.onnx import is_onnx, read_onnx
from neurocore.convert.quantize import QuantizedLayer, quantize_layer
from neurocore.convert.report import ConversionReport, LayerReport
from neurocore.convert.sklearn import is_sklearn_mlp, read_sklearn
from neurocore.convert.torch import is_torch_module, read_torch
from neurocore.errors import ConversionError
from neurocore.graph.graph import Graph
from neurocore.graph.neurons import IF

__all__ = ["DECODINGS", "READERS", "convert", "read_model"]

DECODINGS = ("count", "membrane")


def _is_layer_list(model) -> bool:
    return isinstance(model, (list, tuple)) and all(isinstance(d, dict) for d in model)


#: (matches(model), read(model, input_shape, sample)) in the order tried; every reader has that
#: one signature (``sample``, calibration inputs, is used by the torch reader to trace shapes).
READERS = [
    (is_sklearn_mlp, read_sklearn),
    (_is_layer_list, read_layers),
    (is_torch_module, read_torch),
    (is_onnx, read_onnx),
]


def read_model(model, input_shape=None, sample=None) -> tuple[list[Op], dict]:
    """The ops of ``model`` (any supported format), checked: unsupported layers and NaN/inf raise here."""
    for matches, read in READERS:
        if matches(model):
            ops, info = read(model, input_shape, sample)
            check_ops(ops, info["format"])
            return ops, info
    raise ConversionError(f"cannot convert a {type(model).__module__}.{type(model).__name__}: supported are "
                          "scikit-learn MLPClassifier/MLPRegressor, a NumPy layer list (see neurocore.convert.layers), "
                          "PyTorch nn.Module (neurocore[torch]) and ONNX files or ModelProto (neurocore[onnx])")


@dataclass(frozen=True)
class _Options:
    """convert()'s arguments, checked (see :func:`convert` for each)."""

    chip: ChipSpec
    percentile: float
    per_channel: bool
    encoding: str
    decoding: str
    reset: str
    v_frac: float
    max_steps: int

    @property
    def graded(self) -> bool:
        return self.encoding == "direct"

    @property
    def membrane(self) -> bool:
        return self.decoding == "membrane"


@dataclass
class _Folded:
    """Step 2's result: the spiking layers and the calibration activations through them."""

    in_name: str
    in_shape: tuple
    layers: list[SpikingLayer]
    acts: dict[str, np.ndarray]       # float ANN activations (batch, n) per layer, the input flattened
    in_scale: float = 1.0             # the input's largest |value| (maps to one unit of input)
    lam: dict[str, np.ndarray] = field(default_factory=dict)   # per-neuron activation scale (step 3)

    @property
    def out_layer(self) -> SpikingLayer:
        return self.layers[-1]

    @property
    def n_feat(self) -> int:
        return int(np.prod(self.in_shape))


@dataclass
class _Timing:
    """Step 4's result, in steps: when each population first hears the input, and each projection's delay."""

    latency: dict[str, int]
    delays: dict[str, dict[str, int]]


@dataclass
class _Built:
    """Step 5's result: the Graph, the float twin's layers, the report and what the codec needs."""

    graph: Graph
    flayers: list[FloatLayer]
    report: ConversionReport
    gain: int | None = None
    theta_out: int = 1
    unit_out: int = 1
    v_out: float = 0.5


def _check_args(chip: ChipSpec, percentile, per_channel, encoding, decoding, reset, v_init, max_steps) -> _Options:
    """Step 0: refuse bad arguments, each with what to pass instead."""
    if encoding not in ENCODINGS:
        raise ConversionError(f"encoding={encoding!r}; choose one of {sorted(ENCODINGS)}")
    if encoding == "direct" and chip.graded_bits < 2:
        raise ConversionError(f"encoding='direct' sends graded input values, but chip '{chip.name}' takes spikes "
                              f"only (graded_bits={chip.graded_bits}): use encoding='rate' or 'poisson'")
    if decoding not in DECODINGS:
        raise ConversionError(f"decoding={decoding!r}; choose one of {DECODINGS}")
    if reset not in ("subtract", "zero"):
        raise ConversionError(f"reset={reset!r}; choose 'subtract' or 'zero'")
    v_frac = 0.5 if v_init == "half" else v_init
    if not isinstance(v_frac, (int, float)) or not 0.0 <= v_frac < 1.0:
        raise ConversionError(f"v_init={v_init!r}; give a fraction of the threshold in [0, 1) or 'half'")
    if not 0 < percentile <= 100:
        raise ConversionError(f"percentile={percentile}; give a value in (0, 100]")
    return _Options(chip, percentile, per_channel, encoding, decoding, reset, v_frac, max_steps)


def _check_calibration(calibration, opts: _Options) -> np.ndarray:
    """Step 0: the calibration data as float64 (n_samples, features...), checked."""
    if calibration is None:
        raise ConversionError("convert() needs calibration data (a few hundred ANN inputs) to set thresholds: "
                              "pass calibration=X_train[:500]")
    xcal = np.asarray(calibration, np.float64)
    if xcal.ndim < 2 or xcal.shape[0] < 1:
        raise ConversionError(f"calibration must be (n_samples, features...), got shape {xcal.shape}")
    if not np.all(np.isfinite(xcal)):
        raise ConversionError("calibration data contain NaN or inf")
    if not opts.graded and np.any(xcal < 0):
        raise ConversionError(f"encoding={opts.encoding!r} makes spikes from non-negative inputs, but the calibration "
                              "data have negative values: use encoding='direct' or shift/scale the inputs")
    return xcal


def _read(model, xcal: np.ndarray) -> tuple[list[Op], dict]:
    """Step 1: read the model (all its checks before any work)."""
    ops, info = read_model(model, xcal.shape[1:], xcal)
    if not np.any(xcal):
        raise ConversionError(f"calibration data are all zero ({xcal.shape[0]} samples): thresholds and the input "
                              "scale are set from them; pass real training inputs, e.g. calibration=X_train[:500]")
    return ops, info


def _fold(ops: list[Op], xcal: np.ndarray) -> _Folded:
    """Step 2: fold the ops into spiking layers and run the calibration data through them (float)."""
    in_name, in_shape, layers = build_layers(ops, output_activation="none")
    n_feat = int(np.prod(in_shape))
    if int(np.prod(xcal.shape[1:])) != n_feat:
        raise ConversionError(f"calibration samples have {int(np.prod(xcal.shape[1:]))} values; the model takes "
                              f"{in_shape}")
    return _Folded(in_name, in_shape, layers, forward(layers, in_name, xcal))


def _balance(f: _Folded, opts: _Options) -> None:
    """Step 3: each population's activation scale (the value that maps to one spike per step)."""
    f.in_scale = float(np.abs(f.acts[f.in_name]).max()) or 1.0
    f.lam = {f.in_name: np.full(f.n_feat, f.in_scale)}
    for la in f.layers:
        if la.scale is not None:  # QCFS: the trained threshold is the scale
            f.lam[la.name] = np.full(la.n, float(la.scale))
        else:
            f.lam[la.name] = activation_scale(la, f.acts[la.name], opts.percentile,
                                              opts.per_channel and la is not f.out_layer, opts.decoding)


def _align_delays(f: _Folded, chip: ChipSpec) -> _Timing:
    """Step 4: every source of a population starts reaching it at the same step."""
    latency: dict[str, int] = {f.in_name: 0}
    delays: dict[str, dict[str, int]] = {}
    for la in f.layers:
        latency[la.name] = max(latency[s] + (0 if s == f.in_name else 1) for s in la.terms)
        delays[la.name] = {s: latency[la.name] - latency[s] for s in la.terms}
        if max(delays[la.name].values()) > chip.max_delay:
            raise ConversionError(f"layer '{la.name}' needs a delay of {max(delays[la.name].values())} steps to "
                                  f"align its inputs; chip '{chip.name}' allows {chip.max_delay}")
    return _Timing(latency, delays)


def _membrane_vth_cap(f: _Folded, la: SpikingLayer, opts: _Options) -> int:
    """The largest threshold at which a membrane read-out holds ``max_steps`` steps of its peak input."""
    chip = opts.chip
    zn = f.acts[la.name] / f.lam[la.name]
    peak = max(1.0, float(np.abs(zn).max()) * 2.0)
    return max(1, int((1 << (chip.v_bits - 1 - chip.vth_shift)) / (opts.max_steps * peak)))


def _layer_report(f: _Folded, la: SpikingLayer, q: QuantizedLayer, vth: int, timing: _Timing, v_la: float,
                  chip: ChipSpec) -> tuple[LayerReport, list[str]]:
    """The report row of one quantized layer, and its warnings."""
    d = timing.latency[la.name]
    row = LayerReport(
        name=la.name, type=la.type, sources={s: tuple(np.shape(f.acts[s])[1:]) for s in la.terms},
        shape=tuple(la.shape), scale=float(np.median(f.lam[la.name])), vth=int(vth), weight_exp=dict(q.weight_exp),
        weight_bits_used=dict(q.weight_bits_used), quant_error=dict(q.weight_error), bias_exp=q.bias_exp,
        bias_error=q.bias_error, saturated=q.saturated, sparsity=float(np.mean(f.acts[la.name] <= 0)),
        latency=d, delays=dict(timing.delays[la.name]), scale_source="qcfs" if la.levels else "percentile",
        levels=la.levels, v_init=v_la)
    warns = []
    if q.saturated:
        warns.append(f"layer '{la.name}': {q.saturated} weight/bias value(s) clipped to the chip's widths")
    for s, bits in q.weight_bits_used.items():
        if 0 < bits < chip.weight_bits - 1:
            warns.append(f"layer '{la.name}' from '{s}': weights use only {bits} of "
                         f"{chip.weight_bits} bits (threshold capped by the v width)")
    return row, warns


def _build_layer(b: _Built, f: _Folded, la: SpikingLayer, timing: _Timing, opts: _Options) -> None:
    """Step 5 for one layer: quantize it, add its population and projections, its float twin and report row."""
    chip = opts.chip
    vmax = (1 << (chip.v_bits - 1)) - 1
    v_la = 0.5 if la.levels else float(opts.v_frac)  # QCFS's "shift": half threshold, as trained
    terms, bias = normalize(la, f.lam)
    is_out = la is f.out_layer
    read_v = is_out and opts.membrane
    cap = _membrane_vth_cap(f, la, opts) if read_v else None
    q = quantize_layer(terms, bias, f.in_name, opts.graded, b.gain, chip, vth_cap=cap)
    if q.gain is not None:
        b.gain = q.gain
    d = timing.latency[la.name]
    bias_int = q.bias_mant << q.bias_exp
    # start lower by the bias the population integrates before its first input arrives (d steps)
    v0 = np.clip(np.rint(v_la * q.theta) - d * bias_int, -vmax, vmax).astype(np.int64)
    vth = min((1 << chip.vth_bits) - 1, vmax >> chip.vth_shift) if read_v else q.vth  # never reached if read_v
    neuron = IF(vth=vth, bias_mant=q.bias_mant, bias_exp=q.bias_exp, reset=opts.reset, v0=v0)
    g = b.graph
    pop = g.population(la.n, neuron, name=la.name, shape=tuple(la.shape))
    delays = timing.delays[la.name]
    for s, t in la.terms.items():
        meta = dict(t.meta)
        meta.setdefault("dense_macs", int(t.matrix.nnz))
        g.connect(g[s], pop, q.weights[s], weight_exp=q.weight_exp[s], delay=delays[s],
                  name=f"{la.name}.from.{s}" if len(la.terms) > 1 else f"{la.name}.weight",
                  kind=t.kind if t.kind in ("dense", "conv2d") else "sparse", meta=meta)
    if is_out:
        b.theta_out, b.unit_out, b.v_out = vth << chip.vth_shift, q.theta, v_la
    b.flayers.append(FloatLayer(la.name, la.n, [(s, terms[s], delays[s]) for s in la.terms], bias,
                                float("inf") if read_v else 1.0, v_la - d * bias, opts.reset))
    row, warns = _layer_report(f, la, q, vth, timing, v_la, chip)
    b.report.layers.append(row)
    b.report.warnings.extend(warns)


def _build(f: _Folded, timing: _Timing, opts: _Options, fmt: str) -> _Built:
    """Step 5: quantize every layer and build the Graph, the float twin's layers and the report."""
    g = Graph()
    g.input(f.n_feat, name=f.in_name, graded=opts.graded,
            shape=tuple(f.in_shape) if len(f.in_shape) == 3 else None)
    report = ConversionReport(fmt, opts.encoding, opts.decoding, opts.percentile, opts.per_channel, opts.reset,
                              float(opts.v_frac), f.in_scale, 0)
    b = _Built(g, [], report, gain=None if opts.graded else 1, v_out=float(opts.v_frac))
    for la in f.layers:
        _build_layer(b, f, la, timing, opts)
    report.input_gain = int(b.gain or 1)
    return b


def _codec(b: _Built, f: _Folded, timing: _Timing, opts: _Options, xcal: np.ndarray, task: str, classes) -> Codec:
    """Step 6: the codec that encodes inputs and decodes the output population."""
    out_layer = f.out_layer
    n_out = out_layer.n
    if task == "classify" and classes is not None and len(classes) != max(n_out, 2):
        raise ConversionError(f"{len(classes)} class labels for {n_out} output neuron(s)")
    codec = ENCODINGS[opts.encoding](
        input_shape=tuple(int(i) for i in xcal.shape[1:]), in_scale=f.in_scale, gain=int(b.gain or 1),
        graded_bits=opts.chip.graded_bits, output=out_layer.name, n_out=n_out, decoding=opts.decoding,
        theta_out=int(b.theta_out), unit=int(b.unit_out), v_init=b.v_out, latency=timing.latency[out_layer.name],
        out_scale=float(np.median(f.lam[out_layer.name])), task=task,
        classes=list(classes) if classes is not None else None)
    if task == "regress" and np.ptp(f.lam[out_layer.name]) > 0:
        raise ConversionError("a regressor's output layer must be balanced per layer (per_channel applies to "
                              "hidden layers only)")
    return codec


def convert(model, calibration=None, chip: ChipSpec | None = None, *, percentile: float = 99.9,
            per_channel: bool = False, encoding: str = "direct", decoding: str = "count", reset: str = "subtract",
            v_init: float | str = 0.5, max_steps: int = 1024, task: str | None = None, classes=None) -> Graph:
    """Convert a trained ANN into a spiking :class:`~neurocore.Graph` in ``chip``'s fixed point.

    Parameters
    ----------
    model
        scikit-learn ``MLPClassifier``/``MLPRegressor`` (ReLU), a NumPy layer list,
        a PyTorch ``nn.Module`` or an ONNX model (path or ``ModelProto``).
    calibration : array (n_samples, features...)
        ANN inputs used to set thresholds (a few hundred training samples).
    chip : ChipSpec, optional
        Whose widths to quantize to (default :func:`neurocore.chip.loihi`).
    percentile : float
        Activation percentile (of non-zero activations) that maps to one spike per step.
    per_channel : bool
        Balance each output channel (conv) or neuron (dense) separately.
    encoding : {"direct", "poisson", "rate"}
        Input coding (see :mod:`neurocore.convert.encode`).
    decoding : {"count", "membrane"}
        Output read-out: spike count (ties broken by membrane potential) or the
        output population's membrane potential without spiking.
    reset : {"subtract", "zero"}
    v_init : float or "half"
        Initial membrane potential as a fraction of the threshold (0.5 = "half").
        Each population also starts lower by the bias it integrates before its
        first input arrives (``latency * bias``). Layers whose activation is a
        :class:`~neurocore.convert.qcfs.QCFS` always start at half threshold and
        take their trained threshold as their scale (``percentile`` and
        ``per_channel`` do not apply to them).
    max_steps : int
        Longest run the ``membrane`` read-out must hold without overflowing v.
    task : {"classify", "regress"}, optional
        Default: from the model (scikit-learn), else "classify".
    classes : sequence, optional
        Output labels (default: the model's ``classes_`` or 0..n-1).

    Returns
    -------
    Graph
        With ``meta["codec"]`` (encode/decode, used by ``Simulator.run``),
        ``meta["float_snn"]`` (:class:`~neurocore.convert.FloatSNN`) and
        ``meta["conversion_report"]`` (:class:`~neurocore.convert.ConversionReport`).

    Raises
    ------
    ConversionError
        Unsupported layer (named, before any work), NaN/inf weights, bad arguments.
    """
    opts = _check_args(chip or loihi(), percentile, per_channel, encoding, decoding, reset, v_init, max_steps)
    xcal = _check_calibration(calibration, opts)
    ops, info = _read(model, xcal)                      # 1. read (all checks before any work)
    task = task or info.get("task") or "classify"
    folded = _fold(ops, xcal)                           # 2. fold into spiking layers
    _balance(folded, opts)                              # 3. balance thresholds on the calibration data
    timing = _align_delays(folded, opts.chip)           # 4. latency and delays
    built = _build(folded, timing, opts, info["format"])   # 5. quantize and build
    codec = _codec(built, folded, timing, opts, xcal, task, info.get("classes") if classes is None else classes)
    g = built.graph
    g.meta["codec"] = codec
    g.meta["float_snn"] = FloatSNN(folded.in_name, built.flayers, codec)
    g.meta["conversion_report"] = built.report
    for w in built.report.warnings:
        warnings.warn(w, stacklevel=2)
    return g
