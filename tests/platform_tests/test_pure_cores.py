"""The engine and the analysis core must run on a GPU box or a laptop without Django."""

import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules_of(package: str) -> list[str]:
    """``package`` and every module below it, subpackages included."""
    folder = ROOT.joinpath(*package.split("."))
    found = [package]
    for m in pkgutil.iter_modules([str(folder)]):
        found += modules_of(f"{package}.{m.name}") if m.ispkg else [f"{package}.{m.name}"]
    return found


def test_common_engine_and_analysis_core_import_without_django():
    modules = modules_of("common") + modules_of("pruning.engine") + modules_of("analysis.core")
    assert len(modules) > 4
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    code += "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
    code += "assert not bad, bad\n"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
