"""Optional progress bars (tqdm) for long stages; nothing is shown, and nothing fails, without tqdm."""
from __future__ import annotations

import sys
import zipfile

import numpy as np

__all__ = ["SAVE_PROGRESS_MIN_BYTES", "savez_compressed", "stage_bar"]

#: Saves of at least this many bytes of arrays show a progress bar.
SAVE_PROGRESS_MIN_BYTES = 64 << 20


class _StageBar:
    """A bar over named stages: ``next()`` starts the next stage, ``close()`` ends it (idempotent)."""

    def __init__(self, stages: list[str], desc: str, enabled: bool) -> None:
        self.stages, self.i, self.bar = stages, 0, None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional
                return
            self.bar = tqdm(total=len(stages), desc=f"{desc}: {stages[0]}", unit="stage", file=sys.stderr,
                            leave=False)

    def next(self) -> None:
        if self.bar is None:
            return
        self.i += 1
        self.bar.update(1)
        if self.i < len(self.stages):
            self.bar.set_description_str(f"{self.bar.desc.split(':')[0]}: {self.stages[self.i]}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def stage_bar(stages: list[str], desc: str, enabled: bool) -> _StageBar:
    """A progress bar over ``stages`` on stderr when ``enabled`` and tqdm is installed."""
    return _StageBar(stages, desc, enabled)


def savez_compressed(file, arrays: dict[str, np.ndarray], desc: str = "saving", progress: bool | None = None) -> None:
    """What :func:`numpy.savez_compressed` writes (one deflated ``NAME.npy`` per array), array by array,
    with a progress bar in bytes for large saves (``progress=None``: from
    :data:`SAVE_PROGRESS_MIN_BYTES`; needs tqdm)."""
    total = int(sum(np.asarray(a).nbytes for a in arrays.values()))
    bar = None
    if (total >= SAVE_PROGRESS_MIN_BYTES) if progress is None else progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, file=sys.stderr, leave=False)
        except ImportError:  # tqdm is optional
            bar = None
    try:
        with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            for name, value in arrays.items():
                arr = np.asanyarray(value)
                with zf.open(name + ".npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, arr, allow_pickle=False)
                if bar is not None:
                    bar.update(arr.nbytes)
    finally:
        if bar is not None:
            bar.close()
