"""The ``wag`` command: a thin layer over the library (reproduce, profiles, count, evaluate, ...)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from wag.core.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, UsageError, debug_enabled, describe, one_line

#: Stage CLIs (modules of this package, the top floor: they may load a profile) that add their own
#: subcommands through ``register(subparsers)``.
STAGE_CLIS = (
    "wag.cli.artifacts",
    "wag.cli.frequency",
    "wag.cli.evaluate",
    "wag.cli.synthetic",
    "wag.cli.study",
    "wag.cli.law",
)


class WagArgumentParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (raised as :class:`UsageError`), not usage + exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}; see `{self.prog} --help`")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from wag.run.profile import (
        parse_set_options,
    )  # lazy: the Profile imports every section's params (scipy, statsmodels: ~1.5 s)
    from wag.run.reproduce import (
        run_notebooks,
    )  # lazy: papermill, nbformat and the notebook setup load when notebooks run

    overrides = parse_set_options(args.set)
    out = str(Path(args.out).expanduser().absolute()) if args.out else None  # relative to where the command runs
    results, manifest = run_notebooks(args.profile, only=args.only, out=out, overrides=overrides, jobs=args.jobs)
    width = max((len(r.notebook) for r in results), default=8)
    print(f"\n{'notebook':<{width}}  status   seconds  skipped cells")
    for r in results:
        print(f"{r.notebook:<{width}}  {r.status:<7} {r.seconds:8.1f}  {len(r.skipped_cells) or ''}")
    print(f"total notebook time: {sum(r.seconds for r in results):.1f} s; manifest: {manifest}")
    if overrides:
        print("overrides: " + ", ".join(f"{k}={v!r}" for k, v in overrides.items()))
    not_produced = [(r.notebook, o) for r in results for o in r.not_produced]
    reasons = list(dict.fromkeys(o.get("reason", "") for _, o in not_produced))
    for reason in reasons:  # grouped by why their cells were skipped (released files absent, not the study's, ...)
        these = [(nb, o) for nb, o in not_produced if o.get("reason", "") == reason]
        print(f"\nnot produced ({len(these)}; their cells were skipped): {reason}")
        for nb, o in these:
            print(f"  {nb}: {o['id']} ({o['paper']}), cell {o['cell']}")
    ran = ", ".join(r.notebook for r in results if r.status == "ok")
    print(f"\nnotebooks run: {ran or 'none'}")
    failed = [r for r in results if r.status != "ok"]
    for r in failed:
        print(f"error: notebook {r.notebook}.ipynb failed at {r.error}; executed copy: {r.output}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_profiles(args: argparse.Namespace) -> int:
    from wag.run.profile import available_profiles, load_profile  # lazy: as in _cmd_reproduce

    names = args.names or available_profiles()
    for name in names:
        p = load_profile(name)
        print(f"{p.name:<12} ok   {p.description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the core subcommands and every stage CLI that is installed."""
    parser = WagArgumentParser(
        prog="wag", description="Concept frequency vs multimodal model performance: reproduce, count, evaluate."
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error (also: WAG_DEBUG=1; allowed anywhere on the line)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser(
        "reproduce", help="execute the notebooks for a profile (papermill) and write figures, tables and a manifest"
    )
    rep.add_argument(
        "--profile",
        default="default",
        help="profile name in params/ or a YAML path, relative to the current folder or the project root (default: default)",
    )
    rep.add_argument("--only", nargs="+", metavar="NOTEBOOK", help="run only these notebooks (names without .ipynb)")
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="write figures, tables and executed notebooks under DIR (relative to the current folder)",
    )
    rep.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override one profile key (dotted, e.g. analysis.n_boot=200; the value is YAML); repeatable; validated before any notebook runs",
    )
    rep.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="notebooks run at once, each in its own kernel (default: one per core); those sharing the synthetic world run one after another",
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


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail a second time on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced by an object without a descriptor (tests)
        pass


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    """Print warnings as one ``warning: ...`` line on stderr (no source line)."""

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
        print(f"warning: {one_line(str(message))}", file=file or sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: the one error boundary of wag.

    Every exception becomes one line on stderr and an exit status: 2 for bad input (:class:`WagError`, a
    missing or unreadable path, a full disk), 1 for a failure of wag itself, 130 for Ctrl-C. A closed output
    pipe (``wag ... | head``) ends quietly with status 141, as a process stopped by SIGPIPE. ``--debug``
    (anywhere on the line) or ``WAG_DEBUG=1`` adds the traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or debug_enabled()
    argv = [a for a in argv if a != "--debug"]
    try:
        with _one_line_warnings():
            args = build_parser().parse_args(argv)
            return int(args.func(args) or 0)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except BrokenPipeError:  # the reader of stdout is gone (`wag ... | head`): nothing to say, nowhere to say it
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        if debug:
            traceback.print_exc()
        print(
            "interrupted (Ctrl-C); outputs finished so far are kept and nothing is half-written; rerun the command to finish (wag count and wag evaluate resume where they stopped)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the boundary
        code, message = describe(exc)
        if debug:
            traceback.print_exc()
        print(f"error: {message}", file=sys.stderr)
        return code
