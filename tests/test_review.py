"""`gan review`'s comparison on a real MLflow SQLite store: decision first, headline metrics
with their references, per-class rows as one table, one version shown alone; and the Markdown
summary a version carries for MLflow's own UI."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlflow.tracking import MlflowClient

from pipeline.comparison import build, default_pair
from pipeline.config import RegisterConfig
from pipeline.kinds import get
from pipeline.promote import promote, rollback
from pipeline.register import register
from pipeline.review import render_text
from pipeline.tracking import client, ensure_experiment
from pipeline.versions import listing
from pipeline.versions import render_text as render_versions
from tests.helpers import save_tiny_generator

CFG = RegisterConfig(
    model_name="gan-review", primary_metric="fd", higher_is_better=False, min_improvement=0.1
)
IMAGE = get("image")


def _metrics(fd: float, precision: float) -> dict:
    per_class = {str(k): {"accuracy": 0.5 + k / 100, "fd": fd + k} for k in range(10)}
    return {"fd": fd, "fd_floor": 1.5, "fd_ratio": fd / 1.5, "precision": precision,
            "kid": 0.01, "per_class": per_class}  # fmt: skip


def _store(tmp_path: Path, empty_store: Path) -> tuple[MlflowClient, str, Path]:
    shutil.copy(empty_store, tmp_path / "mlflow.db")
    cli = client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return cli, ensure_experiment(cli, "review", tmp_path), save_tiny_generator(tmp_path / "g.pt")


def _version(cli: MlflowClient, exp: str, gen: Path, fd: float, precision: float) -> None:
    run_id = cli.create_run(exp).info.run_id
    metrics = _metrics(fd, precision)
    register(cli, CFG, run_id, gen, metrics, {"sample_seed": "7"}, None, IMAGE.review_metrics())


def test_review_leads_with_the_gate_and_groups_per_class_rows(
    tmp_path: Path, empty_store: Path
) -> None:
    cli, exp, gen = _store(tmp_path, empty_store)
    _version(cli, exp, gen, 10.0, 0.4)
    _version(cli, exp, gen, 9.5, 0.6)  # better fd, but by less than min_improvement (10%)
    a, b = default_pair(cli, CFG.model_name)
    assert (int(a.version), int(b.version)) == (1, 2)
    c = build(cli, a, b, IMAGE.direction, CFG, IMAGE.review_metrics())
    v = c.verdict
    assert (v.metric, v.a, v.b, v.would_promote) == ("fd", 10.0, 9.5, False)
    assert abs(v.change + 0.05) < 1e-12 and "does not beat" in v.reason
    assert "@challenger" in v.recorded and "does not beat" in v.recorded  # what happened to B
    # Headline: the promotion metric first, each with what to read it against.
    assert [r.key for r in c.headline] == ["fd", "fd_ratio", "precision"]
    assert c.headline[0].reference == "fd_floor 1.5" and c.headline[0].better == "B"
    assert c.headline[2].better == "B" and c.headline[2].direction == "higher"
    # 20 per-class keys become one table of 10 classes x 2 metrics, not 20 rows.
    (group,) = c.groups
    assert group.prefix == "per_class" and group.ids == [str(k) for k in range(10)]
    assert group.columns == ["accuracy", "fd"] and group.cells[("3", "fd")].a == 13.0
    assert {r.key for r in c.metrics} == {"fd_floor", "kid"}
    text = render_text(c)
    lines = text.splitlines()
    assert lines[0].startswith("A: v1 @champion") and "B: v2 @challenger" in lines[0]
    assert lines[1] == "fd (lower is better): A 10  B 9.5 (-5.0%)"
    assert lines[2].startswith("gate: B would not become champion (fd 9.5 does not beat")
    assert len(lines) < 40  # 20 per-class rows folded into a 10-row table


def test_one_version_is_shown_alone(tmp_path: Path, empty_store: Path) -> None:
    cli, exp, gen = _store(tmp_path, empty_store)
    _version(cli, exp, gen, 10.0, 0.4)
    a, b = default_pair(cli, CFG.model_name)
    c = build(cli, a, b, IMAGE.direction, CFG, IMAGE.review_metrics())
    assert c.single
    text = render_text(c)
    assert text.startswith("only one version: v1 (@champion), shown alone")
    assert "B" not in text.split("\n\n")[1].split()  # no B column


def test_the_version_description_summarises_it_in_markdown(
    tmp_path: Path, empty_store: Path
) -> None:
    cli, exp, gen = _store(tmp_path, empty_store)
    _version(cli, exp, gen, 10.0, 0.4)
    _version(cli, exp, gen, 8.0, 0.6)
    mv = MlflowClient(tracking_uri=cli.tracking_uri).get_model_version(CFG.model_name, "2")
    lines = mv.description.splitlines()
    assert lines[0] == "**Promotion metric** `fd` = 8 (lower is better)"
    assert lines[2].startswith("**Gate:** @champion: fd 8 beats champion's 10")
    assert "| `fd` | 8 | fd_floor 1.5 |" in lines
    assert "| `precision` | 0.6 |  |" in lines
    assert mv.tags["gate.verdict"] == "champion" and mv.tags["gate.reason"] in lines[2]


def test_models_lists_versions_best_first_and_the_champions_history(
    tmp_path: Path, empty_store: Path
) -> None:
    cli, exp, gen = _store(tmp_path, empty_store)
    for fd in (10.0, 8.0, 12.0):  # v1 and v2 champions by the gate, v3 a worse challenger
        _version(cli, exp, gen, fd, 0.5)
    promote(cli, CFG, 3, "reviewers prefer its samples", force=True)
    rollback(cli, CFG, "the forced one was a mistake")
    _version(cli, exp, gen, 7.5, 0.5)  # better than v2, by less than the gate's 10%
    promote(cli, CFG, 4, "better FD, checked by eye")
    lst = listing(cli, CFG.model_name, "fd", IMAGE.direction, IMAGE.review_metrics())
    assert [r.version for r in lst.rows] == [4, 2, 1, 3]  # lower fd first
    assert lst.rows[0].aliases == "@champion" and lst.rows[0].headline["precision"] == 0.5
    moves = [(m.version, m.previous, m.how) for m in lst.moves]
    assert moves == [
        (1, None, "gate"),
        (2, 1, "gate"),
        (3, 2, "forced"),
        (2, 3, "rollback"),
        (4, 2, "manual"),
    ]
    assert lst.moves[2].why == "reviewers prefer its samples" and lst.moves[0].by
    text = render_versions(lst)
    lines = text.splitlines()
    assert lines[0].startswith("gan-review: 4 version(s), best first by fd (lower is better)")
    assert lines[2].split()[:2] == ["v4", "@champion"]
    history = lines[lines.index("@champion history (newest first):") + 1 :]
    assert "v4 (was v2)  manual by" in history[0] and history[0].endswith("checked by eye")
    assert "v1 (was none)  gate by" in history[-1]
    # A registry from before the record: each version's last move, from its promotion tags.
    for key in cli.get_registered_model(CFG.model_name).tags:
        cli.delete_registered_model_tag(CFG.model_name, key)
    legacy = listing(cli, CFG.model_name, "fd", IMAGE.direction, IMAGE.review_metrics()).moves
    assert {(m.version, m.previous, m.how) for m in legacy} == {
        (1, None, "gate"),
        (3, 2, "forced"),
        (2, 3, "rollback"),
        (4, 2, "manual"),
    }
