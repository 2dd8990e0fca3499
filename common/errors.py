"""The one root of every error a user can cause (bad input, a forbidden or conflicting action).

Services and the pure cores raise subclasses of `AppError` carrying a message a person can act on (and
optionally per-field messages). Only the edges translate them: the API's exception handler and the views
map the classes below to HTTP statuses, management commands to a one-line error and a non-zero exit.
No service or core module knows an HTTP status.
"""

from __future__ import annotations


class AppError(ValueError):
    """Bad input or an action that cannot be done; `message` is for the user, `errors` per field."""

    def __init__(self, message: str = "", errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class NotAllowed(AppError):  # noqa: N818 -- reads as the outcome: the action is not allowed (HTTP 403 at the edge)
    """The actor may not do this (not assigned, not granted, not theirs)."""


class NotFound(AppError):  # noqa: N818 -- HTTP 404 at the edge
    """The object does not exist, or the actor may not know that it does."""


class Conflict(AppError):  # noqa: N818 -- HTTP 409 at the edge
    """The object's state forbids the action now (a closed study, a locked question, a running job)."""
