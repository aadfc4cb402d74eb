"""Save and load a Program (versioned, checksummed ``.npz``; see :mod:`neurocore._io`).

Layout: every array of ``Program.arrays`` as ``a.<name>``, the placement as
``core_ids``, each population's packing order as ``order.<population>``; the
JSON header holds the chip, the population and input maps, the layer stats and
the meta (objects with ``to_dict``, such as a converter's codec, are tagged with
their type and rebuilt through the registry ``neurocore._io.META_TYPES``). The typed
fields ``Program.codec`` and ``Program.mapping`` are stored under the meta keys
``codec``, ``mapping`` (and ``est_hops``) they had before they were fields, so files
of either era read with either code.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from neurocore._io import _jsonable, decode_meta, encode_meta, read_npz, write_npz
from neurocore.chip.spec import ChipSpec
from neurocore.errors import BitWidthError, FileFormatError
from neurocore.mapping.program import InputMap, MappingInfo, PopulationMap, Program

__all__ = ["PROGRAM_FORMAT_VERSION", "load_program", "save_program"]

#: Bump when the layout or the meaning of an array changes.
PROGRAM_FORMAT_VERSION = 1


def program_parts(program: Program) -> tuple[dict, dict[str, np.ndarray]]:
    """(JSON header, arrays) describing ``program``; also embedded in saved RunResults."""
    arrays = {f"a.{k}": np.ascontiguousarray(v) for k, v in program.arrays.items()}
    arrays["core_ids"] = np.asarray(program.core_ids)
    pops = []
    for pm in program.populations.values():
        pops.append({"name": pm.name, "offset": pm.offset, "n": pm.n, "neuron_type": pm.neuron_type,
                     "pieces": _jsonable(pm.pieces), "order": pm.order is not None})
        if pm.order is not None:
            arrays[f"order.{pm.name}"] = np.asarray(pm.order, np.int64)
    header = {
        "chip": dataclasses.asdict(program.chip),
        "populations": pops,
        "inputs": [dataclasses.asdict(i) for i in program.inputs.values()],
        "projections": _jsonable(program.projections),
        "meta": encode_meta(_file_meta(program)),
    }
    return header, arrays


def _file_meta(program: Program) -> dict:
    """The meta as files hold it (format 1): the typed fields under their dict-era keys."""
    meta = dict(program.meta)
    if program.mapping is not None:
        meta["mapping"] = program.mapping.to_dict()
        meta["est_hops"] = program.mapping.est_hops
    if program.codec is not None:
        meta["codec"] = program.codec
    return meta


def save_program(program: Program, path) -> Path:
    """Write ``program`` to ``path``."""
    header, arrays = program_parts(program)
    return write_npz(path, "program", PROGRAM_FORMAT_VERSION, header, arrays)


def load_program(path) -> Program:
    """Read a Program written by :func:`save_program`; raises FileFormatError naming the file and the problem."""
    head, arrays = read_npz(path, "program", PROGRAM_FORMAT_VERSION)
    return program_from_parts(head, arrays, str(path))


def program_from_parts(head: dict, arrays: dict[str, np.ndarray], path: str = "<memory>") -> Program:
    """Inverse of :func:`program_parts`; the Program is validated (:meth:`Program.validate`)."""
    arrays = dict(arrays)
    try:
        chip = ChipSpec(**head["chip"])
        pops = {}
        for d in head["populations"]:
            order = arrays[f"order.{d['name']}"] if d["order"] else None
            pops[d["name"]] = PopulationMap(d["name"], int(d["offset"]), int(d["n"]), d["neuron_type"],
                                            tuple(tuple(int(i) for i in p) for p in d["pieces"]), order=order)
        inputs = {d["name"]: InputMap(d["name"], int(d["offset"]), int(d["n"]), bool(d["graded"]))
                  for d in head["inputs"]}
        projections = head["projections"]
        core_ids = arrays.pop("core_ids")
        prog_arrays = {k[2:]: v for k, v in arrays.items() if k.startswith("a.")}
        meta = decode_meta(head.get("meta", {}))
        # format 1 keeps the typed fields under their dict-era meta keys
        codec, mapping = meta.pop("codec", None), meta.pop("mapping", None)
        meta.pop("est_hops", None)
        if mapping is not None and not isinstance(mapping, dict):
            raise TypeError(f"meta.mapping must be a JSON object, got {type(mapping).__name__}")
        mapping = None if mapping is None else MappingInfo.from_dict(mapping)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError, BitWidthError) as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(f"'{path}': program description is inconsistent ({type(exc).__name__}: {exc})") \
            from None
    missing = [k for k in ("row_ptr", "target", "weight", "row_shift", "neuron_core", "src_pk_ptr", "pk_row_ptr", "du")
               if k not in prog_arrays]
    if missing:
        raise FileFormatError(f"'{path}': program arrays {missing} are missing")
    program = Program(chip=chip, populations=pops, inputs=inputs, projections=projections, arrays=prog_arrays,
                      core_ids=core_ids, meta=meta, codec=codec, mapping=mapping)
    return program.validate(f"'{path}'")
