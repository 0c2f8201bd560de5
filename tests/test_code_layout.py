"""The code's layout holds what docs/architecture.md promises: each stage's deps in dvc.yaml
cover the code it runs (so `dvc repro` reruns it when that code changes), the run key hashes
exactly the training code, no kind is tested outside its folder, no module of pipeline/ imports
itself back, and files stay short."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from pipeline import code_graph, run_identity

REPO = Path(__file__).resolve().parents[1]
# What params loading asks of the kind (every stage loads params).
PARAMS_METHODS = ("check_params", "metrics_written", "gate_hint", "older_metric", "source_name")
# Each stage's entry module(s) and the kind methods it calls (pipeline/kinds/base.py).
STAGES = {
    "prepare": (["pipeline/prepare.py"], ("prepare", "summary")),
    "classifier": (["pipeline/classifier.py"], ("fit_feature_space",)),
    "train": (["pipeline/train.py"], run_identity.TRAINING_METHODS),
    "evaluate": (["pipeline/evaluate.py"], ("evaluate",)),
    "register": (
        ["pipeline/register.py", "pipeline/serving.py"],
        ("signature", "direction", "review_metrics", "review_figures"),
    ),
}


def _deps(stage: str) -> set[str]:
    """The stage's code deps in dvc.yaml, folders expanded to their .py files."""
    deps = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][stage]["deps"]
    out: set[str] = set()
    for dep in deps:
        path = REPO / dep
        if path.is_dir():
            out |= {p.relative_to(REPO).as_posix() for p in path.rglob("*.py")}
        elif dep.endswith(".py"):
            out.add(dep)
    return out


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_stage_depends_on_the_code_it_runs(stage: str) -> None:
    roots, methods = STAGES[stage]
    runs = code_graph.closure(roots, (*methods, *PARAMS_METHODS))
    missing = sorted(runs - _deps(stage))
    assert not missing, f"dvc.yaml stage {stage} lacks deps on code it runs: {missing}"
    listed = sorted(d for d in _deps(stage) if not (REPO / d).is_file())
    assert not listed, f"dvc.yaml stage {stage} lists files that do not exist: {listed}"


def test_the_run_key_hashes_the_workers_code_and_not_evaluate() -> None:
    code = set(run_identity.training_code())
    assert code <= _deps("train")  # a change to it reruns the stage and starts a new run
    assert {"pipeline/loop.py", "pipeline/phases.py", "ganmodels/losses.py"} <= code
    assert {"pipeline/kinds/image/batches.py", "pipeline/kinds/tabular/batches.py"} <= code
    assert {"pipeline/kinds/sequence/batches.py", "ganmodels/sequence/nets.py"} <= code
    assert {"ganmodels/image/nets.py", "ganmodels/tabular/nets.py"} <= code
    # Not what only evaluates, registers or records: a change there resumes the finished run.
    # Nor the kinds' dispatch layer, which only hands calls on to code hashed itself.
    for name in ("pipeline/kinds/image/evaluate.py", "ganmodels/tabular/metrics.py",
                 "pipeline/tracking.py", "pipeline/register.py", "pipeline/kinds/image/kind.py",
                 "pipeline/kinds/base.py"):  # fmt: skip
        assert name not in code
    assert {"pipeline/kinds/image/model_config.py", "pipeline/kinds/tabular/pack.py"} <= code


def _module_imports(path: Path) -> set[str]:
    """Modules of pipeline/ that a file imports directly (any level, not TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in code_graph._statements(tree, None):
        for module in code_graph._imported(node):  # type: ignore[arg-type]
            rel = code_graph._file(module)
            if rel and rel.startswith("pipeline/"):
                found.add(rel)
    return found


def test_no_import_cycles_among_pipeline_modules() -> None:
    graph = {
        p.relative_to(REPO).as_posix(): _module_imports(p) for p in REPO.glob("pipeline/**/*.py")
    }
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycle = path[path.index(node) :] + [node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        for nxt in graph.get(node, ()):
            if nxt != node:
                visit(nxt, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


# Tests of which kind something is: only the kinds' own folders and the one dispatch point
# (pipeline/kinds/__init__.py; ganmodels/build.py and ganmodels/serving.py on the model side).
KIND_TESTS = re.compile(
    r"""schema\[["']kind["']\]|schema\.get\(["']kind["']\)|architecture\s*==\s*["']ctgan["']"""
    r"""|["']transformer["']\s+in\b|isinstance\([^)]*DataFrame\)|conditioner\s+is\s+None"""
    r"""|["']quality_score["']\s+in\b|\.kind\s*==\s*["']"""
)
DISPATCH = {"pipeline/kinds/__init__.py", "ganmodels/build.py", "ganmodels/serving.py"}


def test_no_kind_is_tested_outside_its_folder() -> None:
    found = []
    for path in sorted([*REPO.glob("pipeline/**/*.py"), *REPO.glob("ganmodels/**/*.py")]):
        rel = path.relative_to(REPO).as_posix()
        if rel in DISPATCH or re.match(
            r"(pipeline/kinds|ganmodels)/(image|tabular|sequence)/", rel
        ):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if KIND_TESTS.search(line):
                found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "kind tests outside the kinds' folders:\n" + "\n".join(found)


def test_files_and_functions_stay_short() -> None:
    long_files, long_functions = [], []
    folders = ("pipeline/**/*.py", "ganmodels/**/*.py", "tests/*.py", "benchmarks/*.py")
    for path in sorted(p for folder in folders for p in REPO.glob(folder)):
        rel = path.relative_to(REPO).as_posix()
        text = path.read_text()
        if len(text.splitlines()) > 300:
            long_files.append(f"{rel} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                head = "\n".join(text.splitlines()[node.lineno : node.lineno + 12])
                if length > 60 and "# Long: " not in head:  # the comment says why
                    long_functions.append(f"{rel}:{node.lineno} {node.name} ({length} lines)")
    assert not long_files, long_files
    assert not long_functions, long_functions


def test_the_readme_layout_has_a_line_for_every_module() -> None:
    readme = (REPO / "README.md").read_text()
    tree = readme[readme.index("## Layout") : readme.index("## Development")]
    listed = {line.split()[0] for line in tree.splitlines() if line.startswith("  ")}
    missing = []
    for path in sorted([*REPO.glob("pipeline/**/*.py"), *REPO.glob("ganmodels/**/*.py")]):
        rel = path.relative_to(REPO)
        inner = "/".join(rel.parts[1:])
        if path.name in ("__init__.py", "__main__.py") and inner != "kinds/__init__.py":
            continue  # a package's docstring names it; kinds/__init__.py is the dispatch point
        if inner not in listed:
            missing.append(rel.as_posix())
    assert not missing, f"README's Layout lacks a line for {missing}"
