"""docs/reliability.md names, for every behaviour, the test that proves it: each pointer must name
a test function that exists (the test files are parsed, not imported), and each table row must
name one, so the catalogue cannot point at renamed or deleted tests."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "reliability.md"

# `tests/test_x.py`, `tests/test_x.py::test_y`, `tests/test_x.py::test_y[param]`
FILE = re.compile(r"(tests/[\w/]+\.py)(?:::(\w+)(?:\[[^\]]*\])?)?")
NAME = re.compile(r"(?:::)?(test_\w+)(?:\[[^\]]*\])?")  # `::test_y` after a file, or `test_y`


@cache
def _tests_in(path: str) -> frozenset[str]:
    """The test functions a file defines: module level, and `Class::method` in classes."""
    tree = ast.parse((REPO / path).read_text(), filename=path)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(f"{node.name}::{item.name}")
    return frozenset(n for n in names if n.rpartition("::")[2].startswith("test_"))


def pointers(text: str) -> list[tuple[int, str, str | None]]:
    """(line number, test file, test name or None for the whole file) of every pointer: a
    backticked `tests/....py[::name]`, or a backticked `::name` / `test_name` after one on
    the same line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        current = None
        for span in re.findall(r"`([^`]+)`", line):
            if m := FILE.fullmatch(span):
                current = m.group(1)
                found.append((number, current, m.group(2)))
            elif (m := NAME.fullmatch(span)) and (span.startswith("::") or current):
                assert current, f"line {number}: `{span}` follows no test file"
                found.append((number, current, m.group(1)))
    return found


def test_every_pointer_names_an_existing_test() -> None:
    found = pointers(DOC.read_text())
    assert len(found) > 50, "the catalogue's pointers were not found: has their format changed?"
    missing = []
    for number, path, name in found:
        if not (REPO / path).is_file():
            missing.append(f"line {number}: {path} does not exist")
        elif name is not None and name not in _tests_in(path):
            missing.append(f"line {number}: {path} has no test {name}")
    assert not missing, "docs/reliability.md points at missing tests:\n" + "\n".join(missing)


def rows_without_tests(text: str) -> list[str]:
    """Rows of the tables with a `test` column whose test cell names no test file (a row may
    say "same test": the one above)."""
    bare = []
    in_table, test_column = False, False
    for number, line in enumerate(text.splitlines(), 1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not in_table:  # the header row
            in_table, test_column = True, cells[-1] == "test"
            continue
        if not test_column or set(cells[0]) <= {"-", " ", ":"}:
            continue
        if not FILE.search(cells[-1]) and cells[-1] != "same test":
            bare.append(f"line {number}: {cells[0]}")
    return bare


def test_every_row_names_its_test() -> None:
    bare = rows_without_tests(DOC.read_text())
    assert not bare, "rows of docs/reliability.md that name no test:\n" + "\n".join(bare)


def test_the_checks_catch_a_bad_pointer() -> None:
    text = (
        "| `tests/test_reliability_doc.py::test_every_row_names_its_test`, `::test_gone` |\n"
        "| `tests/test_nowhere.py` and `test_every_pointer_names_an_existing_test` |\n"
    )
    got = pointers(text)
    assert got == [
        (1, "tests/test_reliability_doc.py", "test_every_row_names_its_test"),
        (1, "tests/test_reliability_doc.py", "test_gone"),
        (2, "tests/test_nowhere.py", None),
        (2, "tests/test_nowhere.py", "test_every_pointer_names_an_existing_test"),
    ]
    assert "test_gone" not in _tests_in("tests/test_reliability_doc.py")
    assert not (REPO / "tests/test_nowhere.py").exists()
    table = (
        "| fault | behaviour | test |\n| --- | --- | --- |\n"
        "| a | b | `tests/test_x.py::test_y` |\n| c | d | same test |\n| e | f | to do |\n"
    )
    assert rows_without_tests(table) == ["line 5: e"]
