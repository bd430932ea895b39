"""Progress bars for long vault work: bytes done, total, rate and time left, on a terminal only.

``interlock vault backup``, ``restore`` and ``verify`` on a 1 GB database take seconds to
minutes (issue 7 §3: "progress bars with sizes and rates"). A bar is drawn only when its
stream is a terminal: under cron, CI, a pipe or a test the stream stays untouched, so logs hold
the one summary line each command prints at the end, not a trail of carriage returns.

tqdm draws the bar and is imported only when one is drawn, so nothing here costs the hook's
hot path (tests/test_hot_path.py) or a command whose output is not a terminal.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = ["Bar", "bar"]


class Bar:
    """Told how many bytes each step did; counts them, and moves the bar when there is one."""

    def __init__(self, label: str, total: int | None, drawn: Any = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.drawn = drawn  # the tqdm bar, or None when nothing is shown

    def __call__(self, count: int) -> None:
        self.done += count
        if self.drawn is not None:
            self.drawn.update(count)


@contextmanager
def bar(
    label: str, total: int | None, *, stream: TextIO | None = None, show: bool | None = None
) -> Iterator[Bar]:
    """A :class:`Bar` for ``total`` bytes (``None``: not known ahead, as for a dump).

    ``show`` forces the choice; by default the bar is drawn when ``stream`` (stderr) is a
    terminal. The bar is closed, and its last state left on screen, when the block ends.
    """
    out = sys.stderr if stream is None else stream
    if show is None:
        show = _is_terminal(out)
    if not show:
        yield Bar(label, total)
        return
    from tqdm import tqdm

    sized = all(_size(out))

    with tqdm(
        total=total,
        desc=label,
        file=out,
        unit="B",
        unit_scale=True,  # 1.2 GB, 85.3 MB/s
        mininterval=0.25,
        # A terminal that reports no size (0 x 0: a fresh pty, a serial console) would get no
        # bar at all (tqdm hides bars below the last row); it is taken as 80 x 24.
        ncols=None if sized else 80,
        nrows=None if sized else 24,
        dynamic_ncols=sized,
        leave=True,
    ) as drawn:
        yield Bar(label, total, drawn)


def _size(stream: TextIO) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(stream.fileno())
        return size.columns, size.lines
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return (0, 0)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
