"""Progress reporting and cooperative cancellation shared by every long engine call.

A long function takes ``progress: Progress | None``. It calls ``progress(done, total, message)``
after each unit of work (epoch, sparsity, batch). The callback may raise :class:`Cancelled` to stop
the work; the engine saves what it has finished before letting the exception propagate.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]  # (done, total, message)


class Cancelled(Exception):  # noqa: N818 -- name fixed by the team contract
    """Raised by a progress callback to stop the work; finished units are kept."""


def report(progress: Progress | None, done: int, total: int, message: str) -> None:
    """Call ``progress`` when one was given (saves an ``if`` at every call site)."""
    if progress is not None:
        progress(done, total, message)
