"""Where pickles may be read from. The paper's released predictions are pickles, and unpickling runs code,
so every pickle the platform opens must come from a folder an operator chose, checked where it is opened.

Threat: a researcher (or a compromised researcher account) points a report at a folder holding a crafted
pickle, or at a folder inside the roots that symlinks to one outside; the worker unpickles it and runs the
attacker's code with the worker's rights. Defences, each tested:
- the web form and the service accept only folders inside the import roots (resolved, so `..` cannot escape);
- the worker checks again, right before reading, every file it will unpickle: a regular file (not a
  symlink), no symlink anywhere in its path, and inside an import root (a rerun re-checks too);
- the admin cannot edit a report's folders (read-only fields).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from common.errors import AppError


class ImportPathError(AppError):
    """A path outside the import roots, or one reached through a symlink."""


def import_roots() -> list[Path]:
    """The artifact root and the ANALYSIS_IMPORT_ROOTS folders (operators copy released files there)."""
    extra = getattr(settings, "ANALYSIS_IMPORT_ROOTS", ())
    return [Path(settings.ARTIFACT_ROOT).resolve(), *(Path(p).resolve() for p in extra)]


def _inside_roots(resolved: Path) -> bool:
    return any(resolved == root or resolved.is_relative_to(root) for root in import_roots())


def check_inside_import_roots(path: str | Path) -> Path:
    """The resolved folder, if inside an import root; else ImportPathError naming the roots."""
    resolved = Path(path).expanduser().resolve()
    if not _inside_roots(resolved):
        roots = ", ".join(str(r) for r in import_roots())
        raise ImportPathError(
            f"{path} is outside the folders reports may read from ({roots}); copy the files under "
            f"{Path(settings.ARTIFACT_ROOT) / 'imports'}."
        )
    return resolved


def check_import_file(path: str | Path) -> Path:
    """Refuse a file to be unpickled unless it is a regular file reached without any symlink, inside a root."""
    path = Path(path).absolute()
    for part in (path, *path.parents):
        if part.is_symlink():
            raise ImportPathError(f"{path}: {part} is a symbolic link; import files must be real files.")
    if not path.is_file():
        raise ImportPathError(f"{path}: not a regular file.")
    check_inside_import_roots(path)
    return path
