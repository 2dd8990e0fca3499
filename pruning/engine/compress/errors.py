"""The compression methods' user error, in its own module so the implementations import it without
importing the registry package (that would be a module cycle: the registry loads them)."""

from common.errors import AppError


class MethodError(AppError):
    """A method that cannot apply (unknown name, bad level, a layer it cannot handle)."""
