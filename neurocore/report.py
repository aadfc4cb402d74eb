"""Report: plain-text tables and figures of a run and its energy report.

The text helper (:func:`format_table`) needs only the standard library. The plots
need matplotlib, the optional ``plot`` extra (``pip install "neurocore[plot]"``);
it is imported inside each plotting function, so ``import neurocore.report`` works
without it, and a plot called without it raises :class:`PlotDependencyError`.

Every plot builds a :class:`matplotlib.figure.Figure` on the Agg canvas directly
(no ``pyplot``, no display, no global figure registry), returns it, and writes it
as a PNG when given ``path``.

Functions
---------
plot_energy_breakdown(report)        chip energy per inference by kind vs the dense baseline
plot_core_heatmap(result_or_program) per-core load over the board's tile mesh
plot_raster(result, population)      spike raster from a ``"spikes"`` probe
plot_vs_timesteps(rows)              accuracy and energy per inference against timesteps
save_all(result, report, out_dir)    all of the above into a folder (the CLI's ``--plot DIR``)
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from neurocore.errors import NeurocoreError

__all__ = [
    "PROGRAM_METRICS",
    "RUN_METRICS",
    "PlotDependencyError",
    "ReportError",
    "core_grid",
    "core_metric",
    "format_si",
    "format_table",
    "plot_core_heatmap",
    "plot_energy_breakdown",
    "plot_raster",
    "plot_vs_timesteps",
    "save_all",
]


class PlotDependencyError(NeurocoreError, ImportError):
    """matplotlib (the ``plot`` extra) is not installed."""


class ReportError(NeurocoreError, ValueError):
    """Bad arguments to a report: unknown metric, missing probe, empty rows, ..."""


#: Per-core metrics recorded by a run: ``core_totals`` (summed over steps), mean over the batch (per inference).
RUN_METRICS = {"synops": "synaptic ops / inference", "updates_active": "active neuron updates / inference"}
#: Per-core resources of a compiled program (``Program.core_usage()``), with the ChipSpec field of their limit.
PROGRAM_METRICS = {"neurons": ("neurons", "neurons_per_core"),
                   "axons_in": ("input axons", "axons_in_per_core"),
                   "axons_out": ("output axons", "axons_out_per_core"),
                   "synapse_bits": ("synapse memory (bits)", "syn_mem_bits_per_core")}

_KIND_ORDER = ("synaptic_ops", "memory_reads", "neuron_updates", "spike_generation", "routing", "input", "sync",
               "static", "all_in")
_BASELINE_NON_ADDITIVE = ("roofline", "lower_bound")


# ---------------------------------------------------------------------------------------------
# text
def format_si(x: float | None, unit: str = "", digits: int = 4) -> str:
    """``x`` with an SI prefix: ``format_si(1.986e-5, "J") == "19.86 µJ"``; None gives ``"-"``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x == 0:
        return f"0 {unit}".rstrip()
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"),
                           (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= factor:
            return f"{x / factor:.{digits}g} {prefix}{unit}".rstrip()
    return f"{x / 1e-15:.{digits}g} f{unit}"


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else f"{float(v):.4g}"
    return str(v)


def format_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str | tuple[str, str]] | None = None) -> str:
    """A plain aligned text table.

    Parameters
    ----------
    rows : list of dict
        One dict per row; a missing key or None prints as ``-``.
    columns : list of str or (key, header), optional
        Which keys, in order, and their headers (default: the keys of the first row).
        Ints print with thousands separators, floats with 4 significant digits;
        numbers are right-aligned, everything else left-aligned.

    Returns
    -------
    str
        Header, a rule, one line per row; no trailing newline.
    """
    if columns is None:
        columns = list(rows[0]) if rows else []
    cols = [(c, c) if isinstance(c, str) else (c[0], c[1]) for c in columns]
    cells = [[_cell(r.get(k)) for k, _ in cols] for r in rows]
    numeric = [all(isinstance(r.get(k), (int, float, np.number)) or r.get(k) is None for r in rows) and rows
               for k, _ in cols]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, (_, h) in enumerate(cols)]

    def line(items: Sequence[str]) -> str:
        return "  ".join(s.rjust(w) if num else s.ljust(w) for s, w, num in zip(items, widths, numeric)).rstrip()

    out = [line([h for _, h in cols]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# matplotlib plumbing
def _mpl():
    """Import matplotlib with the Agg backend, or say how to install it."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotDependencyError("plotting needs matplotlib, which is not installed: install neurocore[plot] "
                                  f"(pip install \"neurocore[plot]\") ({exc})") from exc
    return matplotlib, Figure, FigureCanvasAgg


def _figure(figsize: tuple[float, float]):
    _, Figure, FigureCanvasAgg = _mpl()
    fig = Figure(figsize=figsize, dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | os.PathLike | None) -> None:
    if path is not None:
        from neurocore._io import atomic_path

        d = os.path.dirname(os.fspath(path))
        if d:
            os.makedirs(d, exist_ok=True)
        with atomic_path(path, "plot") as tmp:  # a failed save leaves no partial PNG behind
            fig.savefig(tmp, format="png")


def _get(report: Any, key: str, default: Any = None) -> Any:
    if isinstance(report, Mapping):
        return report.get(key, default)
    return getattr(report, key, default)


# ---------------------------------------------------------------------------------------------
# 1. energy breakdown
def _kind_notes(report: Any) -> dict[str, str]:
    """Why a breakdown kind is 0 J: its terms' statuses (unpublished / included in another entry)."""
    out: dict[str, list[str]] = {}
    for t in _get(report, "terms", ()) or ():
        kind, status, entry = _get(t, "kind"), _get(t, "status", "priced"), _get(t, "entry")
        if status == "unpublished":
            out.setdefault(kind, []).append(f"{entry} unpublished")
        elif str(status).startswith("included_in:"):
            out.setdefault(kind, []).append(f"in {status.split(':', 1)[1]}")
    return {k: ", ".join(v) for k, v in out.items()}


def plot_energy_breakdown(report: Any, path: str | os.PathLike | None = None):
    """Chip energy per inference, broken down by kind, against the dense baseline.

    Top panel: the chip's total (stacked by kind on a linear axis), its dynamic part alone
    when a static term is charged, the baseline's
    energy per inference (stacked by its kinds where they add up) and the baseline's
    per-op lower bound; the axis is logarithmic when these differ by more than 100x.
    Bottom panel: the chip's breakdown by kind with its share of the total; a kind
    priced 0 J says why (unpublished, or included in another entry).

    Parameters
    ----------
    report : EnergyReport or its ``to_dict()``
    path : str or path-like, optional
        Write the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    mpl = _mpl()[0]
    chip_e = float(_get(report, "energy_per_inference_J"))
    breakdown = dict(_get(report, "breakdown_J") or {})
    kinds = sorted(breakdown, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else len(_KIND_ORDER), k))
    cmap = mpl.colormaps["tab10"]
    colors = {k: cmap(i % 10) for i, k in enumerate(kinds)}
    totals = _energy_totals(report, chip_e)
    fig = _figure((9.0, 2.2 + 0.42 * (len(totals) + len(kinds))))
    ax_t, ax_b = fig.subplots(2, 1, height_ratios=[len(totals) + 0.6, len(kinds) + 0.6])
    _totals_panel(ax_t, report, totals, breakdown, kinds, colors, mpl.colormaps["Pastel1"])
    _breakdown_panel(ax_b, report, chip_e, breakdown, kinds, colors)
    fig.suptitle(_energy_title(report, chip_e), fontsize=11)
    _save(fig, path)
    return fig


def _energy_totals(report: Any, chip_e: float) -> list[tuple[str, float]]:
    """The top panel's bars: (label, J per inference) for the chip, its dynamic part, the baseline, its bound."""
    base_name, prec = _get(report, "baseline_profile"), _get(report, "baseline_precision")
    base_e, lower = _get(report, "baseline_energy_per_inference_J"), _get(report, "baseline_energy_lower_bound_J")
    totals = [(f"chip: {_get(report, 'chip_profile')}", chip_e)]
    dyn, static = _get(report, "dynamic_energy_J"), _get(report, "static_energy_J")
    if dyn is not None and static:  # the dynamic part on its own bar: the static attribution is an option
        totals.append((f"dynamic only (static '{_get(report, 'static_model')}' left out)", float(dyn)))
    if base_name is not None and base_e is not None:
        totals.append((f"baseline: {base_name} ({prec})", float(base_e)))
    if base_name is not None and lower is not None:
        totals.append(("baseline lower bound\n(ops x power / peak)", float(lower)))
    return totals


def _totals_panel(ax, report: Any, totals, breakdown: dict, kinds: list, colors: dict, base_cmap) -> None:
    """Top panel: the totals, stacked by kind on a linear axis; log scale when they differ by more than 100x."""
    base_name = _get(report, "baseline_profile")
    base_parts = {k: float(v) for k, v in (_get(report, "baseline_breakdown_J") or {}).items()
                  if k not in _BASELINE_NON_ADDITIVE}
    chip_e = totals[0][1]
    positive = [v for _, v in totals if v > 0]
    log = len(positive) > 1 and max(positive) / min(positive) > 100
    ys = np.arange(len(totals))[::-1]
    vmax = max(positive) if positive else 1.0
    for (label, value), y in zip(totals, ys):
        if label.startswith("chip") and not log and chip_e > 0:
            left = 0.0
            for k in kinds:
                ax.barh(y, breakdown[k], left=left, color=colors[k], height=0.6)
                left += breakdown[k]
        elif label.startswith("baseline:") and not log and base_parts:
            left = 0.0
            for i, (k, v) in enumerate(base_parts.items()):
                ax.barh(y, v, left=left, color=base_cmap(i % 9), height=0.6, edgecolor="0.5", label=k.replace("_", " "))
                left += v
        else:
            color = "tab:blue" if label.startswith("chip") else ("0.55" if label.startswith("baseline:") else "0.8")
            ax.barh(y, value, color=color, height=0.6, edgecolor="0.4")
        ax.text(value * 1.15 if log else value + 0.01 * vmax, y, format_si(value, "J"), va="center", fontsize=9)
    ax.set_yticks(ys, [lab for lab, _ in totals])
    if log:
        ax.set_xscale("log")
        ax.set_xlim(min(positive) / 3, max(positive) * 12)
        ax.set_xlabel("energy per inference (J, log scale)")
    else:
        ax.set_xlim(0, vmax * 1.25)
        ax.set_xlabel("energy per inference (J)")
    if not log and base_parts:
        ax.legend(title=f"{base_name} by kind", fontsize=8, title_fontsize=8, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False)
    _eng_axis(ax.xaxis, "J")
    ax.grid(axis="x", alpha=0.3)


def _breakdown_panel(ax, report: Any, chip_e: float, breakdown: dict, kinds: list, colors: dict) -> None:
    """Bottom panel: the chip's energy by kind with its share; a kind priced 0 J says why."""
    notes = _kind_notes(report)
    yb = np.arange(len(kinds))[::-1]
    bmax = max([breakdown[k] for k in kinds] + [0.0]) or 1.0
    for k, y in zip(kinds, yb):
        v = breakdown[k]
        ax.barh(y, v, color=colors[k], height=0.6)
        share = f"{100 * v / chip_e:.1f} %" if chip_e else ""
        text = f"{format_si(v, 'J')}  {share}"
        if v == 0 and k in notes:
            text = f"0 J  ({notes[k]})"
        ax.text(v + 0.01 * bmax, y, text, va="center", fontsize=8.5)
    ax.set_yticks(yb, [k.replace("_", " ") for k in kinds])
    ax.set_xlim(0, bmax * 1.6)
    ax.set_xlabel(f"chip energy per inference by kind (J); total {format_si(chip_e, 'J')}")
    _eng_axis(ax.xaxis, "J")
    ax.grid(axis="x", alpha=0.3)


def _energy_title(report: Any, chip_e: float) -> str:
    base_name, prec = _get(report, "baseline_profile"), _get(report, "baseline_precision")
    base_e, lower = _get(report, "baseline_energy_per_inference_J"), _get(report, "baseline_energy_lower_bound_J")
    base_txt = f" vs baseline '{base_name}' ({prec})" if base_name is not None else ""
    ratios = [f"chip / {what} = {_ratio(chip_e, other)}" for what, other in (("baseline", base_e),
                                                                               ("lower bound", lower))
              if other]
    return (f"Energy per inference: chip '{_get(report, 'chip_profile')}' ({_get(report, 'chip_scope')}){base_txt}\n"
            f"batch {_get(report, 'batch_size')}, {_get(report, 'n_steps')} steps, "
            f"{_get(report, 'n_chips_used')} chip(s)" + "".join(f"; {r}" for r in ratios))


def _ratio(a: float, b: float) -> str:
    r = a / float(b)
    return f"{r:,.0f}x" if r >= 100 else f"{r:.3g}x"


def _eng_axis(axis, unit: str) -> None:
    from matplotlib.ticker import EngFormatter

    if axis.get_scale() == "log":
        axis.set_major_formatter(EngFormatter(unit=unit, places=0))
    else:
        axis.set_major_formatter(EngFormatter(unit=unit))


# ---------------------------------------------------------------------------------------------
# 2. per-core heat map
def _program_of(result_or_program: Any):
    from neurocore.mapping.program import Program

    if isinstance(result_or_program, Program):
        return result_or_program, None
    prog = getattr(result_or_program, "program", None)
    if not isinstance(prog, Program):
        raise ReportError(f"expected a RunResult or a Program, got {type(result_or_program).__name__}")
    return prog, result_or_program


def core_metric(result_or_program: Any, metric: str = "synops", relative: bool = False) -> NDArray[np.float64]:
    """One value per used core slot (in ``program.core_ids`` order).

    Parameters
    ----------
    result_or_program : RunResult or Program
    metric : str
        A run metric (``RUN_METRICS``: ``synops``, ``updates_active``; ``core_steps``
        summed over steps, mean over the batch, i.e. per inference; needs a RunResult)
        or a program metric (``PROGRAM_METRICS``: ``neurons``, ``axons_in``,
        ``axons_out``, ``synapse_bits``; from ``Program.core_usage()``).
    relative : bool
        Program metrics only: the fraction (0..1) of the chip's per-core limit.

    Returns
    -------
    (n_cores_used,) float64
    """
    prog, result = _program_of(result_or_program)
    if metric in RUN_METRICS:
        if result is None:
            raise ReportError(f"metric '{metric}' is counted by a run: pass the RunResult "
                              "(nc.Simulator(program).run(...)), not the Program")
        if relative:
            raise ReportError(f"relative=True needs a per-core limit; '{metric}' has none (use one of "
                              f"{list(PROGRAM_METRICS)})")
        totals = np.asarray(result.core_totals[metric], dtype=np.float64)  # (batch, cores), summed over steps
        return totals.mean(axis=0) if totals.shape[0] else np.zeros(prog.n_cores_used)
    if metric in PROGRAM_METRICS:
        v = np.asarray(prog.core_usage()[metric], dtype=np.float64)
        return v / getattr(prog.chip, PROGRAM_METRICS[metric][1]) if relative else v
    raise ReportError(f"unknown core metric {metric!r}; choose from {list(RUN_METRICS) + list(PROGRAM_METRICS)}")


def _subgrid(cores_per_tile: int) -> tuple[int, int]:
    """(columns, rows) of the sub-grid that draws one tile's cores: 4 -> 2 x 2, 2 -> 2 x 1, 1 -> 1 x 1."""
    sx = math.ceil(math.sqrt(cores_per_tile))
    return sx, math.ceil(cores_per_tile / sx)


def core_grid(program: Any, values: Sequence[float]) -> np.ma.MaskedArray:
    """Place per-core-slot ``values`` on the board: a (mesh_y * sy, mesh_x * sx) masked array.

    Each tile is an ``sx x sy`` block of cells (see ``_subgrid``), core ``i`` of a tile
    at column ``i % sx``, row ``i // sx`` of its block; row 0 is tile y = 0 (draw with
    ``origin="lower"``). Cores the program does not use are masked.
    """
    chip = program.chip
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (program.n_cores_used,):
        raise ReportError(f"values have shape {values.shape}; expected one per used core ({program.n_cores_used},)")
    sx, sy = _subgrid(chip.cores_per_tile)
    grid = np.full((chip.mesh_y * sy, chip.mesh_x * sx), np.nan)
    for slot, core in enumerate(np.asarray(program.core_ids)):
        tx, ty = chip.core_xy(int(core))
        local = int(core) % chip.cores_per_tile
        grid[ty * sy + local // sx, tx * sx + local % sx] = values[slot]
    return np.ma.masked_invalid(grid)


def _compact(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) < 1:
        return f"{v:.2g}"
    return format_si(v, digits=3).replace(" ", "")


def _percent(frac: float) -> str:
    p = 100 * frac
    return "0%" if p == 0 else (f"{p:.0f}%" if p >= 10 else f"{p:.2g}%")


def _heatmap_scale(prog: Any, result_or_program: Any, metric: str, relative: bool,
                   values: NDArray[np.float64]) -> tuple[float, str]:
    """(top of the colour scale, what it is): the per-core limit where the metric has one.

    Program metrics scale to the chip's per-core limit (1.0 when ``relative``), active neuron
    updates to a full core updating every neuron every step; synaptic ops have no per-core
    limit, so they scale to the busiest core, and the colour bar says so.
    """
    if metric in PROGRAM_METRICS:
        limit = getattr(prog.chip, PROGRAM_METRICS[metric][1])
        return (1.0 if relative else float(limit)), f"colour scale: 0 to the per-core limit ({limit:,})"
    if metric == "updates_active":
        cap = float(prog.chip.neurons_per_core * max(1, int(getattr(result_or_program, "n_steps", 1))))
        return cap, f"colour scale: 0 to a full core active every step ({cap:,.0f})"
    top = float(values.max()) if values.size and values.max() > 0 else 1.0
    return top, "colour scale: 0 to the busiest core (no per-core limit)"


def plot_core_heatmap(result_or_program: Any, metric: str = "synops", path: str | os.PathLike | None = None,
                      relative: bool = False, annotate: bool | None = None):
    """Per-core load as a heat map over the board's tile mesh.

    The board is ``mesh_x x mesh_y`` tiles (``tiles_x * chips_x`` by ``tiles_y * chips_y``);
    a tile with several cores is drawn as a small sub-grid of them (2 x 2 for 4 cores).
    Unused cores are left blank (light grey), tile boundaries are white and chip
    boundaries black. The image's data is :func:`core_grid` of :func:`core_metric`. The colour
    scale runs from 0 to the per-core limit (neurons, axons, synapse memory; for active
    neuron updates, every neuron of a full core every step), so a core at 12 % of its memory
    looks 12 % full; synaptic ops, which have no per-core limit, scale to the busiest core.

    Parameters
    ----------
    result_or_program : RunResult or Program
    metric : str
        See :func:`core_metric`.
    path : str or path-like, optional
        Write the figure there as PNG.
    relative : bool
        Program metrics as a fraction of the per-core limit.
    annotate : bool, optional
        Print each used core's value in its cell (default: when the mesh is small).

    Returns
    -------
    matplotlib.figure.Figure
    """
    mpl = _mpl()[0]
    prog, _ = _program_of(result_or_program)
    values = core_metric(result_or_program, metric, relative)
    chip = prog.chip
    grid = core_grid(prog, values)
    mx, my = chip.mesh_x, chip.mesh_y
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#e8e8e8")
    aspect_w = min(12.0, max(6.5, 0.7 * mx + 3.5))
    aspect_h = min(10.0, max(3.0, aspect_w * my / mx * 0.85 + 1.2))
    fig = _figure((aspect_w, aspect_h))
    ax = fig.subplots()
    vmax, scale_note = _heatmap_scale(prog, result_or_program, metric, relative, values)
    im = ax.imshow(grid, origin="lower", cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest",
                   extent=(-0.5, mx - 0.5, -0.5, my - 0.5), aspect="equal")
    _grid_lines(ax, chip)
    if annotate is None:
        annotate = prog.n_cores_used <= 64 and grid.size <= 1024
    if annotate:
        _annotate_cores(ax, prog, values, relative, im.norm)
    _heatmap_axes(ax, mx, my)
    label = _heatmap_label(metric, relative)
    _heatmap_colorbar(fig, ax, im, f"{label}\n{scale_note}", relative, vmax, my / mx)
    ax.set_title(_heatmap_title(prog, values, metric, relative, label), fontsize=10)
    _save(fig, path)
    return fig


def _grid_lines(ax, chip) -> None:
    """Core (thin) and tile (thick) boundaries in white, skipped where denser than the pixels; chips in black."""
    sx, sy = _subgrid(chip.cores_per_tile)
    mx, my = chip.mesh_x, chip.mesh_y
    if mx * sx <= 96 and my * sy <= 96:
        if sx > 1 or sy > 1:
            for i in range(mx * sx + 1):
                ax.axvline(-0.5 + i / sx, color="white", lw=0.4)
            for j in range(my * sy + 1):
                ax.axhline(-0.5 + j / sy, color="white", lw=0.4)
        lw = 1.8 if max(mx, my) <= 16 else (1.0 if max(mx, my) <= 32 else 0.5)
        for i in range(mx + 1):
            ax.axvline(i - 0.5, color="white", lw=lw)
        for j in range(my + 1):
            ax.axhline(j - 0.5, color="white", lw=lw)
    if chip.n_chips > 1:
        for i in range(chip.chips_x + 1):
            ax.axvline(i * chip.tiles_x - 0.5, color="black", lw=2.2)
        for j in range(chip.chips_y + 1):
            ax.axhline(j * chip.tiles_y - 0.5, color="black", lw=2.2)


def _annotate_cores(ax, prog: Any, values: NDArray, relative: bool, norm) -> None:
    """Each used core's value printed in its cell (dark text on bright cells)."""
    chip = prog.chip
    sx, sy = _subgrid(chip.cores_per_tile)
    for slot, core in enumerate(np.asarray(prog.core_ids)):
        tx, ty = chip.core_xy(int(core))
        local = int(core) % chip.cores_per_tile
        cx = tx - 0.5 + (local % sx + 0.5) / sx
        cy = ty - 0.5 + (local // sx + 0.5) / sy
        v = values[slot]
        txt = _percent(v) if relative else _compact(v)
        ax.text(cx, cy, txt, ha="center", va="center", fontsize=6.5 if sx > 1 else 8,
                color="black" if norm(v) > 0.6 else "white")


def _heatmap_axes(ax, mx: int, my: int) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(mx, 16)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(my, 16)))
    ax.set_xlabel("tile x")
    ax.set_ylabel("tile y")
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)


def _heatmap_label(metric: str, relative: bool) -> str:
    if metric in RUN_METRICS:
        return RUN_METRICS[metric]
    label = PROGRAM_METRICS[metric][0]
    return label.split(" (")[0] + " (% of the core limit)" if relative else label


def _heatmap_colorbar(fig, ax, im, label: str, relative: bool, vmax: float, ratio: float) -> None:
    from matplotlib.ticker import EngFormatter, PercentFormatter

    cbar = fig.colorbar(im, ax=ax, shrink=min(0.9, max(0.45, ratio * 1.2)), pad=0.02)
    cbar.set_label(label, fontsize=8)
    if relative:
        cbar.ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    elif vmax >= 1e4:
        cbar.ax.yaxis.set_major_formatter(EngFormatter())


def _heatmap_title(prog: Any, values: NDArray, metric: str, relative: bool, label: str) -> str:
    chip = prog.chip
    sx, sy = _subgrid(chip.cores_per_tile)
    layout = f"{chip.mesh_x} x {chip.mesh_y} tiles" + (f" of {sx} x {sy} cores" if chip.cores_per_tile > 1 else "")
    if chip.n_chips > 1:
        layout += f", {chip.chips_x} x {chip.chips_y} chips"
    extra = ""
    if metric in PROGRAM_METRICS and not relative:
        limit = getattr(chip, PROGRAM_METRICS[metric][1])
        extra = f"; max {int(values.max()) if values.size else 0:,} of {limit:,} per core"
    return (f"Per-core {label} on '{chip.name}'\n{prog.n_cores_used} of {chip.n_cores} cores used "
            f"({layout}; grey: unused){extra}")


# ---------------------------------------------------------------------------------------------
# 3. raster
def _spike_probe(result: Any, population: str) -> NDArray:
    pops = getattr(result.program, "populations", {})
    if population not in pops:
        raise ReportError(f"unknown population {population!r}; populations are {list(pops)}")
    rec = (getattr(result, "probes", None) or {}).get(population, {})
    if "spikes" not in rec:
        recorded = {p: list(v) for p, v in (result.probes or {}).items()}
        raise ReportError(f"no 'spikes' probe of population {population!r} in this run (recorded: "
                          f"{recorded or 'nothing'}); record it with nc.Simulator(program).run(inputs, n_steps, "
                          f"probes={{{population!r}: ['spikes']}})")
    return np.asarray(rec["spikes"])


#: Populations above this many neurons are drawn as a density image (neurons binned per row).
RASTER_MAX_ROWS = 512


def _raster_density(ax, fig, s: NDArray) -> str:
    """Spikes of a (T, n) population binned into at most RASTER_MAX_ROWS rows of k neurons each."""
    T, n = s.shape
    k = -(-n // RASTER_MAX_ROWS)
    rows = -(-n // k)
    padded = np.zeros((T, rows * k), np.float64)
    padded[:, :n] = s
    density = padded.reshape(T, rows, k).sum(axis=2) / np.minimum(k, n - np.arange(rows) * k)  # (T, rows)
    im = ax.imshow(density.T, origin="lower", aspect="auto", cmap="Greys", vmin=0, vmax=1, interpolation="nearest",
                   extent=(-0.5, T - 0.5, -0.5, rows * k - 0.5))
    cbar = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.04)
    cbar.set_label(f"fraction of {k} neurons spiking", fontsize=8)
    return f"density: {k} neurons per row"


def plot_raster(result: Any, population: str, sample: int = 0, path: str | os.PathLike | None = None):
    """Spike raster of one population for one sample of the batch.

    Needs a ``"spikes"`` probe of that population: run with
    ``probes={population: ["spikes"]}``. Top panel: the population's spikes per step. A
    population of more than :data:`RASTER_MAX_ROWS` neurons is drawn as a density image
    (the fraction of each row's k neurons that spike in each step), so a large, busy
    population stays readable instead of becoming a solid wall of markers.

    Parameters
    ----------
    result : RunResult
    population : str
    sample : int
        Index into the batch.
    path : str or path-like, optional
        Write the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ReportError
        Unknown population, no spike probe of it, or ``sample`` outside the batch.
    """
    _mpl()
    spikes = _spike_probe(result, population)
    if not isinstance(sample, (int, np.integer)) or not 0 <= sample < spikes.shape[0]:
        raise ReportError(f"sample {sample!r} is outside the batch of {spikes.shape[0]}")
    s = spikes[sample]  # (T, n)
    T, n = s.shape
    n_spikes = int(np.count_nonzero(s))
    fig = _figure((9.0, 5.5))
    ax_h, ax_r = fig.subplots(2, 1, sharex=True, height_ratios=[1, 3.2])
    ax_h.bar(np.arange(T), s.sum(axis=1), width=0.9 if T <= 200 else 1.0, color="0.35")
    ax_h.set_ylabel("spikes / step")
    ax_h.grid(axis="y", alpha=0.3)
    if n > RASTER_MAX_ROWS:  # one marker row per neuron would merge into a solid wall: draw density
        how = _raster_density(ax_r, fig, s)
    else:
        t_idx, n_idx = np.nonzero(s)
        ms = max(1.5, min(8.0, 300.0 / max(n, 1)))
        mew = max(0.6, min(3.0, 400.0 / max(T, 1)))
        ax_r.plot(t_idx, n_idx, linestyle="none", marker="|", markersize=ms, markeredgewidth=mew, color="black",
                  rasterized=t_idx.size > 20_000)
        how = "one row per neuron"
    ax_r.set_xlim(-0.5, T - 0.5)
    ax_r.set_ylim(-0.5, n - 0.5)
    ax_r.set_xlabel("timestep")
    ax_r.set_ylabel(f"neuron (index in '{population}')")
    rate = n_spikes / (T * n) if T * n else 0.0
    fig.suptitle(f"Spike raster: '{population}', sample {sample} ({how})\n{n} neurons, {T} steps, {n_spikes:,} "
                 f"spikes ({rate:.3g} spikes / neuron / step)", fontsize=11)
    _save(fig, path)
    return fig


# ---------------------------------------------------------------------------------------------
# 4. sweep over timesteps
def plot_vs_timesteps(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike | None = None):
    """Accuracy and energy per inference against timesteps, in two panels.

    Parameters
    ----------
    rows : list of dict
        Each with ``n_steps``, ``accuracy`` (fraction 0..1, or None) and
        ``energy_per_inference_J``. Optional: ``label`` (one line per label, e.g. the
        weight bits of a sweep), ``ann_accuracy`` (drawn as a horizontal line) and
        ``baseline_energy_per_inference_J`` (drawn dashed in the energy panel).
    path : str or path-like, optional
        Write the figure there as PNG.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _mpl()
    if not rows:
        raise ReportError("plot_vs_timesteps needs at least one row {'n_steps', 'accuracy', "
                          "'energy_per_inference_J'}")
    for i, r in enumerate(rows):
        missing = [k for k in ("n_steps", "accuracy", "energy_per_inference_J") if k not in r]
        if missing:
            raise ReportError(f"row {i} lacks {missing}; each row needs 'n_steps', 'accuracy' and "
                              "'energy_per_inference_J'")
    groups: dict[Any, list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get("label"), []).append(r)
    fig = _figure((7.5, 6.0))
    ax_a, ax_e = fig.subplots(2, 1, sharex=True)
    energies = []
    for i, (label, rs) in enumerate(groups.items()):
        energies += _sweep_lines(ax_a, ax_e, sorted(rs, key=lambda r: r["n_steps"]), f"C{i % 10}",
                                 None if label is None else str(label))
    _accuracy_panel(ax_a, rows)
    _energy_panel(ax_e, rows, energies)
    fig.suptitle("Accuracy and energy per inference vs timesteps", fontsize=11)
    _save(fig, path)
    return fig


def _sweep_lines(ax_a, ax_e, rs: list, color: str, name: str | None) -> list[float]:
    """One group's accuracy, energy and (dashed) baseline lines; returns the energies drawn."""
    pts = [(r["n_steps"], float(r["accuracy"])) for r in rs if r["accuracy"] is not None]
    if pts:
        ax_a.plot(*zip(*pts), marker="o", color=color, label=name)
    energies = []
    pts = [(r["n_steps"], float(r["energy_per_inference_J"])) for r in rs if r["energy_per_inference_J"] is not None]
    if pts:
        ax_e.plot(*zip(*pts), marker="o", color=color, label=(name or "chip"))
        energies += [e for _, e in pts]
    base = [(r["n_steps"], float(r["baseline_energy_per_inference_J"])) for r in rs
            if r.get("baseline_energy_per_inference_J") is not None]
    if base:
        ax_e.plot(*zip(*base), linestyle="--", color=color, alpha=0.7,
                  label="dense baseline" + (f" ({name})" if name else ""))
        energies += [e for _, e in base]
    return energies


def _accuracy_panel(ax, rows) -> None:
    """ANN accuracy lines, labels, percent axis when every accuracy is a fraction, a note when there is none."""
    from matplotlib.ticker import PercentFormatter

    accs = [float(r["accuracy"]) for r in rows if r["accuracy"] is not None]
    anns = sorted({float(r["ann_accuracy"]) for r in rows if r.get("ann_accuracy") is not None})
    for j, a in enumerate(anns):
        ax.axhline(a, color="0.3", linestyle=":", label="ANN accuracy" if j == 0 else None)
    ax.set_ylabel("accuracy")
    if not accs and not anns:
        ax.text(0.5, 0.5, "no accuracy in these rows (run without labels?)", transform=ax.transAxes,
                ha="center", va="center", color="0.4")
        ax.set_yticks([])
    if all(0 <= a <= 1 for a in accs + anns) and (accs or anns):
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


def _energy_panel(ax, rows, energies: list[float]) -> None:
    """Log energy axis when the energies differ by more than 100x; the step counts as ticks when few."""
    from matplotlib.ticker import EngFormatter, MaxNLocator

    pos = [e for e in energies if e > 0]
    if len(pos) > 1 and max(pos) / min(pos) > 100:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(EngFormatter(unit="J", places=0))
    else:
        ax.yaxis.set_major_formatter(EngFormatter(unit="J"))
    ax.set_ylabel("energy per inference")
    ax.set_xlabel("timesteps per inference")
    steps = sorted({int(r["n_steps"]) for r in rows})
    if len(steps) <= 12:
        ax.set_xticks(steps)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)


# ---------------------------------------------------------------------------------------------
# 5. everything
def save_all(result: Any, report: Any, out_dir: str | os.PathLike, rows: Sequence[Mapping[str, Any]] | None = None,
             population: str | None = None) -> list[str]:
    """Write every plot that the inputs allow into ``out_dir`` (created if needed).

    Writes ``energy_breakdown.png`` (when ``report`` is given),
    ``core_synops.png`` and ``core_neurons.png`` and ``core_synapse_bits.png`` (when
    ``result`` is given), ``raster_<population>.png`` (for ``population``, or else the
    first population with a ``"spikes"`` probe, if any) and ``vs_timesteps.png`` (when
    ``rows`` are given).

    Returns
    -------
    list of str
        The paths written, in that order.
    """
    _mpl()
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []

    def out(name: str) -> str:
        p = os.path.join(os.fspath(out_dir), name)
        written.append(p)
        return p

    if report is not None:
        plot_energy_breakdown(report, out("energy_breakdown.png"))
    if result is not None:
        for metric in ("synops", "neurons", "synapse_bits"):
            plot_core_heatmap(result, metric, out(f"core_{metric}.png"))
        pop = population
        if pop is None:
            pop = next((p for p, v in (result.probes or {}).items() if "spikes" in v), None)
        if pop is not None:
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in pop)
            plot_raster(result, pop, 0, out(f"raster_{safe}.png"))
    if rows:
        plot_vs_timesteps(rows, out("vs_timesteps.png"))
    return written
