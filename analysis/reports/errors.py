"""The reports wing's request error (a subclass of common.errors.AppError, so every edge translates it)."""

from common.errors import AppError


class ReportRequestError(AppError):
    """Report inputs that cannot work (missing file, empty folder, unknown dataset); says which."""
