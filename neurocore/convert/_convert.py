"""convert(model, calibration=X) -> Graph: one front end for every ANN format.

read (format -> ops) -> fold (ops -> spiking layers) -> balance (thresholds
from calibration) -> quantize (chip widths) -> a :class:`~neurocore.Graph`
whose ``meta`` holds the codec, the float twin and the report.
"""
from __future__ import annotations

import warnings

import numpy as np

from neurocore.chip.presets import loihi
from neurocore.chip.spec import ChipSpec
from neurocore.convert._ir import Op, check_ops
from neurocore.convert.balance import activation_scale, normalize
from neurocore.convert.encode import ENCODINGS, Codec
from neurocore.convert.floatsim import FloatLayer, FloatSNN
from neurocore.convert.fold import build_layers, forward
from neurocore.convert.layers import read_layers
from neurocore.convert.onnx import is_onnx, read_onnx
from neurocore.convert.quantize import quantize_layer
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


#: (matches(model), read(model, input_shape, sample)) in the order tried.
READERS = [
    (is_sklearn_mlp, lambda m, shape, x: read_sklearn(m, shape)),
    (_is_layer_list, lambda m, shape, x: read_layers(m, shape)),
    (is_torch_module, lambda m, shape, x: read_torch(m, shape, x)),
    (is_onnx, lambda m, shape, x: read_onnx(m, shape)),
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
    chip = chip or loihi()
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
    if calibration is None:
        raise ConversionError("convert() needs calibration data (a few hundred ANN inputs) to set thresholds: "
                              "pass calibration=X_train[:500]")
    xcal = np.asarray(calibration, np.float64)
    if xcal.ndim < 2 or xcal.shape[0] < 1:
        raise ConversionError(f"calibration must be (n_samples, features...), got shape {xcal.shape}")
    if not np.all(np.isfinite(xcal)):
        raise ConversionError("calibration data contain NaN or inf")
    if encoding != "direct" and np.any(xcal < 0):
        raise ConversionError(f"encoding={encoding!r} makes spikes from non-negative inputs, but the calibration "
                              "data have negative values: use encoding='direct' or shift/scale the inputs")

    # 1. read (all checks before any work)
    ops, info = read_model(model, xcal.shape[1:], xcal)
    if not np.any(xcal):
        raise ConversionError(f"calibration data are all zero ({xcal.shape[0]} samples): thresholds and the input "
                              "scale are set from them; pass real training inputs, e.g. calibration=X_train[:500]")
    task = task or info.get("task") or "classify"
    # 2. fold into spiking layers
    in_name, in_shape, layers = build_layers(ops, output_activation="none")
    n_feat = int(np.prod(in_shape))
    if int(np.prod(xcal.shape[1:])) != n_feat:
        raise ConversionError(f"calibration samples have {int(np.prod(xcal.shape[1:]))} values; the model takes "
                              f"{in_shape}")
    out_layer = layers[-1]
    # 3. balance
    acts = forward(layers, in_name, xcal)
    in_scale = float(np.abs(acts[in_name]).max()) or 1.0
    lam = {in_name: np.full(n_feat, in_scale)}
    for la in layers:
        if la.scale is not None:  # QCFS: the trained threshold is the scale
            lam[la.name] = np.full(la.n, float(la.scale))
        else:
            lam[la.name] = activation_scale(la, acts[la.name], percentile, per_channel and la is not out_layer,
                                            decoding)
    # 4. latency and delays: every source of a population starts reaching it at the same step
    latency: dict[str, int] = {in_name: 0}
    delays: dict[str, dict[str, int]] = {}
    for la in layers:
        latency[la.name] = max(latency[s] + (0 if s == in_name else 1) for s in la.terms)
        delays[la.name] = {s: latency[la.name] - latency[s] for s in la.terms}
        if max(delays[la.name].values()) > chip.max_delay:
            raise ConversionError(f"layer '{la.name}' needs a delay of {max(delays[la.name].values())} steps to "
                                  f"align its inputs; chip '{chip.name}' allows {chip.max_delay}")
    # 5. quantize and build
    graded = encoding == "direct"
    membrane = decoding == "membrane"
    g = Graph()
    g.input(n_feat, name=in_name, graded=graded, shape=tuple(in_shape) if len(in_shape) == 3 else None)
    gain = None if graded else 1
    report = ConversionReport(info["format"], encoding, decoding, percentile, per_channel, reset, float(v_frac),
                              in_scale, 0)
    flayers = []
    vmax = (1 << (chip.v_bits - 1)) - 1
    theta_out = unit_out = 1
    v_out = float(v_frac)
    for la in layers:
        v_la = 0.5 if la.levels else float(v_frac)  # QCFS's "shift": half threshold, as trained
        terms, bias = normalize(la, lam)
        is_out = la is out_layer
        cap = None
        if is_out and membrane:
            zn = acts[la.name] / lam[la.name]
            peak = max(1.0, float(np.abs(zn).max()) * 2.0)
            cap = max(1, int((1 << (chip.v_bits - 1 - chip.vth_shift)) / (max_steps * peak)))
        q = quantize_layer(terms, bias, in_name, graded, gain, chip, vth_cap=cap)
        if q.gain is not None:
            gain = q.gain
        d = latency[la.name]
        bias_int = q.bias_mant << q.bias_exp
        v0 = np.clip(np.rint(v_la * q.theta) - d * bias_int, -vmax, vmax).astype(np.int64)
        vth = q.vth
        if is_out and membrane:
            vth = min((1 << chip.vth_bits) - 1, vmax >> chip.vth_shift)  # never reached within max_steps
        neuron = IF(vth=vth, bias_mant=q.bias_mant, bias_exp=q.bias_exp, reset=reset, v0=v0)
        pop = g.population(la.n, neuron, name=la.name, shape=tuple(la.shape))
        for s, t in la.terms.items():
            kind = t.kind if t.kind in ("dense", "conv2d") else "sparse"
            meta = dict(t.meta)
            meta.setdefault("dense_macs", int(t.matrix.nnz))
            g.connect(g[s], pop, q.weights[s], weight_exp=q.weight_exp[s], delay=delays[la.name][s],
                      name=f"{la.name}.from.{s}" if len(la.terms) > 1 else f"{la.name}.weight", kind=kind, meta=meta)
        if is_out:
            theta_out, unit_out, v_out = vth << chip.vth_shift, q.theta, v_la
        flayers.append(FloatLayer(la.name, la.n, [(s, terms[s], delays[la.name][s]) for s in la.terms], bias,
                                  float("inf") if (is_out and membrane) else 1.0, v_la - d * bias, reset))
        a = acts[la.name]
        lam_l = lam[la.name]
        report.layers.append(LayerReport(
            name=la.name, type=la.type, sources={s: tuple(np.shape(acts[s])[1:]) for s in la.terms},
            shape=tuple(la.shape), scale=float(np.median(lam_l)), vth=int(vth), weight_exp=dict(q.weight_exp),
            weight_bits_used=dict(q.weight_bits_used), quant_error=dict(q.weight_error), bias_exp=q.bias_exp,
            bias_error=q.bias_error, saturated=q.saturated,
            sparsity=float(np.mean(a <= 0)),
            latency=d, delays=dict(delays[la.name]), scale_source="qcfs" if la.levels else "percentile",
            levels=la.levels, v_init=v_la))
        if q.saturated:
            report.warnings.append(f"layer '{la.name}': {q.saturated} weight/bias value(s) clipped to the chip's "
                                   "widths")
        for s, bits in q.weight_bits_used.items():
            if 0 < bits < chip.weight_bits - 1:
                report.warnings.append(f"layer '{la.name}' from '{s}': weights use only {bits} of "
                                       f"{chip.weight_bits} bits (threshold capped by the v width)")
    report.input_gain = int(gain or 1)
    out_scale = float(np.median(lam[out_layer.name]))
    codec_cls = ENCODINGS[encoding]
    if classes is None:
        classes = info.get("classes")
    n_out = out_layer.n
    if task == "classify" and classes is not None and len(classes) != max(n_out, 2):
        raise ConversionError(f"{len(classes)} class labels for {n_out} output neuron(s)")
    codec: Codec = codec_cls(input_shape=tuple(int(i) for i in xcal.shape[1:]), in_scale=in_scale,
                             gain=int(gain or 1), graded_bits=chip.graded_bits, output=out_layer.name, n_out=n_out,
                             decoding=decoding, theta_out=int(theta_out), unit=int(unit_out), v_init=v_out,
                             latency=latency[out_layer.name], out_scale=out_scale, task=task,
                             classes=list(classes) if classes is not None else None)
    if task == "regress" and np.ptp(lam[out_layer.name]) > 0:
        raise ConversionError("a regressor's output layer must be balanced per layer (per_channel applies to "
                              "hidden layers only)")
    g.meta["codec"] = codec
    g.meta["float_snn"] = FloatSNN(in_name, flayers, codec)
    g.meta["conversion_report"] = report
    for w in report.warnings:
        warnings.warn(w, stacklevel=2)
    return g
