"""Which database-free test files reach a mutated module, read from the import statements.

`mutation/run.py` refuses to run when pyproject's [tool.mutmut] test selection leaves one out: a test
that would kill a mutant but is not in the selection makes that mutant a false survivor (issue 18:
test_core_report.py kills forgettability.median_relative_change 8, yet was not selected).

"Reaches" follows imports from the test file through the project's own modules. `from pkg.mod import x`
is an edge to pkg/mod.py only, not to the package's __init__.py: analysis/core/__init__.py re-exports
metrics and forgettability, and every perception test would otherwise "reach" them by importing a
sibling package. `from pkg import x` (the re-export itself) is an edge to pkg/__init__.py, and to
pkg/x.py when x is a submodule.

"Database-free" is read from the text: no `django_db` marker, no Django import, and no test or fixture
parameter that needs the database (pytest-django's db fixtures, or this project's users and clients).
"""

from __future__ import annotations

import ast
from pathlib import Path

# Fixtures that open the test database (pytest-django's, and tests/conftest.py's users and clients).
DB_FIXTURES = {"db", "transactional_db", "django_db_setup", "django_user_model", "live_server", "client"}
DB_FIXTURES |= {"admin_user", "researcher", "reader_a", "reader_b", "admin_client", "celery_worker"}
# Tests that read the source text of every product module rather than run it. Under mutmut they read the
# mutated copies, which hold every mutant of a function and are many times longer, so they fail for every
# mutant alike (mutmut then refuses to start: "failed to collect stats") and kill nothing by behaviour.
READS_SOURCE_TEXT = {"tests/platform_tests/test_code_size.py"}


def _module_file(root: Path, dotted: str) -> Path | None:
    """The file of a project module (or package) named ``dotted``, looked up from root and root/tests."""
    for base in (root, root / "tests"):
        stem = base.joinpath(*dotted.split("."))
        for candidate in (stem.with_suffix(".py"), stem / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def _package_of(root: Path, path: Path) -> list[str]:
    """The package a relative import in ``path`` starts from (tests/ is on sys.path as well)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "tests" and len(parts) > 2:
        parts = parts[1:]  # tests/analysis_tests/x.py is analysis_tests.x
    return parts[:-1]  # a module's package; for pkg/__init__.py, pkg itself


def imported_files(root: Path, path: Path) -> set[Path]:
    """Project files that ``path`` imports directly (anywhere in it: lazy imports count too)."""
    out: set[Path] = set()
    package = _package_of(root, path)
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in targets:
            found = _module_file(root, name) if name else None
            if found is not None:
                out.add(found.resolve())
    return out


def reached_files(root: Path, path: Path) -> set[Path]:
    """Every project file ``path`` reaches through imports, itself excluded."""
    seen: set[Path] = set()
    todo = [path.resolve()]
    while todo:
        for found in imported_files(root, todo.pop()):
            if found not in seen:
                seen.add(found)
                todo.append(found)
    seen.discard(path.resolve())
    return seen


def database_free(path: Path) -> bool:
    text = path.read_text()
    if "django_db" in text:
        return False
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(name == "django" or name.startswith("django.") for name in names):
                return False
        if isinstance(node, ast.FunctionDef):
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            if params & DB_FIXTURES or any(p.endswith("_client") or p.endswith("_client_") for p in params):
                return False
    return True


def missing_tests(root: Path, mutated: list[str], selection: list[str]) -> list[tuple[str, list[str]]]:
    """[(test file, [mutated modules it reaches])] for database-free test files not in ``selection``."""
    targets = {(root / m).resolve(): m for m in mutated}
    chosen = {(root / s).resolve() for s in selection}
    out = []
    for test in sorted((root / "tests").rglob("test_*.py")):
        skipped = test.relative_to(root).as_posix() in READS_SOURCE_TEXT
        if skipped or test.resolve() in chosen or not database_free(test):
            continue
        hits = sorted(targets[f] for f in reached_files(root, test) if f in targets)
        if hits:
            out.append((str(test.relative_to(root)), hits))
    return out
