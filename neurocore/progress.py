"""Optional progress bars (tqdm) for long stages; nothing is shown, and nothing fails, without tqdm."""
from __future__ import annotations

import sys

__all__ = ["stage_bar"]


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
