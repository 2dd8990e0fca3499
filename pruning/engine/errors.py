"""Errors the engine raises for bad input (never for its own bugs)."""

from __future__ import annotations

from common.errors import AppError


class DatasetError(AppError):
    """A dataset (label CSV, image folder, split) is unusable.

    The message always names what is wrong and where: the file, the column, the row (as the
    1-based line of the CSV file, header = line 1) and the offending value, so the user can open
    the file and fix it without reading engine code.
    """
