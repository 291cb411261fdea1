"""The ``wag`` command: a thin layer over the library (reproduce, profiles, count, evaluate, ...)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence

from wag.errors import WagError

#: Stage CLIs (modules of this package, the top floor: they may load a profile) that add their own
#: subcommands through ``register(subparsers)``.
STAGE_CLIS = ("wag.cli.artifacts", "wag.cli.frequency", "wag.cli.evaluate", "wag.cli.synthetic", "wag.cli.study")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from wag.params import parse_set_options
    from wag.reproduce import run_notebooks

    overrides = parse_set_options(args.set)
    results, manifest = run_notebooks(args.profile, only=args.only, out=args.out, overrides=overrides)
    width = max((len(r.notebook) for r in results), default=8)
    print(f"\n{'notebook':<{width}}  status   seconds  skipped cells")
    for r in results:
        print(f"{r.notebook:<{width}}  {r.status:<7} {r.seconds:8.1f}  {len(r.skipped_cells) or ''}")
    print(f"total notebook time: {sum(r.seconds for r in results):.1f} s; manifest: {manifest}")
    if overrides:
        print("overrides: " + ", ".join(f"{k}={v!r}" for k, v in overrides.items()))
    not_produced = [(r.notebook, o) for r in results for o in r.not_produced]
    if any(r.skipped_cells for r in results):
        reason = json.loads(manifest.read_text(encoding="utf-8"))["released_files"]["reason"]
        print(f"\nnot produced ({len(not_produced)}; cells tagged released-files were skipped): {reason}")
        for nb, o in not_produced:
            print(f"  {nb}: {o['id']} ({o['paper']}), cell {o['cell']}")
    failed = [r for r in results if r.status != "ok"]
    for r in failed:
        print(f"error: notebook {r.notebook}.ipynb failed at {r.error}; executed copy: {r.output}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from wag.params import available_profiles, load_profile

    names = args.names or available_profiles()
    for name in names:
        p = load_profile(name)
        print(f"{p.name:<12} ok   {p.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the core subcommands and every stage CLI that is installed."""
    parser = argparse.ArgumentParser(prog="wag", description="Concept frequency vs multimodal model performance: reproduce, count, evaluate.")
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("reproduce", help="execute the notebooks for a profile (papermill) and write figures, tables and a manifest")
    rep.add_argument("--profile", default="default", help="profile name in params/ or a YAML path (default: default)")
    rep.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="run only these notebooks (names without .ipynb)")
    rep.add_argument("--out", metavar="DIR", help="write figures, tables and executed notebooks under DIR")
    rep.add_argument(
        "--set", action="append", metavar="KEY=VALUE",
        help="override one profile key (dotted, e.g. analysis.n_boot=200; the value is YAML); repeatable; validated before any notebook runs",
    )
    rep.set_defaults(func=_cmd_reproduce)

    prof = sub.add_parser("profiles", help="validate and list profiles")
    prof.add_argument("names", nargs="*", help="profiles to validate (default: all)")
    prof.set_defaults(func=_cmd_profiles)

    for mod_name in STAGE_CLIS:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue  # that stage has no CLI
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; user errors print one message and exit with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except WagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

