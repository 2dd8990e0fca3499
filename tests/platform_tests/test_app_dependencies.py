"""Apps depend on each other in one direction only: config <- jobs <- pruning <- analysis, and
readerstudy <- pruning (analysis also reads readerstudy). A lower app reaches a higher one only through
hooks the higher app registers in its AppConfig.ready(). Every import counts, also those inside functions."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("common", "config", "jobs", "pruning", "analysis", "readerstudy")
# What each app may import (besides itself and third-party packages). common is pure plumbing below all.
ALLOWED = {
    "common": set(),
    "config": {"common"},
    "jobs": {"common", "config"},
    "readerstudy": {"common", "config", "jobs"},  # jobs is shared machinery below every app (it knows none of them)
    "pruning": {"common", "config", "jobs", "readerstudy"},
    "analysis": {"common", "config", "jobs", "pruning", "readerstudy"},
}
# Loading code by a module-name string would hide a dependency from this test.
STRING_LOADERS = {"import_module", "import_string", "__import__"}


def imported_apps(source: str, package: str) -> set[tuple[str, int]]:
    """(app, line) for every import of one of APPS in ``source`` (a module of ``package``), at any depth."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [package if node.level else (node.module or "")]
        else:
            continue
        found |= {(name.split(".")[0], node.lineno) for name in names if name.split(".")[0] in APPS}
    return found


def string_loads(source: str) -> list[int]:
    """Lines that call importlib.import_module / import_string / __import__."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in STRING_LOADERS:
                lines.append(node.lineno)
    return lines


def app_modules(app: str) -> list[Path]:
    return sorted((ROOT / app).rglob("*.py"))


def test_apps_import_only_the_apps_below_them():
    violations = []
    for app in APPS:
        files = app_modules(app)
        assert files, app
        for path in files:
            for other, line in imported_apps(path.read_text(), app):
                if other != app and other not in ALLOWED[app]:
                    violations.append(f"{path.relative_to(ROOT)}:{line} imports {other}")
    assert not violations, "\n".join(violations)


def test_no_app_loads_code_by_a_module_name_string():
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for app in APPS
        for path in app_modules(app)
        for line in string_loads(path.read_text())
    ]
    assert not found, found


def test_no_app_looks_up_a_model_by_its_app_label_outside_migrations():
    """apps.get_model("pruning", ...) is an import the walk above cannot see, and a "when the app is missing"
    fallback that can never run (every app is installed with the ones below it). Migrations must use it."""
    found = []
    for app in APPS:
        for path in app_modules(app):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr == "get_model":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, found


def test_the_walk_sees_imports_inside_functions_and_relative_ones():
    source = "import os\ndef f():\n    from analysis.services import x\n    import pruning.models\nfrom . import y\n"
    assert imported_apps(source, "jobs") == {("analysis", 3), ("pruning", 4), ("jobs", 5)}
    assert string_loads("import importlib\nimportlib.import_module('pruning.x')\n") == [2]


def test_higher_apps_register_their_kinds_hooks_and_sources_at_start_up():
    from analysis.reports import runners as analysis_runners
    from jobs.kinds import JOB_KINDS
    from pruning import hooks, readerstudy_source, runners
    from readerstudy import sources

    assert JOB_KINDS["train"].runner is runners.run_train and JOB_KINDS["train"].queue == "gpu"
    assert JOB_KINDS["analysis"].runner is analysis_runners.run_report
    assert hooks.FOLLOW_UPS["report"].job_kind == "analysis"
    assert sources.SOURCES[sources.PIE_SELECTION].candidates is readerstudy_source.selection_candidates


# --- inside each app: modules, not just apps -------------------------------------------------------


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports, at any depth (``from a.b import c`` counts a.b.c when that is a
    module, else a.b); relative imports resolved against the module's package."""
    package = module_name(path) if path.stem == "__init__" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {m for m in found if m in known}


def module_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for app in APPS for p in app_modules(app) if "migrations" not in p.parts}
    known = set(paths)
    return {name: imported_modules(path, known) - {name} for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_the_cycle_finder_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_cycle_inside_an_app():
    found = cycles(module_graph())
    assert found == [], "\n".join(" <-> ".join(c) for c in found)


def test_the_pure_analysis_core_never_imports_the_pruning_engine():
    graph = module_graph()
    bad = [
        f"{m} -> {d}" for m, ds in graph.items() if m.startswith("analysis.core") for d in ds if d.startswith("pruning")
    ]
    assert bad == []


def test_selectors_never_import_services():
    graph = module_graph()
    bad = [
        f"{m} -> {d}"
        for m, ds in graph.items()
        if m.rpartition(".")[2].startswith("selectors")
        for d in ds
        if d.rpartition(".")[2].startswith("services")
    ]
    assert bad == []
