"""``wag study run|status|schema|example`` and the single-stage commands ``wag tag``, ``wag integrate``, ``wag letitwag build``."""

from __future__ import annotations

import argparse
from typing import Any

from wag.core.paths import resolve
from wag.study.example import write_example
from wag.study.spec import STAGE_NAMES, StudyError


def load_study(profile: str, overrides: dict[str, Any] | None = None) -> Any:
    """The ``study:`` section (a ``StudySpec``) of a profile given by name or YAML path."""
    from wag.run.profile import (
        load_profile,
    )  # lazy: the Profile imports every section's params (scipy, statsmodels: ~1.5 s)

    p = load_profile(profile, overrides)
    if p.study is None:
        raise StudyError(f"profile '{p.name}' has no study: section; see params/example_study.yaml")
    return p.study


def _print_status(df: Any) -> None:
    for row in df.itertuples():
        print(f"{row.stage:<13} {row.state:<8} {row.reason}")


def _run(args: argparse.Namespace, stages: list[str] | None) -> int:
    from wag.study.run import run_study  # lazy: the stages and table contracts (pandera) load when a study runs

    spec = load_study(args.profile)
    df = run_study(spec, stages, force=args.force, progress=not args.quiet)
    print(f"\nstudy '{spec.name}' in {spec.output_path}:")
    _print_status(df)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    return _run(args, args.stages)


def _cmd_status(args: argparse.Namespace) -> int:
    from wag.study.run import study_status  # lazy: as above

    spec = load_study(args.profile)
    print(f"study '{spec.name}' in {spec.output_path}:")
    _print_status(study_status(spec))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from wag.study.schema_doc import schema_text  # lazy: pydantic introspection, only for this subcommand

    print(schema_text(), end="")
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    out = write_example(resolve(args.out), seed=args.seed)
    print(
        f"wrote the example study's inputs to {out} (shards, test set, retrieval set, image pool, concepts, checkpoint); "
        "run it with: wag study run --profile example_study"
    )
    return 0


def _single(stage: str):
    def cmd(args: argparse.Namespace) -> int:
        return _run(args, [stage])

    return cmd


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", required=True, help="profile name in params/ or a YAML path, with a study: section")
    p.add_argument("--force", action="store_true", help="rerun the selected stages even when up to date")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def register(subparsers: Any) -> None:
    """Add ``study``, ``tag``, ``integrate`` and ``letitwag`` to the ``wag`` parser."""
    st = subparsers.add_parser(
        "study", help="run your own study (corpus, concepts, tagger, models, test sets) declared in a profile"
    )
    sub = st.add_subparsers(dest="study_command", required=True)
    run = sub.add_parser(
        "run",
        help="run the stale and missing stages; up-to-date stages are skipped",
        description="Run the stale and missing stages of the profile's study: section (up-to-date stages are skipped). "
        "Every field of study: with its type, default and meaning: `wag study schema`; an example: "
        "params/example_study.yaml.",
    )
    _common(run)
    run.add_argument(
        "--stages", nargs="+", choices=list(STAGE_NAMES), help="only these stages (and the ones they read)"
    )
    run.set_defaults(func=_cmd_run)
    status = sub.add_parser("status", help="done / stale / missing / off per stage")
    status.add_argument(
        "--profile", required=True, help="profile name in params/ or a YAML path, with a study: section"
    )
    status.set_defaults(func=_cmd_status)
    schema = sub.add_parser(
        "schema", help="print every field of a profile's study: section with its type, default and meaning"
    )
    schema.set_defaults(func=_cmd_schema)
    ex = sub.add_parser(
        "example", help="write a small example study's input files (params/example_study.yaml runs on them)"
    )
    ex.add_argument(
        "--out",
        default="runs/example_study",
        help="folder to write, relative to the project root (default: runs/example_study, where the example profile looks)",
    )
    ex.add_argument("--seed", type=int, default=0)
    ex.set_defaults(func=_cmd_example)

    tag = subparsers.add_parser("tag", help="tag the corpus images of a study with its declared tagger (stage tag)")
    _common(tag)
    tag.set_defaults(func=_single("tag"))
    integ = subparsers.add_parser(
        "integrate", help="integrated counts of a study: caption hit AND image tag (stage integrate)"
    )
    _common(integ)
    integ.set_defaults(func=_single("integrate"))
    lw = subparsers.add_parser("letitwag", help="Let It Wag!: a tail benchmark from a study's own counts")
    lw_sub = lw.add_subparsers(dest="letitwag_command", required=True)
    build = lw_sub.add_parser(
        "build",
        help="build the benchmark from the study's counts and image pool, and evaluate the study's models on it",
    )
    _common(build)
    build.set_defaults(func=_single("letitwag"))
