"""``wag lookup`` and ``wag plan``: ask the law about a concept, and turn it around (thin layer over
:mod:`wag.sources.lookup`; the profile chooses the source: the paper's released files or a study)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from wag.core.checks import (
    check_input_file,
    check_output_dir,
    positive_float,
    positive_int,
    read_utf8_text,
    unit_float,
)
from wag.core.errors import UsageError, WagError

LOOKUP_EXAMPLES = """examples:
  wag lookup dog cat axolotl                     # the paper's released files (profile default)
  wag lookup dog cat axolotl --json              # the same as JSON
  wag lookup --file concepts.txt --html cards.html   # one self-contained page of concept cards
  wag lookup zebra --profile example_study       # a study: a concept it does not list is counted in its corpus
  wag lookup cat --model laion400m/ViT-L-14      # one model's rows only
"""
PLAN_EXAMPLES = """examples:
  wag plan --concept "sea turtle" --target 0.6                 # every model of the released files
  wag plan --concept cat --target 0.6 --model cc3m/RN50 --json
  wag plan --concept dog --target 0.5 --profile example_study
  wag plan --budget 1000000 --model cc3m/RN50                  # 10^6 samples: planner, uniform, balanced
  wag plan --budget 50000 --concepts tail.txt --out plans/     # a concept list; tables + chart in plans/plan/
"""
#: Concept files longer than this are refused (a lookup is for a handful of concepts, a card each).
MAX_CONCEPTS = 1000


def _profile_and_source(args: argparse.Namespace) -> tuple[Any, Any]:
    from wag.run.profile import load_profile, parse_set_options  # lazy: every section's params (scipy, statsmodels)
    from wag.sources import open_source  # lazy: the sources read tables (pandas, pyarrow)

    profile = load_profile(args.profile, parse_set_options(args.set))
    return profile, open_source(profile)


def read_concept_file(path: str) -> list[str]:
    """Concept names of a text file, one per line (blank lines and ``#`` comments skipped); empty is an error."""
    text = read_utf8_text(check_input_file(path, "--file"), "--file", max_bytes=1 << 20)
    names = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not names:
        raise UsageError(f"--file {path} lists no concept (it is empty or only comments); put one concept per line")
    if len(names) > MAX_CONCEPTS:
        raise UsageError(f"--file {path} lists {len(names)} concepts, more than {MAX_CONCEPTS}; split it")
    return names


def _json_ready(obj: Any) -> Any:
    """NaN → null, ±inf → the strings "inf" / "-inf" (JSON has neither)."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_ready(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return _json_ready(obj.item())
    return obj


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        if math.isinf(v):
            return "∞"
        return f"{v:.3g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.3f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return str(v)


def _table(rows: list[dict[str, Any]], cols: list[tuple[str, str]]) -> str:
    from tabulate import tabulate  # lazy: only the terminal output uses it

    cols = [
        (k, t) for k, t in cols if k != "where" or any(r.get("where") for r in rows)
    ]  # shown where it says something
    return tabulate(
        [[_fmt(r.get(k, "")) for k, _ in cols] for r in rows], headers=[t for _, t in cols], disable_numparse=True
    )


def _print_card(card: dict[str, Any], alpha: float) -> None:
    head = f"== {card['query']}  (normalised: {card['key']!r})"
    print(head)
    if card["spellings"]:
        print(f"spellings matched: {', '.join(card['spellings'])}")
    if card["datasets"]:
        print(f"datasets: {', '.join(card['datasets'])}")
    if card.get("note"):
        print(f"note: {card['note']}")
    if card["nearest"]:
        print(f"nearest known names: {', '.join(card['nearest'])}")
    if card["counts"]:
        print()
        print(
            _table(
                card["counts"],
                [
                    ("pretraining", "pretraining"),
                    ("label", "count type"),
                    ("count", "count"),
                    ("percentile", "percentile"),
                    ("where", "datasets (where they count it differently)"),
                ],
            )
        )
    if card["performance"]:
        print()
        rows = [{**r, "model": f"{r['pretraining']}/{r['model']}"} for r in card["performance"]]
        print(
            _table(
                rows,
                [
                    ("model", "model"),
                    ("task", "task"),
                    ("dataset", "dataset"),
                    ("metric", "metric"),
                    ("count", "count"),
                    ("value", "measured"),
                    ("predicted", "law"),
                    ("pi_low", f"{1 - alpha:.0%} PI low"),
                    ("pi_high", "PI high"),
                    ("residual", "residual"),
                ],
            )
        )
    print()
    if card["examples"]:
        for e in card["examples"]:
            where = f"  [{e['image']}]" if e["image"] else ""
            print(f"  {e['sample_id']}: {e['caption']}{where}")
    elif card["known"] or card["counted_now"]:
        print(f"examples: {card.get('examples_note') or 'no caption hits'}")
    print()


def _cmd_lookup(args: argparse.Namespace) -> int:
    names = list(args.concepts or [])
    if args.file:
        names += read_concept_file(args.file)
    if not names:
        raise UsageError("wag lookup: give concept names or --file FILE; see `wag lookup --help`")
    if args.examples < 0:
        raise UsageError(f"--examples must be 0 or more (got {args.examples}); give e.g. 3")
    if args.html:
        if Path(args.html).expanduser().is_dir():
            raise UsageError(f"--html {args.html} is a folder; give the path of the page to write, e.g. cards.html")
        check_output_dir(Path(args.html).expanduser().parent, "--html folder")
    profile, src = _profile_and_source(args)
    from wag.sources.lookup import law_figure, lookup  # lazy: statsmodels

    res = lookup(src, names, model=args.model, n_examples=args.examples, seed=args.seed, alpha=args.alpha)
    if args.json:
        out = {"profile": profile.name, "source": src.name, "alpha": args.alpha, "concepts": res.cards}
        print(json.dumps(_json_ready(out), indent=1, ensure_ascii=False))
        return 0
    if args.html:
        from wag.core.io import write_text
        from wag.report.card import cards_page, chart_svg

        svgs = []
        for card in res.cards:
            fig = law_figure(res, [card])
            svgs.append(chart_svg(fig[0]) if fig is not None else None)
        page = cards_page(
            res.cards,
            svgs,
            title=f"Concept cards: {', '.join(c['query'] for c in res.cards)}"[:200],
            intro=f"{src.describe()}. The law (Fig. 2, per concept): performance = a + b·log10(count), fitted by OLS "
            f"over every concept of a model; PI = the {1 - args.alpha:.0%} prediction interval of a new concept; "
            "residual = measured − predicted.",
        )
        path = write_text(args.html, page)
        print(f"wrote {path} ({len(res.cards)} concept card(s))")
        return 0
    print(f"source: {src.name}; laws fitted per model over all its concepts (Fig. 2's selection)\n")
    for card in res.cards:
        _print_card(card, args.alpha)
    return 0


def _plan_budget(args: argparse.Namespace) -> int:
    """``wag plan --budget N``: the three allocations side by side (table; chart and files with --out)."""
    if args.concept is not None or args.target is not None:
        raise UsageError("wag plan: --budget plans over a concept list; drop --concept/--target (or --budget)")
    names = read_concept_file(args.concepts) if args.concepts else None
    out_dir = check_output_dir(args.out, "--out") if args.out else None
    profile, src = _profile_and_source(args)
    from wag.sources.budget import plan_budget  # lazy: statsmodels

    res = plan_budget(src, args.budget, concepts=names, model=args.model, alpha=args.alpha, cap=args.cap)
    g = res.group
    who = f"{g['pretraining']}/{g['model']} ({g['task']}, {g['metric']}, counts: {g['count_type']})"
    if out_dir is not None:
        _write_budget(res, profile, out_dir, who)
    if args.json:
        out = {
            "profile": profile.name,
            "source": src.name,
            "budget": res.budget,
            "law": {**res.group, **res.law.to_dict()},
            "summary": res.summary.to_dict(orient="records"),
            "rows": res.table.to_dict(orient="records"),
        }
        print(json.dumps(_json_ready(out), indent=1, ensure_ascii=False))
        return 0
    print(f"source: {src.name}; budget {res.budget:,} new samples over {res.table['concept'].nunique():,} concepts")
    print(f"law of {who}: slope {res.law.slope:.3f} per decade, fitted on {res.law.n} concept × dataset rows\n")
    cols = [
        ("strategy", "strategy"),
        ("added", "added"),
        ("unspent", "unspent"),
        ("concepts_raised", "concepts raised"),
        ("threshold", "threshold t"),
        ("mean_before", "mean now"),
        ("mean_after", "mean after"),
        ("predicted_gain", "gain"),
        ("gain_low", "gain low"),
        ("gain_high", "gain high"),
    ]
    rows = [
        {**r, "threshold": int(r["threshold"]) if r["threshold"] == r["threshold"] else r["threshold"]}
        for r in res.summary.to_dict(orient="records")
    ]
    print(_table(rows, cols))
    top = res.table[res.table["strategy"] == "planner"].sort_values(
        ["added", "concept"], ascending=[False, True], kind="stable"
    )
    top = top[top["added"] > 0].head(10)
    if len(top):
        print("\nplanner: the concepts that get the most samples")
        print(
            _table(
                top.to_dict(orient="records"),
                [
                    ("concept", "concept"),
                    ("count_before", "count now"),
                    ("added", "added"),
                    ("predicted_before", "predicted now"),
                    ("predicted_after", "predicted after"),
                    ("pi_low_after", "PI low"),
                    ("pi_high_after", "PI high"),
                ],
            )
        )
    print(
        "\nplanner: greedy marginal gain of the mean predicted performance; uniform: the budget split evenly; "
        "balanced: every concept below the threshold count t raised to t. Gain interval: the slope's "
        f"{1 - args.alpha:.0%} interval; PI: the {1 - args.alpha:.0%} prediction interval of a concept after."
    )
    if out_dir is not None:
        print(f"written: {out_dir / 'plan'}")
    return 0


def _write_budget(res: Any, profile: Any, out_dir: Path, who: str) -> None:
    from wag.analysis.plan_plots import allocation_chart  # lazy: altair
    from wag.report.writer import Report  # lazy: vl-convert

    report = Report("plan", profile, out_dir=out_dir, notebook="wag plan --budget")
    n = res.budget
    report.table(
        res.summary,
        f"budget_{n}",
        paper="Fig. 2's law used to plan data (beyond the paper)",
        claim=f"{n:,} new samples spread by the planner, uniformly and balanced; the law of {who} predicts the gains",
    )
    report.table(
        res.table,
        f"budget_{n}_concepts",
        paper="Fig. 2's law used to plan data (beyond the paper)",
        claim="Per concept and strategy: samples added, predicted performance before and after, prediction interval",
    )
    report.figure(
        allocation_chart(res.table, title=f"{n:,} new samples: where each strategy puts them"),
        f"budget_{n}",
        paper="Fig. 2's law used to plan data (beyond the paper)",
        claim="Samples added per concept against its count today, per strategy",
        data=res.table,
    )


def _cmd_plan(args: argparse.Namespace) -> int:
    if args.budget is not None:
        return _plan_budget(args)
    if args.concept is None or args.target is None:
        raise UsageError("wag plan: give --concept NAME --target FRACTION, or --budget N; see `wag plan --help`")
    profile, src = _profile_and_source(args)
    from wag.sources.concept_plan import plan_concept  # lazy: statsmodels

    plan = plan_concept(src, args.concept, args.target, model=args.model, alpha=args.alpha)
    if args.json:
        out = {
            "profile": profile.name,
            "source": src.name,
            "concept": args.concept,
            "target": args.target,
            "alpha": args.alpha,
            "rows": plan.to_dict(orient="records"),
        }
        print(json.dumps(_json_ready(out), indent=1, ensure_ascii=False))
        return 0
    rows = [{**r, "model": f"{r['pretraining']}/{r['model']}"} for r in plan.to_dict(orient="records")]
    print(f"source: {src.name}; concept {args.concept!r}, target {args.target:g}\n")
    print(
        _table(
            rows,
            [
                ("model", "model"),
                ("task", "task"),
                ("dataset", "dataset"),
                ("count", "count now"),
                ("value", "measured"),
                ("planned_count", "law: count"),
                ("factor", "× now"),
                ("factor_low", "× low"),
                ("factor_high", "× high"),
                ("anchored_count", "own path: count"),
                ("status", "status"),
            ],
        )
    )
    reasons = dict.fromkeys(r["reason"] for r in rows if isinstance(r["reason"], str) and r["reason"])
    for why in reasons:
        print(f"unreachable: {why}")
    print(
        f"\nlaw: the count where the model's law predicts {args.target:g}, × its interval where the "
        f"{1 - args.alpha:.0%} prediction band crosses it; own path: the concept keeps its residual (the law's slope)."
    )
    return 0


def _alpha(text: str) -> float:
    v = unit_float(text)
    if not 0.0 < v < 1.0:
        raise WagError(f"--alpha must be strictly between 0 and 1 (got {text}); give e.g. 0.05 for 95% intervals")
    return v


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="default", help="profile name in params/ or a YAML path (default: default)")
    p.add_argument("--model", default=None, help="one model only: <pretraining>/<model> (e.g. cc3m/RN50) or its name")
    p.add_argument("--alpha", type=_alpha, default=0.05, help="1 - interval level (default 0.05: 95%% intervals)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one profile key (as wag reproduce)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``wag lookup`` and ``wag plan`` to the ``wag`` command."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "lookup",
        help="a concept's counts, examples, and each model's performance beside the law's prediction",
        description="Look up concepts on the profile's source (the paper's released files, or a study): counts in "
        "every pretraining set and count type with their long-tail percentile, example captions, each model's "
        "performance beside the per-concept law's prediction with its prediction interval, and the residual.",
        epilog=LOOKUP_EXAMPLES,
        formatter_class=fmt,
    )
    p.add_argument("concepts", nargs="*", metavar="CONCEPT", help="concept names (quote multi-word names)")
    p.add_argument("--file", default=None, metavar="FILE", help="more concept names, one per line")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help='print JSON (NaN as null, infinity as "inf")')
    out.add_argument("--html", default=None, metavar="OUT", help="write a self-contained HTML page of concept cards")
    p.add_argument("--examples", type=int, default=3, metavar="N", help="example captions per concept (default 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the example draw (default 0)")
    _common(p)
    p.set_defaults(func=_cmd_lookup)

    q = subparsers.add_parser(
        "plan",
        help="how much data a concept needs: the count at which the law predicts a target, with an interval",
        description="Turn the law around: for --concept, the count at which each model's per-concept law predicts "
        "--target, the factor over today's count and its interval (where the prediction band crosses the target); "
        "'unreachable within the data we have' when the interval says so. With --budget N: how to spread N new "
        "samples over a concept list to raise the mean predicted performance most (the planner: greedy marginal "
        "gain), beside a uniform split and MetaCLIP-style balancing (every concept below a threshold count t raised "
        "to t) with the same budget.",
        epilog=PLAN_EXAMPLES,
        formatter_class=fmt,
    )
    q.add_argument("--concept", default=None, metavar="NAME", help="the concept to plan for")
    q.add_argument("--target", type=unit_float, default=None, metavar="FRACTION", help="target performance in [0, 1]")
    q.add_argument("--json", action="store_true", help="print JSON")
    q.add_argument(
        "--budget", type=positive_int, default=None, metavar="N", help="new samples to spread over a concept list"
    )
    q.add_argument(
        "--concepts", default=None, metavar="FILE", help="with --budget: the concepts, one per line (default: all)"
    )
    q.add_argument(
        "--cap", type=positive_float, default=None, metavar="COUNT", help="with --budget: raise no concept above COUNT"
    )
    q.add_argument("--out", default=None, metavar="DIR", help="with --budget: write the tables and the chart (plan/)")
    _common(q)
    q.set_defaults(func=_cmd_plan)
