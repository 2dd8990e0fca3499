"""`make mutation`'s own checks (issue 18): the equivalents list names only existing functions and calls
no untested code equivalent, and the fast test selection misses no database-free test that reaches a
mutated module."""

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load(name):
    sys.path.insert(0, str(ROOT / "mutation"))
    try:
        spec = importlib.util.spec_from_file_location(f"mutation_{name}", ROOT / "mutation" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(ROOT / "mutation"))


run, selection = load("run"), load("selection")


def test_the_fast_selection_holds_every_database_free_test_that_reaches_a_mutated_module():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert selection.missing_tests(ROOT, config["only_mutate"], config["pytest_add_cli_args_test_selection"]) == []
    assert config["only_mutate"] == run.MODULES


def test_a_report_test_reaches_forgettability_and_a_django_test_is_not_database_free():
    reached = selection.reached_files(ROOT, ROOT / "tests/analysis_tests/test_core_report.py")
    assert (ROOT / "analysis/core/forgettability.py").resolve() in reached
    assert selection.database_free(ROOT / "tests/analysis_tests/test_core_report.py")
    assert not selection.database_free(ROOT / "tests/readerstudy_tests/test_answers.py")


def test_every_equivalents_entry_names_a_function_that_exists():
    equivalents = run.load_equivalents()  # exits on a stale or mislabelled entry
    assert equivalents and all(run.where_defined(name) is None for name in equivalents)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("analysis.core.metrics.x__sorted_rows__mutmut_4", "analysis/core/metrics.py defines no function _sorted_rows"),
        (
            "pruning.engine.prune.xǁPruneOrderǁ_gone__mutmut_1",
            "pruning/engine/prune.py defines no function PruneOrder._gone",
        ),  # noqa: E501
        (
            "analysis.core.nowhere.x_f__mutmut_1",
            "module analysis.core.nowhere is not mutated (not in run.py's MODULES)",
        ),  # noqa: E501
        ("not a name", "not a mutmut mutant name"),
    ],
)
def test_an_entry_for_a_missing_function_is_refused_with_the_reason(name, why):
    assert run.where_defined(name) == why


def test_an_entry_calling_cuda_code_equivalent_is_refused(tmp_path, monkeypatch):
    listed = tmp_path / "equivalents.txt"
    listed.write_text(
        "pruning.engine.prune.xǁPruneOrderǁfrom_model__mutmut_32 | .to(None) | CUDA only: same device on CPU\n"
    )
    monkeypatch.setattr(run, "EQUIVALENTS", listed)
    with pytest.raises(SystemExit, match="CUDA-only code is untested, not equivalent"):
        run.load_equivalents()
    listed.write_text("pruning.engine.prune.xǁPruneOrderǁfrom_model__mutmut_32 | .to(None) | untested: CUDA only\n")
    assert run.load_equivalents()["pruning.engine.prune.xǁPruneOrderǁfrom_model__mutmut_32"][1] == "untested: CUDA only"
