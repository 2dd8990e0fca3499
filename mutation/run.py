"""`make mutation`: mutation score of the pure cores, one module at a time.

For each module below, `mutmut run "<module>.*"` mutates that module only and runs, for every mutant, the
tests that cover the mutated function (mutmut's own selection, restricted to the fast database-free test
files named in pyproject's [tool.mutmut]). The score counts a timeout as a kill and leaves out only the
survivors listed in mutation/equivalents.txt, each matched by its mutant name AND by a fragment of its
mutated line, so an entry that no longer describes the same mutation (the code moved) stops excluding it.
An entry whose reason starts with "untested:" (code only CUDA runs) stays in the score as a survivor.

It refuses to start when an entry names a function that no longer exists, when an entry calls CUDA-only
code equivalent, or when a database-free test file that reaches a mutated module is missing from the
fast selection (mutation/selection.py).

    python mutation/run.py                 # run every module, then print the table
    python mutation/run.py --score-only    # print the table from the last run (mutants/*.meta)
    python mutation/run.py --module analysis/core/metrics.py --survivors   # one module, list its survivors
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

from selection import missing_tests

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).resolve().parent / "equivalents.txt"
MODULES = [
    "analysis/core/metrics.py",
    "analysis/core/forgettability.py",
    "pruning/engine/pies.py",
    "pruning/engine/prune.py",
    "readerstudy/design.py",
    "analysis/core/perception/paper.py",
    "analysis/core/perception/effects.py",
    "analysis/core/perception/text.py",
    "analysis/core/perception/mixed_reml.py",
    "analysis/core/perception/odds_ratio.py",
    "analysis/core/perception/clustered.py",
    "analysis/core/perception/checks.py",
]
TARGET = 97.0
# mutmut's exit codes (mutmut/stats.py): 1 and 3 are test failures, 24/-24/152/255/36 CPU-time limits,
# 0 a survivor, 33 a mutant no selected test reaches (counted as a survivor).
KILLED, TIMEOUT, SURVIVED = {1, 3, 37}, {24, -24, 152, 255, 36}, {0}


def dotted(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


# mutmut's mangled names: <module>.x_<function>__mutmut_<n> and <module>.xǁ<Class>ǁ<method>__mutmut_<n>.
MUTANT_NAME = re.compile(r"^(?P<module>[\w.]+)\.x(?:_(?P<function>\w+?)|ǁ(?P<cls>\w+)ǁ(?P<method>\w+?))__mutmut_\d+$")


def defined_functions(module: str) -> set[str]:
    """'function' and 'Class.method' names defined at the top level of ``module`` (a path under ROOT)."""
    names = set()
    for node in ast.parse((ROOT / module).read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef))
    return names


def where_defined(name: str) -> str | None:
    """Why an equivalents entry names nothing that exists, or None when its module and function exist."""
    match = MUTANT_NAME.match(name)
    if match is None:
        return "not a mutmut mutant name"
    module = next((m for m in MODULES if dotted(m) == match["module"]), None)
    if module is None:
        return f"module {match['module']} is not mutated (not in run.py's MODULES)"
    function = match["function"] or f"{match['cls']}.{match['method']}"
    if function not in defined_functions(module):
        return f"{module} defines no function {function}"
    return None


def load_equivalents() -> dict[str, tuple[str, str]]:
    """{mutant name: (fragment of the mutated line, reason)} from 'name | fragment | reason' lines.

    Refuses (exits) on a malformed line, on an entry whose function no longer exists, and on an entry that
    calls CUDA-only code equivalent: code no test here can run is untested, and its reason must say so by
    starting with 'untested:' (such a mutant stays in the score as a survivor, counted apart)."""
    out, problems = {}, []
    for n, line in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split(" | ")]
        if len(parts) != 3:
            sys.exit(f"{EQUIVALENTS.name}:{n}: expected 'mutant | fragment | reason', got {line!r}")
        if (why := where_defined(parts[0])) is not None:
            problems.append(f"{EQUIVALENTS.name}:{n}: {parts[0]}: {why}")
        if any(w in parts[2].lower() for w in ("cuda", "endian")) and not parts[2].startswith("untested:"):
            problems.append(f"{EQUIVALENTS.name}:{n}: {parts[0]}: CUDA-only code is untested, not equivalent")
        out[parts[0]] = (parts[1], parts[2])
    if problems:
        head = "refused: entries that name no existing function or call untested code equivalent"
        sys.exit("\n".join([head, *problems]))
    return out


def check_selection() -> None:
    """Exit when a database-free test file that reaches a mutated module is not in the fast selection."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    missing = missing_tests(ROOT, config["only_mutate"], config["pytest_add_cli_args_test_selection"])
    if missing:
        lines = [f"  {test} (reaches {', '.join(hits)})" for test, hits in missing]
        sys.exit("\n".join(["refused: add these database-free test files to pyproject's test selection:", *lines]))


def diff_of(name: str, module: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    return get_diff_for_mutant(name, path=Path(module))


def added_lines(diff: str) -> str:
    return "\n".join(line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))


def score(module: str, equivalents: dict[str, tuple[str, str]], show_survivors: bool) -> tuple[float, str] | None:
    meta = ROOT / "mutants" / f"{module}.meta"
    if not meta.exists():
        return None
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    counts, survivors, excluded, untested, stale = Counter(), [], 0, 0, []
    for name, code in sorted(codes.items()):
        listed = name in equivalents and equivalents[name][0] in added_lines(diff_of(name, module))
        if code in KILLED:
            counts["killed"] += 1
        elif code in TIMEOUT:
            counts["timeout"] += 1
        elif code in SURVIVED and listed and not equivalents[name][1].startswith("untested:"):
            excluded += 1
        else:
            counts[{0: "survived", 33: "no tests", None: "not run"}.get(code, f"other({code})")] += 1
            survivors.append(name)
            # listed as untested (CUDA, big-endian, 2**32 weights): a survivor, counted apart
            untested += listed and equivalents[name][1].startswith("untested:")
        if name in equivalents and code is not None and code not in SURVIVED:
            stale.append(name)
    total = sum(counts.values())
    pct = 100.0 * (counts["killed"] + counts["timeout"]) / total if total else 100.0
    line = (
        f"{module:34s} {len(codes):5d} mutants  {counts['killed']:4d} killed  {counts['timeout']:3d} timeout  "
        f"{excluded:3d} equivalent  {total - counts['killed'] - counts['timeout']:3d} survived "
        f"({untested} of them listed as untested)  {pct:5.1f}%"
    )
    if counts["not run"]:
        line += f"\n    {counts['not run']} mutants not run yet (counted as survivors): the run was interrupted"
    for name in stale:
        what = "timed out" if codes[name] in TIMEOUT else "killed now"
        line += f"\n    stale entry in {EQUIVALENTS.name} ({what}): {name}"
    for name in (n for n in equivalents if n.startswith(dotted(module) + ".") and n in codes):
        if codes[name] in SURVIVED and equivalents[name][0] not in added_lines(diff_of(name, module)):
            line += f"\n    entry in {EQUIVALENTS.name} no longer matches its mutant (not excluded): {name}"
    if show_survivors:
        for name in survivors:
            line += f"\n--- {name} (exit {codes[name]})\n{diff_of(name, module)}"
    return pct, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--module", action="append", choices=MODULES, help="only this module (repeatable)")
    parser.add_argument("--score-only", action="store_true", help="do not run mutmut; score the last run")
    parser.add_argument("--survivors", action="store_true", help="print the diff of every unlisted survivor")
    parser.add_argument("--max-children", type=int, default=int(os.environ.get("MUTATION_JOBS", "2")))
    args = parser.parse_args()
    os.chdir(ROOT)
    modules = args.module or MODULES
    equivalents = load_equivalents()  # refuse stale entries before an hour of mutation testing
    check_selection()
    if not args.score_only:
        mutmut = Path(sys.executable).with_name("mutmut")
        # mutmut collects "which test covers which function" once and then only for NEW tests: a function
        # added since (or a call moved into it) would count as untested. Start each run from fresh stats.
        (ROOT / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
        # One thread per test process: mutmut's limit is CPU seconds, and BLAS/OpenMP threads spinning on
        # a busy machine burn them, so unchanged (equivalent) mutants timed out and counted as kills.
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        for module in MODULES:
            # A module copied there unmutated by an earlier configuration looks "already mutated" to mutmut
            # (its copy is newer than the source) and would get no mutants: drop such copies.
            if not (ROOT / "mutants" / f"{module}.meta").exists():
                (ROOT / "mutants" / module).unlink(missing_ok=True)
        for module in modules:
            print(f"== mutmut: {module}", flush=True)
            # The names given on the command line are always re-run, so each module is scored afresh.
            cmd = [str(mutmut), "run", "--max-children", str(args.max_children), f"{dotted(module)}.*"]
            done = subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env)
            if done.returncode:
                print(f"mutmut failed on {module} (exit {done.returncode}); rerun: {' '.join(cmd)}")
                return done.returncode
    sys.path.insert(0, str(ROOT))
    ok = True
    print(f"\nMutation score (timeouts count as kills; survivors in {EQUIVALENTS.name} left out; target {TARGET}%)")
    for module in modules:
        result = score(module, equivalents, args.survivors)
        if result is None:
            print(f"{module:34s} not run yet")
            ok = False
            continue
        pct, line = result
        print(line)
        ok &= pct >= TARGET
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
