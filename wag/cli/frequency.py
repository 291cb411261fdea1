"""``wag count``: count concepts in a caption corpus (a thin layer over :func:`wag.frequency.count_captions`)."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Any

from wag.concepts import read_concepts
from wag.core.checks import check_output_dir, check_scheduler, positive_float, positive_int
from wag.core.errors import WagError, WagWarning
from wag.core.io import clean_temp_files
from wag.core.lock import folder_lock
from wag.corpus import iter_shards
from wag.frequency import BACKENDS, VARIANTS, count_captions


def _cmd_count(args: argparse.Namespace) -> int:
    check_output_dir(args.out)
    iter_shards(args.corpus if len(args.corpus) > 1 else args.corpus[0], args.format)  # paths exist, formats known
    concepts = read_concepts(args.concepts, dataset=args.dataset, task=args.task)
    client = None
    if args.scheduler and args.backend != "dask":
        raise WagError(
            f"--scheduler {args.scheduler} needs --backend dask (got --backend {args.backend}); add --backend dask or drop --scheduler"
        )
    if args.backend == "dask" and args.scheduler:
        from distributed import Client  # lazy: dask only for a scheduler address

        address = check_scheduler(args.scheduler, args.connect_timeout)
        try:
            client = Client(address, timeout=f"{args.connect_timeout}s")
        except (OSError, TimeoutError) as exc:
            raise WagError(
                f"Dask scheduler at {args.scheduler} did not accept a client within {args.connect_timeout:g} s "
                f"({type(exc).__name__}); check that it is a Dask scheduler and its version matches, or raise --connect-timeout"
            ) from None
    with folder_lock(args.out, "wag count") as lock:  # one count per folder; what a killed one left is cleaned
        if (took := lock.describe_stale()) is not None:
            warnings.warn(took, WagWarning, stacklevel=1)
        clean_temp_files(args.out)
        return _count(args, concepts, client)


def _count(args: argparse.Namespace, concepts: Any, client: Any) -> int:
    res = count_captions(
        args.corpus if len(args.corpus) > 1 else args.corpus[0],
        concepts,
        variant=args.variant,
        fmt=args.format,
        workers=args.workers,
        out_dir=args.out,
        progress=not args.quiet,
        pretraining=args.pretraining,
        backend=args.backend,
        client=client,
        caption_column=args.caption_column,
        id_column=args.id_column,
        batch_size=args.batch_size,
    )
    top = res.counts.sort_values("count", ascending=False).head(5)
    print(
        f"{res.n_captions:,} captions, {len(res.counts):,} concepts, variant {res.variant}; top: "
        + ", ".join(f"{c} ({n:,})" for c, n in zip(top["concept"], top["count"], strict=True))
    )
    print(f"wrote {args.out}/counts.parquet (frequencies table) and {args.out}/hits.parquet (concept, sample_id)")
    for path, why in res.failures:
        print(f"error: failed shard {path}: {why}", file=sys.stderr)
    return 1 if res.failures else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``wag count`` to the ``wag`` command."""
    p = subparsers.add_parser(
        "count",
        help="count concepts in caption shards (Parquet, TSV, JSONL, WebDataset); resumable per shard",
        description="Count concepts in captions. Finished shards are stored under OUT/shards and never recounted; "
        "outputs are written atomically. Exit status 1 if some shard could not be read (the others are counted).",
    )
    p.add_argument("--corpus", required=True, nargs="+", metavar="PATH", help="shard file(s), folder(s) or glob(s)")
    p.add_argument(
        "--concepts", required=True, metavar="FILE", help="concept list: .txt (one per line), .json, .csv or .parquet"
    )
    p.add_argument("--variant", default="phrase", choices=VARIANTS, help="count variant (default: phrase)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--format",
        default=None,
        help="shard format override: parquet, tsv, tsv-cc3m, tsv-cc12m, tsv-yfcc15m, jsonl, wds",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        help="threads, processes or Dask workers of a local cluster (see --backend)",
    )
    p.add_argument(
        "--backend",
        default="threads",
        choices=BACKENDS,
        help="threads (default: one shared engine), processes (vocabularies that keep growing), dask (many machines)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address (backend dask; default: a local cluster)",
    )
    p.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=5.0,
        metavar="SECONDS",
        help="seconds to wait for the Dask scheduler to answer (default: 5)",
    )
    p.add_argument("--caption-column", default=None, help="caption column/field (default: detected)")
    p.add_argument("--id-column", default=None, help="sample id column/field (default: detected, else <file>:<row>)")
    p.add_argument(
        "--pretraining", default=None, help="pretraining set name for the table (default: corpus folder name)"
    )
    p.add_argument(
        "--dataset", default=None, help="downstream dataset name of the concepts (default: concept file stem)"
    )
    p.add_argument("--task", default="classification", choices=("classification", "retrieval", "t2i"))
    p.add_argument(
        "--batch-size", type=positive_int, default=65_536, help="captions per vectorised batch (memory bound)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_count)
