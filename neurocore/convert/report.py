"""ConversionReport: what convert() did to each layer, in numbers."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from neurocore._io import register_meta_type

__all__ = ["ConversionReport", "LayerReport"]


@dataclass
class LayerReport:
    """One spiking population of a converted network.

    Attributes
    ----------
    name, type : str
        Population name; the ANN layers folded into it (e.g. ``"Conv2d+BatchNorm2d+ReLU"``).
    sources : dict[str, tuple]
        Input shape per source population (or the network input).
    shape : tuple
        Output shape (C, H, W) or (n,).
    scale : float
        Activation scale lambda (ANN value of one spike per step); the median when per channel.
    vth : int
        Threshold mantissa (``theta = vth << vth_shift`` in v units).
    weight_exp : dict[str, int]
        Table exponent per source projection.
    weight_bits_used : dict[str, int]
        Bits the largest weight mantissa needs (sign included) per projection.
    quant_error : dict[str, float]
        Relative (Frobenius) error of the quantized weights per projection.
    bias_exp : int
        Bias exponent (``bias = mant << exp``).
    bias_error : float
        Relative error of the quantized bias.
    saturated : int
        Weights and biases clipped to their widths (0 unless the layer is extreme).
    sparsity : float
        Fraction of zero ANN activations on the calibration data.
    latency : int
        First step at which input reaches this population.
    delays : dict[str, int]
        Synaptic delay per source projection (aligned so all inputs start together).
    scale_source : str
        Where ``scale`` came from: ``"percentile"`` of the calibration activations, or
        ``"qcfs"``: the trained threshold of the layer's QCFS activation.
    levels : int or None
        A QCFS layer's quantization levels L (None otherwise).
    v_init : float or None
        Initial membrane potential of this population in thresholds (before the bias offset).
    """

    name: str
    type: str
    sources: dict
    shape: tuple
    scale: float
    vth: int
    weight_exp: dict
    weight_bits_used: dict
    quant_error: dict
    bias_exp: int
    bias_error: float
    saturated: int
    sparsity: float
    latency: int
    delays: dict
    scale_source: str = "percentile"
    levels: int | None = None
    v_init: float | None = None


@register_meta_type  # saved in Graph and Program files
@dataclass
class ConversionReport:
    """Per-layer record of a conversion (``graph.meta["conversion_report"]``)."""

    format: str
    encoding: str
    decoding: str
    percentile: float
    per_channel: bool
    reset: str
    v_init: float
    in_scale: float
    input_gain: int
    layers: list[LayerReport] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def latency(self) -> int:
        """Steps before input reaches the output population."""
        return self.layers[-1].latency if self.layers else 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ConversionReport:
        d = dict(d)
        layers = [LayerReport(**{**r, "shape": tuple(r["shape"])}) for r in d.pop("layers", [])]
        return cls(**d, layers=layers)

    def table(self) -> str:
        head = (f"{'layer':<18} {'type':<30} {'shape':<14} {'scale':>8} {'vth':>6} {'exp':>8} {'bits':>5} "
                f"{'q.err':>7} {'sparsity':>8} {'lat':>4}")
        title = (f"ConversionReport ({self.format}; {self.encoding} in, {self.decoding} out; p{self.percentile}"
                 f"{' per channel' if self.per_channel else ''}; reset {self.reset}; v0 {self.v_init} theta)")
        lines = [title, head]
        for r in self.layers:
            exps = ",".join(str(e) for e in r.weight_exp.values())
            bits = max(r.weight_bits_used.values(), default=0)
            err = max(r.quant_error.values(), default=0.0)
            lines.append(f"{r.name[:18]:<18} {r.type[:30]:<30} {str(tuple(r.shape))[:14]:<14} {r.scale:>8.3g} "
                         f"{r.vth:>6} {exps[:8]:>8} {bits:>5} {err:>7.2%} {r.sparsity:>8.1%} {r.latency:>4}")
        qcfs = [f"{r.name} (lambda {r.scale:.4g}, L={r.levels})" for r in self.layers if r.scale_source == "qcfs"]
        if qcfs:
            lines.append(f"QCFS thresholds (trained, v0 = theta/2): {', '.join(qcfs)}")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()
