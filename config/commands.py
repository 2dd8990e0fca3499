"""What every management command shares: one translation of the errors a user can cause."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def validation_message(exc: ValidationError) -> str:
    """A model's ValidationError on one line ("field: message; ...")."""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


@contextmanager
def user_errors() -> Iterator[None]:
    """Bad input becomes a CommandError (its message on one line of stderr, exit status 1), never a
    traceback: every `common.errors.AppError` (a ValueError), a model's ValidationError, and the
    ValueErrors the engines and parsers raise for values a person typed."""
    try:
        yield
    except ValidationError as exc:
        raise CommandError(validation_message(exc)) from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
