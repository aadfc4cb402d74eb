"""File fuzzer: mutate saved Graph, Program and RunResult files, recompute their checksum, load them.

Each case takes a valid saved file, changes one array (a value out of range, a
negative value, another dtype, another shape, a small in-range change, a shuffle) or
one header entry (a neuron parameter, a delay, a ChipSpec field, a population map,
...), **recomputes the SHA-256** so the checksum cannot be what rejects it, writes it
and loads it. Each case must end one of two ways:

* the loader raises ``FileFormatError``; or
* the file loads into a valid object, and then: a Program (also a RunResult's) runs
  in the kernel exactly as the NumPy twin of its tables
  (:func:`neurocore.kernels.reference_tables.simulate_program`) says, every counter,
  state and per-step figure equal; a Graph either compiles and runs exactly as
  :func:`neurocore.kernels.reference.simulate` says, or ``compile`` refuses it with a
  NeurocoreError (a Graph carries no chip, so its widths are checked there); a
  RunResult's ``summary()`` and ``energy.estimate`` work or raise a NeurocoreError.

Anything else (another exception, a result that differs) is a failure. Run as
``python -m tests.fuzzing --cases N --seed S``: prints a JSON summary, exits 1 on any
failure. The test (tests/test_fuzz_files.py) runs it in a subprocess, so a crash of
the kernel fails the test instead of killing pytest; bench/fuzz_files.py runs longer.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import io
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

import neurocore as nc
from neurocore._io import _digest
from neurocore.errors import FileFormatError, NeurocoreError
from neurocore.kernels.reference import simulate
from neurocore.kernels.reference_tables import simulate_program

T_STEPS, BATCH = 8, 2
#: Header entries a case never edits (they identify the file; editing them is a plain reject).
FIXED_KEYS = {"format", "version", "sha256", "checksum_covers"}
BIG = [2**31 - 1, 2**31, 2**30, 2**62, 10**7, 65536]
VALUES = [0, 1, -1, 2, 3, 7, 63, 64, 255, 4095, 4096, 2**20, 2**31, 10**7, -2**31, 1.5, -0.5, 1e30, "x", "",
          None, True, [], [1, 2], {}]


def chip_for_tests():
    """A small Loihi: 3 neurons per core, so the fixture spreads over several cores and tiles."""
    return dataclasses.replace(nc.chip.loihi(), neurons_per_core=3, cores_per_tile=2)


def base_objects():
    """The Graph, Program and RunResult every case starts from."""
    rng = np.random.default_rng(1)
    g = nc.Graph()
    x = g.input(5, name="x")
    p = g.population(4, nc.CubaLIF(du=410, dv=205, vth=np.array([80, 60, 90, 70]), bias_mant=3, refractory=1),
                     name="p")
    q = g.population(6, nc.IF(vth=50), name="q/out")
    g.connect(x, p, rng.integers(-20, 60, (4, 5)))
    g.connect(p, q, rng.integers(-5, 100, (6, 4)) * (rng.random((6, 4)) < 0.7), delay=2)
    g.connect(q, p, rng.integers(-30, 30, (4, 6)), delay=3, weight_exp=1)
    prog = nc.compile(g, chip_for_tests(), placement="greedy", inputs_on="cores")
    r = nc.Simulator(prog).run(_inputs(prog, 0), T_STEPS, probes={"p": ["v", "spikes"], "q/out": ["u"]})
    return {"graph": g, "program": prog, "result": r}


def _inputs(program, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((BATCH, T_STEPS, program.n_inputs)) < 0.6).astype(np.int32)


def _raw(obj, tmp: Path, kind: str) -> tuple[dict, dict]:
    path = tmp / f"base_{kind}.npz"
    obj.save(path)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    head = json.loads(arrays.pop("__header__").tobytes())
    return head, arrays


# ---- mutations ---------------------------------------------------------------------------------
def _mutate_array(a: np.ndarray, rng) -> tuple[np.ndarray, str]:
    how = rng.choice(["big", "negative", "dtype", "shape", "perturb", "shuffle", "perturb", "big"])
    a = a.copy()
    if how in ("big", "negative", "perturb") and a.size == 0:
        how = "shape"
    if how == "big":
        i = rng.integers(a.size)
        val = int(rng.choice(BIG + [int(a.max()) + 1, a.size, a.size + 1]))
        b = a.astype(np.int64) if a.dtype.kind in "iu" and np.iinfo(a.dtype).max < val else a.copy()
        b.flat[i] = val
        return (b.astype(a.dtype) if a.dtype.kind == "f" else b), f"[{i}]={val}"
    if how == "negative":
        i = rng.integers(a.size)
        val = int(rng.choice([-1, -2, -2**31, int(a.min()) - 1]))
        b = a.astype(np.int64) if a.dtype.kind == "u" or (a.dtype.kind == "i" and np.iinfo(a.dtype).min > val) else a
        b.flat[i] = val
        return b, f"[{i}]={val}"
    if how == "perturb":
        i = rng.integers(a.size)
        d = int(rng.choice([-1, 1, 2, -2]))
        b = a.astype(np.int64) if a.dtype.kind in "iu" else a
        b.flat[i] = b.flat[i] + d
        if a.dtype.kind in "iu":
            info = np.iinfo(a.dtype)
            b = b.astype(a.dtype) if info.min <= b.flat[i] <= info.max else b
        return b, f"[{i}]{d:+d}"
    if how == "shuffle":
        rng.shuffle(a.reshape(-1))
        return a, "shuffled"
    if how == "dtype":
        dt = rng.choice(["float64", "float32", "int8", "uint8", "bool", "uint64", "int16", "complex128", "int32",
                         "int64"])
        return a.astype(dt), f"astype {dt}"
    shape_how = rng.choice(["drop", "append", "2d", "empty"])
    if shape_how == "drop":
        return a.reshape(-1)[:-1], "dropped last"
    if shape_how == "append":
        return np.concatenate([a.reshape(-1), a.reshape(-1)[:1] if a.size else np.zeros(1, a.dtype)]), "appended"
    if shape_how == "2d":
        return a.reshape(1, -1), "reshaped 2-D"
    return a[:0].reshape(-1), "emptied"


def _leaves(node, path=()):
    """(path, value) of every editable leaf of a JSON header (lists as lists, and their items)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if not path and k in FIXED_KEYS:
                continue
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        yield path, node
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))
    else:
        yield path, node


def _mutate_header(head: dict, rng) -> tuple[dict, str]:
    head = copy.deepcopy(head)
    leaves = list(_leaves(head))
    path, old = leaves[rng.integers(len(leaves))]
    if rng.random() < 0.15 and len(path) > 0:
        parent = head
        for k in path[:-1]:
            parent = parent[k]
        del parent[path[-1]]
        return head, f"deleted {'/'.join(map(str, path))}"
    choices = list(VALUES)
    if isinstance(old, (int, float)) and not isinstance(old, bool):
        choices += [old + 1, old - 1, old * 2, -old, old + 1, old - 1]
    new = choices[rng.integers(len(choices))]
    parent = head
    for k in path[:-1]:
        parent = parent[k]
    parent[path[-1]] = new
    return head, f"{'/'.join(map(str, path))}: {old!r} -> {new!r}"


def _write(path: Path, head: dict, arrays: dict) -> None:
    if head.get("checksum_covers"):
        head = dict(head)
        head["sha256"] = _digest(arrays, head)
    buf = io.BytesIO()
    np.savez(buf, __header__=np.frombuffer(json.dumps(head).encode(), np.uint8), **arrays)
    path.write_bytes(buf.getvalue())


# ---- checks of what loaded -------------------------------------------------------------------------
def _check_program(program) -> None:
    x = _inputs(program, 7)
    r = nc.Simulator(program).run(x, T_STEPS, n_threads=1)
    ref = simulate_program(program, x, T_STEPS)
    for k, v in r.counters.items():
        if not np.array_equal(v, ref["counters"][k]):
            raise AssertionError(f"counter {k}: kernel {v} reference {ref['counters'][k]}")
    for k, rk in (("u", "u"), ("v", "v")):
        if not np.array_equal(r.final_state[k], ref[rk]):
            raise AssertionError(f"final {k} differs from the reference")
    pairs = {**{f"core_steps/{k}": (v, ref["core_steps"][k]) for k, v in r.core_steps.items()},
             "busiest_link": (r.busiest_link, ref["busiest_link"]), "link_packets": (r.link_packets,
                                                                                    ref["link_packets"])}
    for name, (a, b) in pairs.items():
        if not np.array_equal(a, b):
            raise AssertionError(f"{name} differs from the reference")


def _check_graph(graph) -> str:
    chip = chip_for_tests()
    try:
        program = nc.compile(graph, chip, placement="in_order")
    except NeurocoreError:
        return "refused by compile"
    x = _inputs(program, 7)
    r = nc.Simulator(program).run(x, T_STEPS, n_threads=1)
    ref = simulate(graph, chip, x, T_STEPS)
    for pop, pm in program.populations.items():
        sl = slice(pm.offset, pm.offset + pm.n)
        if not np.array_equal(r.spike_counts[pop], ref["spikes"][:, :, sl].sum(1)):
            raise AssertionError(f"spike counts of {pop!r} differ from the reference")
    if not (np.array_equal(r.final_state["u"], ref["u"][:, -1]) and np.array_equal(r.final_state["v"], ref["v"][:, -1])):
        raise AssertionError("final state differs from the reference")
    _check_program(program)
    return "valid, equals reference"


def _check_result(result) -> str:
    result.summary()
    _check_program(result.program)
    try:
        nc.energy.estimate(result, chip="loihi", baseline="dense-45nm")
    except NeurocoreError:
        return "valid, estimate refused"
    return "valid, equals reference"


LOADERS = {"graph": (nc.Graph.load, _check_graph), "program": (nc.Program.load, lambda p: _check_program(p) or
                                                               "valid, equals reference"),
           "result": (nc.RunResult.load, _check_result)}


def run_cases(n_cases: int, seed: int, tmp: Path, verbose: bool = False) -> dict:
    """Run ``n_cases`` mutations (a third per file kind); returns a summary with every failure."""
    rng = np.random.default_rng(seed)
    base = {k: _raw(obj, tmp, k) for k, obj in base_objects().items()}
    outcomes: dict[str, int] = {}
    failures: list[dict] = []
    slowest, slowest_what = 0.0, ""
    path = tmp / "case.npz"
    t0 = time.perf_counter()
    for i in range(n_cases):
        kind = ("graph", "program", "result")[i % 3]
        head, arrays = base[kind]
        arrays = dict(arrays)
        if rng.random() < 0.6:
            key = sorted(arrays)[rng.integers(len(arrays))]
            arrays[key], what = _mutate_array(arrays[key], rng)
            what = f"{key} {what}"
        else:
            head, what = _mutate_header(head, rng)
        _write(path, head, arrays)
        if verbose:
            print(f"case {i} {kind}: {what}", file=sys.stderr, flush=True)
        load, check = LOADERS[kind]
        t = time.perf_counter()
        try:
            obj = load(path)
        except FileFormatError:
            outcome = "FileFormatError"
        except Exception as exc:  # noqa: BLE001 - any other exception is what the fuzzer looks for
            outcome = "FAIL"
            failures.append({"case": i, "kind": kind, "mutation": what, "at": "load",
                             "error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc(limit=4)})
        else:
            try:
                outcome = check(obj)
            except Exception as exc:  # noqa: BLE001
                outcome = "FAIL"
                failures.append({"case": i, "kind": kind, "mutation": what, "at": "check",
                                 "error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc(limit=4)})
        if time.perf_counter() - t > slowest:
            slowest, slowest_what = time.perf_counter() - t, f"{kind}: {what}"
        outcomes[f"{kind}: {outcome}"] = outcomes.get(f"{kind}: {outcome}", 0) + 1
    return {"cases": n_cases, "seed": seed, "outcomes": dict(sorted(outcomes.items())), "failures": failures,
            "wall_s": round(time.perf_counter() - t0, 2), "slowest_case_s": round(slowest, 3),
            "slowest_case": slowest_what}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="print each case to stderr before running it")
    args = ap.parse_args(argv)
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as d:
        summary = run_cases(args.cases, args.seed, Path(d), args.verbose)
    print(json.dumps(summary, indent=1))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
