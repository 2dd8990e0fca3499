"""Atomic file writes: a private temp file next to the target, fsync, then one rename.

A crash leaves either the old or the new file, never half a file. A caller (a job attempt) may set a
publish guard, so an attempt that lost its job raises instead of replacing a newer attempt's file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from contextvars import ContextVar
from pathlib import Path

# A context-manager factory every publish (the rename into place) runs inside, when a caller set one: a job
# attempt's fence, so an attempt that lost its job raises instead of replacing a newer attempt's file.
_PUBLISH_GUARD: ContextVar = ContextVar("publish_guard", default=None)


@contextlib.contextmanager
def publish_guard(guard):
    """While active, ``atomic_write`` publishes inside ``guard()`` (in this thread/context only)."""
    token = _PUBLISH_GUARD.set(guard)
    try:
        yield
    finally:
        _PUBLISH_GUARD.reset(token)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_write`); returns the path."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))
    return Path(path)


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a private temp file next to ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        guard = _PUBLISH_GUARD.get()
        with guard() if guard is not None else contextlib.nullcontext():
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
