"""What every dense baseline prices: the dense forward pass, and the result record.

:func:`dense_workload` turns a program's per-projection layer statistics into a
:class:`DenseWorkload` (MACs and bytes per layer); each baseline model turns a
workload at one batch size into a :class:`BaselineResult`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from neurocore.energy.profiles import PRECISION_BITS, Profile
from neurocore.errors import ProfileError

__all__ = ["REGIMES", "BaselineResult", "DenseWorkload", "LayerWork", "dense_workload", "priced_term"]

#: The two regimes every baseline is evaluated in: streaming (one sample at a
#: time) and throughput (the run's whole batch at once).
REGIMES = ("batch1", "throughput")


@dataclass(frozen=True)
class LayerWork:
    """One projection of the dense network the SNN came from.

    Attributes
    ----------
    name, kind : str
        Projection name and kind (``dense``, ``conv2d``, ``sparse``, ...).
    n_src, n_dst : int
        Input and output values of one evaluation.
    macs : float
        Multiply-accumulates of one evaluation for one sample (``dense_macs``).
    n_weights : float
        Stored weights (``n_weights`` for shared conv kernels, else ``dense_macs``).
    evals : float
        Evaluations per inference: 1, or the mean timesteps when ``recurrent``.
    """

    name: str
    kind: str
    n_src: int
    n_dst: int
    macs: float
    n_weights: float
    evals: float


@dataclass(frozen=True)
class DenseWorkload:
    """The dense forward pass: its layers, and the bytes per value at ``precision``."""

    layers: tuple[LayerWork, ...]
    precision: str
    bytes_per_value: float
    notes: tuple[str, ...] = ()

    @property
    def macs(self) -> float:
        """MACs per inference (every evaluation of every layer)."""
        return float(sum(lw.macs * lw.evals for lw in self.layers))

    def weight_bytes_stored(self) -> float:
        """Bytes of all weights, stored once."""
        return float(sum(lw.n_weights for lw in self.layers)) * self.bytes_per_value

    def weight_bytes_per_inference(self, batch: int) -> float:
        """Weight traffic per inference: each evaluation reads the weights once per batch."""
        return float(sum(lw.n_weights * lw.evals for lw in self.layers)) * self.bytes_per_value / batch

    def act_bytes_per_inference(self) -> float:
        """Activation traffic per inference: inputs read and outputs written once per evaluation."""
        return float(sum((lw.n_src + lw.n_dst) * lw.evals for lw in self.layers)) * self.bytes_per_value

    def act_working_set(self, batch: int) -> float:
        """Bytes of the largest layer's input and output for the whole batch."""
        return max(((lw.n_src + lw.n_dst) * self.bytes_per_value * batch for lw in self.layers), default=0.0)


@dataclass(frozen=True)
class BaselineResult:
    """A dense baseline's energy and time per inference in one regime.

    Attributes
    ----------
    profile, model : str
        The baseline profile and its model (``memory_hierarchy``, ``roofline``,
        ``gpu``, ``measured``).
    regime : str
        ``batch1`` (streaming: samples one at a time) or ``throughput`` (the
        run's batch at once).
    batch_size : int
        Samples per forward pass in this regime.
    precision : str
    energy_per_inference_J : float or None
        Total energy per inference, J (None when the profile gives no power).
    dynamic_energy_per_inference_J : float or None
        Energy above idle per inference, J (None when no idle power is known).
    time_per_inference_s : float or None
        Wall time of one forward pass divided by ``batch_size``, s.
    latency_s : float or None
        Wall time of one forward pass of ``batch_size`` samples, s.
    lower_bound_J : float or None
        Ops x power / peak, J per inference (roofline-type models only).
    breakdown_J : dict of str to float
        Energy per inference by kind (macs, weight_reads, launch_overhead, ...).
    terms : tuple of Term
        Every priced line (count x profile entry).
    flags, notes : tuple of str
    """

    profile: str
    model: str
    regime: str
    batch_size: int
    precision: str
    energy_per_inference_J: float | None
    dynamic_energy_per_inference_J: float | None
    time_per_inference_s: float | None
    latency_s: float | None
    lower_bound_J: float | None
    breakdown_J: dict[str, float] = field(default_factory=dict)
    terms: tuple[Any, ...] = ()
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        d = dataclasses.asdict(self)
        for k in ("terms", "flags", "notes"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BaselineResult:
        """Inverse of :meth:`to_dict`."""
        from neurocore.energy._estimate import Term

        kw = dict(d)
        kw["terms"] = tuple(Term(**t) for t in d["terms"])
        kw["flags"], kw["notes"] = tuple(d["flags"]), tuple(d["notes"])
        return cls(**kw)


def dense_workload(layer_stats, timesteps: float, precision: str) -> DenseWorkload:
    """The dense forward pass of a program's projections at ``precision``.

    Parameters
    ----------
    layer_stats : sequence of LayerStats or dict
        ``Program.layers`` (or the dict form ``Program.layer_stats``): per projection ``name``, ``n_src``, ``n_dst``,
        ``dense_macs``, ``recurrent``, optional ``kind`` and ``n_weights``.
    timesteps : float
        Mean timesteps per inference; a recurrent projection is evaluated this
        many times, every other projection once.
    precision : str
        One of :data:`~neurocore.energy.profiles.PRECISION_BITS`.

    Raises
    ------
    ProfileError
        Unknown precision.
    """
    if precision not in PRECISION_BITS:
        raise ProfileError(f"precision {precision!r} is not one of {list(PRECISION_BITS)}")
    layers, guessed = [], []
    for ls in layer_stats:
        n_w = ls.get("n_weights")
        if n_w is None:
            n_w = ls["dense_macs"]
            if ls["dense_macs"] != ls["n_src"] * ls["n_dst"]:
                guessed.append(ls["name"])
        layers.append(LayerWork(name=str(ls["name"]), kind=str(ls.get("kind", "dense")), n_src=int(ls["n_src"]),
                                n_dst=int(ls["n_dst"]), macs=float(ls["dense_macs"]), n_weights=float(n_w),
                                evals=float(timesteps) if ls["recurrent"] else 1.0))
    notes = ()
    if guessed:
        notes = (f"layers {guessed}: stored dense weights unknown (conv?); dense_macs used as the weight "
                 "count, an upper bound; give layer_stats['n_weights'] to fix",)
    return DenseWorkload(layers=tuple(layers), precision=precision,
                         bytes_per_value=PRECISION_BITS[precision] / 8, notes=notes)


def priced_term(prof: Profile, counter: str, key: str, kind: str, count: float, flags: list[str],
                needed_for: str = "") -> Any:
    """``count x entry`` as a Term; an unpublished entry is priced 0 and flagged when counted."""
    from neurocore.energy._estimate import Term

    e = prof.entry(key, needed_for or f"counter '{counter}'")
    if e.unpublished:
        status = "unpublished"
        if count > 0:
            flags.append(f"'{prof.name}': {key} is unpublished; {counter} ({count:.6g} per inference) priced 0 J")
    elif e.included_in is not None:
        status = f"included_in:{e.included_in}"
    else:
        status = "priced"
    return Term(kind=kind, counter=counter, count_per_inference=count, entry=key,
                value=e.value if e.priced else None, unit=e.unit, energy_J=count * e.si, status=status)
