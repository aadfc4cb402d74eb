"""The ``neurocore`` command: demo, convert, compile, run, report, profiles, sweep.

Exit codes: 0 success; 1 a neurocore error (bad model, does not fit, corrupt
file, ...), with the error's message on stderr; 2 bad command-line arguments.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["main"]

#: Names that moved out of the CLI module -> (module, name) they live in now.
_MOVED = {"CHIP_PROFILE": ("neurocore.chip.presets", "DEFAULT_PROFILE"),
          "run_batched": ("neurocore.batching", "run_batched")}


def __getattr__(name: str):
    if name in _MOVED:
        import importlib
        import warnings

        module, new = _MOVED[name]
        warnings.warn(f"neurocore.cli.{name} moved: use {module}.{new}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), new)
    raise AttributeError(f"module 'neurocore.cli' has no attribute {name!r}")


def _chip(name: str):
    from neurocore import chip

    return chip.get(name)  # argparse has already checked the name against the presets


def _usage_error(msg: str) -> int:
    print(f"neurocore: error: {msg}", file=sys.stderr)
    return 2


def _load_array(path: str, what: str) -> np.ndarray:
    from neurocore.errors import FileFormatError

    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{what} file '{p}' does not exist")
    try:
        if p.suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                if len(z.files) != 1:
                    raise FileFormatError(f"{what} file '{p}' holds {len(z.files)} arrays ({z.files}); give one .npy")
                return z[z.files[0]]
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise FileFormatError(f"{what} file '{p}' is not a readable .npy/.npz array: {exc}") from None


# ---- subcommands ------------------------------------------------------------------
def cmd_demo(args) -> int:
    from neurocore.demo import run_demo

    run_demo(steps=args.steps, chip_name=args.chip, plot_dir=args.plot, json_path=args.json, seed=args.seed,
             out=sys.stdout)
    return 0


def load_model(path: str, trust: bool = False, arch=None):
    """A trained model from a file (see :func:`neurocore.convert.files.load_model`): pickles
    (``.pkl``, whole-module ``.pt``) only with ``trust=True``, since they run code when loaded."""
    from neurocore.convert.files import load_model as _load

    return _load(path, trust=trust, arch=arch)


def cmd_convert(args) -> int:
    from neurocore.convert import convert

    model = load_model(args.model, trust=args.trust, arch=args.arch)
    cal = _load_array(args.calibration, "calibration")
    graph = convert(model, calibration=cal, chip=_chip(args.chip), encoding=args.encoding,
                    percentile=args.percentile)
    graph.save(args.output)
    print(graph.summary())
    if "conversion_report" in graph.meta:
        print(graph.meta["conversion_report"])
    print(f"wrote {args.output}")
    return 0


def cmd_compile(args) -> int:
    import neurocore as nc

    graph = nc.Graph.load(args.graph)
    t0 = time.perf_counter()
    options = {"conv_storage": args.conv_storage, "seed": args.seed}
    if args.placement:
        options["placement"] = args.placement
    program = nc.compile(graph, _chip(args.chip), **options)
    print(program.summary())
    print(f"compiled in {time.perf_counter() - t0:.2f} s")
    program.save(args.output)
    print(f"wrote {args.output}")
    return 0


def _check_cli_labels(program, y: np.ndarray, batch: int) -> np.ndarray:
    """Labels checked before the run (shape, length, integer values), as RunResult.accuracy checks them."""
    from neurocore.errors import SimulationError
    from neurocore.sim import check_labels

    codec = program.codec
    if codec is None:
        raise SimulationError("--labels needs a converted program (one with a codec, from `neurocore convert`); "
                              "this one has no predictions to compare")
    classes = np.asarray(codec.classes if codec.classes is not None else [0])
    return check_labels(y, batch, classes if codec.task == "classify" else np.zeros(1))


def cmd_run(args) -> int:
    import neurocore as nc

    program = nc.Program.load(args.program)
    x = _load_array(args.inputs, "inputs")
    if program.codec is None and x.ndim == 3 and x.shape[1] != args.steps:
        from neurocore.errors import SimulationError

        raise SimulationError(f"inputs file '{args.inputs}' has shape {x.shape} (batch, steps, channels): "
                              f"{x.shape[1]} steps, but --steps is {args.steps}; pass --steps {x.shape[1]}")
    y = _check_cli_labels(program, _load_array(args.labels, "labels"), len(x)) if args.labels else None
    sim = nc.Simulator(program)
    t0 = time.perf_counter()
    from neurocore.batching import run_batched

    stop = (None if args.stop_margin is None else
            nc.StopRule(margin=args.stop_margin, min_steps=args.stop_min_steps, population=args.stop_population))
    result = run_batched(sim, x, args.steps, n_threads=args.threads, seed=args.seed, stop=stop)
    wall = time.perf_counter() - t0
    if stop is not None:
        print(f"early stop ({stop.margin}-spike margin from step {stop.min_steps}): mean "
              f"{result.steps.mean():.2f} of {args.steps} steps")
    if y is not None:
        result.meta["accuracy"] = result.accuracy(y)
    print(result.summary())
    if "accuracy" in result.meta:
        print(f"  accuracy               {result.meta['accuracy']:.4f}")
    print(f"simulated {result.batch_size} sample(s) x {args.steps} steps in {wall:.2f} s")
    result.save(args.output)
    print(f"wrote {args.output}")
    return 0


def cmd_report(args) -> int:
    import neurocore as nc
    from neurocore.energy import estimate

    result = nc.RunResult.load(args.result)
    from neurocore.chip.presets import DEFAULT_PROFILE

    profile = args.profile or DEFAULT_PROFILE.get(result.program.chip.name, "loihi")
    report = estimate(result, chip=profile, baseline=args.baseline if len(args.baseline) > 1 else args.baseline[0],
                      static=args.static, timing=args.timing)
    print(report.table())
    if args.json:
        from neurocore._io import atomic_write

        atomic_write(args.json, report.to_json(), "--json")
        print(f"wrote {args.json}")
    if args.plot:
        from neurocore.report import save_all

        for p in save_all(result, report, args.plot):
            print(f"wrote {p}")
    return 0


def cmd_check(args) -> int:
    from neurocore.validate import check_file

    obj = check_file(args.file)
    print(f"{args.file}: valid ({obj!r})")
    return 0


def cmd_profiles(args) -> int:
    from neurocore.energy import list_profiles, load_profile

    if not args.name:
        for name in list_profiles():
            prof = load_profile(name)
            print(f"{name:<20} {prof.kind:<6} {prof.scope:<9} {prof.description.splitlines()[0] if prof.description else ''}")
        return 0
    prof = load_profile(args.name)
    print(f"{prof.name} ({prof.kind}, scope {prof.scope})")
    if prof.description:
        print(prof.description)
    for key, e in prof.entries.items():
        val = "unpublished" if e.unpublished else (f"in {e.included_in}" if e.included_in else f"{e.value} {e.unit}")
        print(f"  {key:<28} {val:<20} {e.source}")
    for c in prof.citations:
        print(f"  [{c}]" if isinstance(c, str) else f"  {json.dumps(c)}")
    return 0


def cmd_sweep(args) -> int:
    from neurocore import dse
    from neurocore.dse.spacefile import load_study_file
    from neurocore.report import format_table

    if args.workers is not None and args.workers < 1:
        return _usage_error(f"--workers must be >= 1, got {args.workers}")
    doc = load_study_file(args.space, trust=args.trust)
    scheduler = args.scheduler or "local"
    kw = dict(data=doc["data"], store=args.store, scheduler=scheduler, workers=args.workers,
              n_threads=args.threads, progress=not args.no_progress, **doc["settings"])
    if doc["search"] is not None:
        s = doc["search"]
        study = dse.search(doc["model"], doc["space"], s["objectives"], budget=s.get("budget", 500),
                           pop_size=s.get("pop_size"), **kw)
        objectives = [o.lstrip("+-") for o in s["objectives"]]
    else:
        study = dse.sweep(doc["model"], doc["space"], **kw)
        objectives = args.pareto.split(",")
    recs = study.records()
    cols = list(doc["space"].dimensions) + ["status", "accuracy", "energy_per_inference_J", "latency_s", "cores"]
    print(format_table(recs, cols))
    failed = sum(r["status"] == "error" for r in recs)
    print(f"{len(recs)} points in {args.store}: {study.n_evaluated} evaluated now, {study.n_skipped} found stored, "
          f"{failed} failed (their errors: the store's `error` column)")
    if len(objectives) >= 2:
        front = study.pareto(objectives)
        print(f"Pareto front over {', '.join(objectives)}: {len(front)} point(s)")
        print(format_table(front.records(), [c for c in front.records()[0] if c != "key"]) if len(front) else "")
        for path, write in ((args.front, front.to_json if str(args.front).endswith(".json") else front.to_csv),
                            (args.plot, front.plot)):
            if path:
                write(path)
                print(f"wrote {path}")
    if args.csv:
        print(f"wrote {study.to_csv(args.csv)}")
    if study.lost:
        print(f"neurocore sweep: {len(study.lost)} point(s) lost with a worker; rerun to evaluate them", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    from neurocore.chip import PRESETS

    chips = sorted(PRESETS)
    p = argparse.ArgumentParser(prog="neurocore", description="Simulate spiking networks on a bit-exact neuromorphic "
                                "chip model and report accuracy, latency and energy against a dense baseline.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    d = sub.add_parser("demo", help="train an MLP on sklearn digits, convert, map on Loihi, run, report energy")
    d.add_argument("--steps", type=int, default=32, help="timesteps per inference (default 32)")
    d.add_argument("--chip", default="loihi", choices=chips, help="chip preset (default loihi)")
    d.add_argument("--plot", metavar="DIR", help="write figures to DIR")
    d.add_argument("--json", metavar="PATH", help="write the full report as JSON")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser("convert", help="convert a trained ANN (.onnx, a .pt state dict, or with --trust a pickle) "
                       "to a graph", description="Convert a trained ANN to a spiking graph. ONNX is the recommended "
                       "format. Pickles (.pkl/.joblib, whole-module .pt) run arbitrary code when loaded, so they are "
                       "opened only with --trust; a .pt state dict loads safely (weights_only) with --arch.")
    c.add_argument("model", help="model file: .onnx (recommended), .pt/.pth state dict (with --arch), or with "
                   "--trust a pickle (.pkl/.joblib scikit-learn MLP, torch.save(model) .pt)")
    c.add_argument("--trust", action="store_true", help="allow pickled models: they run code when loaded, so use "
                   "this only for files whose source you trust")
    c.add_argument("--arch", metavar="MODULE:FUNCTION", help="for a .pt state dict: a function (in an importable "
                   "module or a file.py) that returns the nn.Module the weights belong to")
    c.add_argument("--calibration", required=True, metavar="X.npy", help="calibration samples for threshold balancing")
    c.add_argument("-o", "--output", required=True, metavar="GRAPH.npz")
    c.add_argument("--chip", default="loihi", choices=chips)
    c.add_argument("--encoding", default="direct", choices=["direct", "poisson", "rate"])
    c.add_argument("--percentile", type=float, default=99.9)
    c.set_defaults(func=cmd_convert)

    m = sub.add_parser("compile", help="map a graph onto a chip")
    m.add_argument("graph", help="graph file from `neurocore convert` or Graph.save")
    m.add_argument("--chip", default="loihi", choices=chips)
    m.add_argument("--placement", default=None, choices=["anneal", "greedy", "in_order"],
                   help="placement strategy (default anneal)")
    m.add_argument("--conv-storage", default="expanded", choices=["expanded", "shared"],
                   help="store convolutions per synapse or as one shared kernel per core")
    m.add_argument("--seed", type=int, default=0, help="placement seed")
    m.add_argument("-o", "--output", required=True, metavar="PROGRAM.npz")
    m.set_defaults(func=cmd_compile)

    r = sub.add_parser("run", help="simulate a compiled program on a batch of inputs")
    r.add_argument("program")
    r.add_argument("--inputs", required=True, metavar="X.npy",
                   help="(batch, features) floats for a converted program, else (batch, steps, channels) ints")
    r.add_argument("--labels", metavar="Y.npy", help="labels, to report accuracy")
    r.add_argument("--steps", type=int, default=32)
    r.add_argument("--threads", type=int, default=None)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--stop-margin", type=int, default=None, metavar="K",
                   help="anytime inference: stop a sample once its leading read-out neuron leads by K spikes")
    r.add_argument("--stop-min-steps", type=int, default=1, metavar="M", help="check the stop rule from step M on")
    r.add_argument("--stop-population", default=None, metavar="NAME",
                   help="read-out population of the stop rule (default: a converted network's output)")
    r.add_argument("-o", "--output", required=True, metavar="RESULT.npz")
    r.set_defaults(func=cmd_run)

    e = sub.add_parser("report", help="energy and latency report of a run against a dense baseline")
    e.add_argument("result")
    e.add_argument("--profile", help="chip energy profile (default: the chip's own)")
    e.add_argument("--baseline", nargs="+", default=["gpu-h100"],
                   help="dense baseline profile(s): gpu-h100, gpu-h100-roofline, dense-45nm, a measured profile's "
                        "name or JSON path; each is compared in both regimes (batch 1 and the run's batch)")
    e.add_argument("--static", default="chips_used", choices=("chips_used", "core_fraction", "none"),
                   help="static power for the chips the placement uses, the fraction of cores used, or none")
    e.add_argument("--timing", choices=("neurocore", "sanafe-simple"), help="chip-time model (default: the profile's)")
    e.add_argument("--json", metavar="PATH")
    e.add_argument("--plot", metavar="DIR")
    e.set_defaults(func=cmd_report)

    k = sub.add_parser("check", help="validate a neurocore file (graph, program, result, .nir): exit 0 if valid, "
                       "1 with the reason")
    k.add_argument("file")
    k.set_defaults(func=cmd_check)

    f = sub.add_parser("profiles", help="list energy profiles, or show one with its sources")
    f.add_argument("name", nargs="?")
    f.set_defaults(func=cmd_profiles)

    w = sub.add_parser("sweep", help="evaluate a design space (YAML/JSON study file) into a resumable SQLite store")
    w.add_argument("space", help="study file: model, data, chip_fields, convert, n_steps (see neurocore.dse.spacefile)")
    w.add_argument("--store", required=True, metavar="STUDY.sqlite", help="results store; finished points are skipped")
    w.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler (tcp://host:8786); default: a local cluster "
                   "when dask is installed, else in-process; 'in-process' forces in-process")
    w.add_argument("--workers", type=int, default=None, help="local cluster worker processes (default: CPU count)")
    w.add_argument("--threads", type=int, default=None, help="kernel threads per task")
    w.add_argument("--pareto", default="accuracy,energy_per_inference_J", metavar="M1,M2[,M3]",
                   help="objectives of the printed Pareto front (default accuracy,energy_per_inference_J)")
    w.add_argument("--front", metavar="PATH", help="write the front as .csv or .json")
    w.add_argument("--plot", metavar="PNG", help="write the Pareto plot")
    w.add_argument("--csv", metavar="PATH", help="write every point as CSV")
    w.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.add_argument("--trust", action="store_true", help="allow a pickled model file (.pkl, whole-module .pt): "
                   "pickles run code when loaded, so use this only for files whose source you trust")
    w.set_defaults(func=cmd_sweep)
    return p


#: Per subcommand, its output arguments: (attribute, option, "file" or "dir").
OUTPUTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "demo": (("plot", "--plot", "dir"), ("json", "--json", "file")),
    "convert": (("output", "-o", "file"),),
    "compile": (("output", "-o", "file"),),
    "run": (("output", "-o", "file"),),
    "report": (("json", "--json", "file"), ("plot", "--plot", "dir")),
}


def check_output(path: str, option: str, kind: str) -> None:
    """Refuse, before any work, an output ``path`` that cannot be written (``kind``: "file" or
    "dir"); raises :class:`~neurocore.errors.OutputError` (see :mod:`neurocore._io`)."""
    from neurocore._io import check_output_dir, check_output_path

    (check_output_path if kind == "file" else check_output_dir)(path, option)


#: Exceptions that third-party readers raise on a corrupt or foreign input file.
def _bad_file_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [NotImplementedError, RuntimeError, EOFError, zipfile.BadZipFile]
    try:
        from google.protobuf.message import DecodeError  # ONNX's protobuf reader

        types.append(DecodeError)
    except ImportError:
        pass
    return tuple(types)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Run the command line; every failure is one line on stderr and exit 1 (2 for bad arguments).

    Set ``NEUROCORE_DEBUG=1`` to get the Python traceback of an unexpected failure instead.
    """
    from neurocore.errors import NeurocoreError

    args = build_parser().parse_args(argv)
    for k in ("steps", "threads"):
        v = getattr(args, k, None)
        if v is not None and v < 1:
            return _usage_error(f"--{k} must be >= 1, got {v}")
    where = f"neurocore {args.command}"
    try:
        for attr, option, kind in OUTPUTS.get(args.command, ()):
            if getattr(args, attr, None):
                check_output(getattr(args, attr), option, kind)
        return args.func(args)
    except NeurocoreError as exc:
        print(f"{where}: {_one_line(exc)}", file=sys.stderr)
    except ImportError as exc:
        print(f"{where}: missing optional dependency: {_one_line(exc)}", file=sys.stderr)
    except OSError as exc:  # a missing, unreadable or unwritable path, a full disk
        name = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        print(f"{where}: cannot read or write{name}: {exc.strerror or _one_line(exc)}", file=sys.stderr)
    except MemoryError as exc:
        print(f"{where}: out of memory ({_one_line(exc)}): use a smaller batch, fewer steps or fewer probes",
              file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, exit 1, never a traceback
        if os.environ.get("NEUROCORE_DEBUG", "0") != "0":
            raise
        what = ("an input file is corrupt or not of the expected kind" if isinstance(exc, _bad_file_types())
                else "unexpected error (set NEUROCORE_DEBUG=1 for the traceback, and please report it)")
        print(f"{where}: {what}: {_one_line(exc)}", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
