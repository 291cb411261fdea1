"""``wag artifacts locate|verify|names``: where the released files are, whether they match the pinned
checksums, and which concept names the readers could not reconcile."""

from __future__ import annotations

import argparse
from typing import Any

from wag.core.errors import WagError, one_line


def _profile(name: str | None) -> Any:
    if name is None:
        return None
    from wag.run.profile import (
        load_profile,
    )  # lazy: the Profile imports every section's params (scipy, statsmodels: ~1.5 s)

    return load_profile(name)


def _cmd_locate(args: argparse.Namespace) -> int:
    from wag.artifacts import (
        neglected_tails_root,
        paper_root,
    )  # lazy: the readers load when a subcommand runs, not for `wag --help`

    prof = _profile(args.profile)
    print(f"paper artifacts:  {paper_root(prof)}")
    print(f"neglected tails:  {neglected_tails_root(prof)}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from wag.artifacts import (
        NEGLECTED_TAILS,
        PAPER,
        load_registry,
        neglected_tails_root,
        paper_root,
        verify,
    )  # lazy: as in _cmd_locate

    prof = _profile(args.profile)
    problems: list[str] = []
    for source, find in ((PAPER, paper_root), (NEGLECTED_TAILS, neglected_tails_root)):
        try:  # each source on its own: a missing copy of one does not hide the state of the other
            root = find(prof)
        except WagError as exc:
            print(f"{source.label}: not found: {one_line(str(exc))}")
            problems.append(
                f"{source.label} not found (set {source.env_var} or `{source.profile_key}:` in the profile)"
            )
            continue
        res = verify(root, source)
        print(
            f"{source.label} at {root}: {len(res['ok'])} ok, {len(res['changed'])} changed, {len(res['absent'])} absent"
        )
        for kind in ("changed", "absent"):
            for rel in res[kind]:
                print(f"  {kind}: {rel}")
        missing = load_registry(source).missing
        if missing:
            print(f"  known-missing from the reference copy (not checked): {', '.join(missing)}")
        bad = len(res["changed"]) + len(res["absent"])
        if bad:
            problems.append(
                f"{bad} files of {source.label} at {root} differ from the pinned checksums "
                "(re-fetch them: delete the folder and allow the download, or fix the path)"
            )
    if problems:
        raise WagError("; ".join(problems))
    return 0


def _cmd_names(args: argparse.Namespace) -> int:
    import wag.artifacts as A  # lazy: as in _cmd_locate

    root = A.paper_root(_profile(args.profile))
    counts = A.read_search_counts(root)
    families = {
        "zero-shot": A.read_zero_shot(root),
        "retrieval": A.read_retrieval(root),
        "t2i": A.read_t2i(root),
    }
    for fam, perf in families.items():
        un = A.unmatched_names(counts, perf)
        print(f"{fam}: {len(un)} unmatched names")
        for r in un.itertuples():
            print(f"  {r.dataset:<14} {r.side:<12} {r.concept!r}")
    cov = A.search_counts_coverage(root)
    inc = cov[cov["missing"] > 0]
    print(f"incomplete count files: {len(inc)}")
    for r in inc.itertuples():
        print(f"  {r.dataset}_{r.pretraining}_{r.source_variant}: {r.n_concepts} of {r.n_expected} concepts")
    print(f"T2I metrics reported by the paper but absent: {', '.join(A.missing_t2i_metrics(root)) or 'none'}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``wag artifacts ...`` to the ``wag`` console script."""
    p = subparsers.add_parser(
        "artifacts", help="the paper's released files: locate (or download), verify checksums, name report"
    )
    sub = p.add_subparsers(dest="artifacts_command", required=True)
    for name, func, help_ in (
        ("locate", _cmd_locate, "print the folders used (downloads them when allowed and absent)"),
        ("verify", _cmd_verify, "check every file against the pinned sha256 registry"),
        ("names", _cmd_names, "list concept names left unmatched between counts and evaluations, and incomplete files"),
    ):
        c = sub.add_parser(name, help=help_)
        c.add_argument(
            "--profile", default=None, help="profile name or YAML path (default: environment variables, cache)"
        )
        c.set_defaults(func=func)
