"""`gan` command line: one subcommand per DVC stage, plus registry and reporting commands."""

from __future__ import annotations

import argparse
import importlib
import sys

from pipeline.errors import ConfigError, PipelineError

STAGES = {
    "prepare": (
        "pipeline.prepare",
        "Read data.source, write validated Parquet shards + schema.json.",
    ),
    "classifier": ("pipeline.classifier", "Train the domain classifier whose features define FD."),
    "train": ("pipeline.train", "Train G and D with Ray Train (DDP), resuming from checkpoints."),
    "evaluate": ("pipeline.evaluate", "Sample-quality metrics, sample grid, MLflow logging."),
    "register": ("pipeline.register", "Register an MLflow model version behind a promotion gate."),
}


def _model_uri_option(s: argparse.ArgumentParser) -> None:
    """--model-uri, as every command that loads a registered model takes it."""
    s.add_argument(
        "--model-uri",
        default=None,
        help="MLflow model URI (default: models:/<register.model_name>@champion)",
    )


def _parser() -> argparse.ArgumentParser:
    # Long: the whole command line, declared in one place and read top to bottom (a block per
    # command); splitting it would only scatter the declarations.
    p = argparse.ArgumentParser(prog="gan", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--params", default="params.yaml", help="params file (default: params.yaml)"
    )
    for name, (_, help_) in STAGES.items():
        s = sub.add_parser(name, parents=[common], help=help_, description=help_)
        if name == "train":  # set by `gan submit` for the job it runs
            s.add_argument("--prepared", default=None, help="prepared data folder (staged copy)")
            s.add_argument("--out-dir", default=None, help="write the stage's outs under DIR")
            s.add_argument(
                "--storage-root",
                default=None,
                help="what a relative train.storage_path is relative to",
            )
    s = sub.add_parser(
        "submit",
        parents=[common],
        help="Run training as a job on a Ray cluster (Jobs API).",
        description="Stage the prepared data on train.storage_path, submit `gan train` with the "
        "project as working_dir, stream its log, and copy the outs back. Exit status mirrors "
        "the job's: 0 SUCCEEDED, 1 FAILED, 2 STOPPED.",
    )
    s.add_argument("--address", default=None, help="Jobs API URL (default: $RAY_ADDRESS)")
    s.add_argument("--no-wait", action="store_true", help="print the job id and return")
    s = sub.add_parser(
        "jobs",
        parents=[common],
        help="Status, logs or stop of a submitted job.",
        description="Inspect or stop a job that `gan submit` started.",
    )
    s.add_argument("action", choices=["status", "logs", "stop"])
    s.add_argument("job_id", help="the submission id `gan submit` printed")
    s.add_argument("--address", default=None, help="Jobs API URL (default: $RAY_ADDRESS)")
    s = sub.add_parser(
        "sample",
        parents=[common],
        help="Generate images or table rows from a registered or local model.",
        description="Generate images (or table rows) from an MLflow model URI.",
    )
    _model_uri_option(s)
    s.add_argument("-n", type=int, default=64, help="number of samples (default: 64)")
    s.add_argument(
        "--label", type=int, default=None, help="class of every sample (conditional models)"
    )
    s.add_argument(
        "--condition-column", default=None, help="tables: a discrete column every row must match"
    )
    s.add_argument(
        "--condition-value", default=None, help="tables: its value (e.g. Adelie, 2008, true)"
    )
    s.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same samples)")
    s.add_argument(
        "--out",
        required=True,
        help="images: a directory (one PNG each) or a .npy/.png file; tables: a .parquet/.csv",
    )
    s = sub.add_parser(
        "augment",
        parents=[common],
        help="Write the real rows plus a model's samples, synthetic rows marked.",
        description="A training set: the prepared train and validation rows plus samples of a "
        "registered model at a ratio and class balance, with a manifest of what is real and what "
        "is not.",
    )
    _model_uri_option(s)
    s.add_argument("--ratio", type=float, default=1.0, help="synthetic rows per real row")
    s.add_argument(
        "--balance",
        choices=["train", "equal"],
        default="train",
        help="synthetic classes at the train shares, or to the smallest classes first",
    )
    s.add_argument("--seed", type=int, default=0, help="sampling seed (same seed, same set)")
    s.add_argument(
        "--out", required=True, help="images: a folder; tables: .parquet/.csv; sequences: .npz"
    )
    s = sub.add_parser(
        "review",
        parents=[common],
        help="Compare champion and challenger side by side.",
        description="Compare two registered versions (default: champion vs newest).",
    )
    s.add_argument("--a", default=None, help="version or @alias (default: @champion)")
    s.add_argument(
        "--b",
        default=None,
        help="version or @alias (default: @challenger, else newest)",
    )
    s.add_argument(
        "--html",
        default=None,
        metavar="FILE",
        help="also write a self-contained HTML page (and log it to version B)",
    )
    sub.add_parser(
        "models",
        parents=[common],
        help="List every registered version, best first, and the champion's history.",
        description="Every version of register.model_name with its aliases, date, promotion "
        "metric and headline metrics, best first; then who moved @champion, when and why.",
    )
    s = sub.add_parser(
        "promote",
        parents=[common],
        help="Make a registered version the champion (records who, when, why).",
        description="Move @champion to VERSION; a version worse than the champion needs --force.",
    )
    s.add_argument("version", type=int, help="version number to promote")
    s.add_argument("--reason", required=True, help="why (recorded as a version tag)")
    s.add_argument("--force", action="store_true", help="promote even if worse than the champion")
    s = sub.add_parser(
        "rollback",
        parents=[common],
        help="Restore the previous champion.",
        description="Move @champion back to the version the current champion replaced.",
    )
    s.add_argument("--reason", default="", help="why (recorded as a version tag)")
    s = sub.add_parser(
        "grant",
        parents=[common],
        help="Admin: give a user a role on this project's experiment and model.",
        description="On a tracking server with users (mlflow server --app-name gan-auth), as "
        "an admin: trainer = EDIT on the experiment and the registered model (runs, versions); "
        "reviewer = MANAGE on the registered model (moves @champion).",
    )
    s.add_argument("user", help="an existing user of the tracking server")
    s.add_argument("--role", required=True, choices=["trainer", "reviewer"])
    s = sub.add_parser(
        "plots",
        parents=[common],
        help="Render DVC plots offline into one HTML page.",
        description="Render `dvc plots show --json` offline (no CDN needed to view it).",
    )
    s.add_argument("--out", default="dvc_plots/offline.html", help="output HTML file")
    s = sub.add_parser(
        "summary",
        parents=[common],
        help="One-screen summary of the last pipeline run.",
        description="Where the model went, its metrics, whether it became champion.",
    )
    return p


def _cluster(args: argparse.Namespace) -> int:
    from pipeline import cluster, paths
    from pipeline.config import load_params

    if args.command == "jobs":
        return cluster.jobs(args.action, args.job_id, args.address)
    params = load_params(args.params)
    root = paths.project_root()
    if args.no_wait:
        _, sid, _ = cluster.submit(params, root, args.address, args.params)
        print(f"submit: follow with `gan jobs logs {sid}`; outs stay in train.storage_path")
        return 0
    return cluster.run_on_cluster(params, root, args.address, args.params)


def _check_server() -> None:
    """A tracking server (MLFLOW_TRACKING_URI) must answer and accept the environment's
    credentials, checked in seconds before any stage's work."""
    from pipeline import paths
    from pipeline.access import check_credentials
    from pipeline.preflight import check_tracking_uri
    from pipeline.tracking import tracking_uri

    uri = tracking_uri(paths.project_root())
    check_tracking_uri(uri)
    check_credentials(uri)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gan` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command not in ("jobs", "plots"):  # wrong credentials: now, not after training
            _check_server()
        if args.command == "train":
            from pipeline.train import main as train_main

            train_main(args.params, args.prepared, args.out_dir, args.storage_root)
        elif args.command in STAGES:
            importlib.import_module(STAGES[args.command][0]).main(args.params)
        elif args.command in ("submit", "jobs"):
            return _cluster(args)
        elif args.command == "sample":
            from pipeline.sample import main as sample_main

            condition = (args.condition_column, args.condition_value)
            sample_main(
                args.model_uri, args.n, args.seed, args.out, args.params, args.label, condition
            )
        elif args.command == "augment":
            from pipeline.augment import main as augment_main

            augment_main(args.model_uri, args.ratio, args.balance, args.seed, args.out, args.params)
        elif args.command == "review":
            from pipeline.review import main as review_main

            review_main(args.a, args.b, args.params, args.html)
        elif args.command in ("promote", "rollback"):
            from pipeline.promote import main as promote_main

            version = getattr(args, "version", None)
            force = getattr(args, "force", False)
            promote_main(args.command, version, args.reason, force, args.params)
        elif args.command == "models":
            from pipeline.versions import main as models_main

            models_main(args.params)
        elif args.command == "grant":
            from pipeline.team import main as grant_main

            grant_main(args.user, args.role, args.params)
        elif args.command == "plots":
            from pipeline.plots import main as plots_main

            plots_main(args.out)
        else:
            from pipeline.review import summary

            summary(args.params)
    except (ConfigError, ValueError, FileNotFoundError, PipelineError) as exc:
        # Known failures get one clear message, not a traceback.
        print(f"gan {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
