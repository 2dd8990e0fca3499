"""Product modules stay readable: none over 400 lines, no function over 80 (migrations are generated)."""

import ast

from .test_app_dependencies import APPS, ROOT, app_modules

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _product_modules():
    return [p for app in APPS for p in app_modules(app) if "migrations" not in p.parts]


def long_functions(source: str, limit: int) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function or method longer than ``limit`` lines."""
    return [
        (node.name, node.lineno, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > limit
    ]


def test_the_measure_counts_a_planted_long_function():
    source = "def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 80
    assert long_functions(source, MAX_FUNCTION_LINES) == [("long", 5, 81)]


def test_no_product_module_is_over_400_lines():
    long = [
        f"{p.relative_to(ROOT)}: {n}"
        for p in _product_modules()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert long == []


def test_no_product_function_is_over_80_lines():
    long = [
        f"{p.relative_to(ROOT)}:{line} {name} ({n} lines)"
        for p in _product_modules()
        for name, line, n in long_functions(p.read_text(), MAX_FUNCTION_LINES)
    ]
    assert long == []
