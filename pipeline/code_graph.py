"""Which of the project's source files a piece of code runs: its imports, followed through
`pipeline` and `ganmodels` (function-level imports included, TYPE_CHECKING blocks not).

A kind's `kind.py` imports each stage's modules inside the method that stage calls, so there
only the named methods are followed: the train stage's code is what `model_config` and
`rank_data` import, not the kind's evaluate. The run key hashes the training code found this
way, and a test checks that each stage's deps in dvc.yaml cover its code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "ganmodels")


def _file(module: str) -> str | None:
    """The repo-relative file of a module of ours, or None."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path.relative_to(ROOT).as_posix()
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Our modules an import statement names (a `from pkg import name` may name a module)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.module and not node.level:
        names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    else:
        names = []
    return [n for n in names if n.split(".")[0] in PACKAGES]


def _statements(tree: ast.AST, follow: frozenset[str] | None) -> Iterable[ast.AST]:
    """Import statements to follow: all of them, or (follow given) module-level ones plus
    those inside functions named in follow."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        is_function = isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if is_function and follow is not None and node.name not in follow:
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(roots: Iterable[str], methods: Iterable[str] = ()) -> set[str]:
    """Repo-relative files that the root files run, transitively; in a kind's kind.py only
    the imports of `methods` (and module-level ones) are followed."""
    follow = frozenset(methods)
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        tree = ast.parse((ROOT / rel).read_text(), rel)
        only = follow if rel.startswith("pipeline/kinds/") and rel.endswith("/kind.py") else None
        for node in _statements(tree, only):
            for module in _imported(node):  # type: ignore[arg-type]
                for name in (*_parents(module), module):
                    found = _file(name)
                    if found and found not in seen:
                        todo.append(found)
    return seen
