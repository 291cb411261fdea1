"""Tab. 10 (App. P), ours beside the paper's: the hours wag would need to count each pretraining set, projected.

The paper's Tab. 10 gives, per pretraining set, the disk size, shard count and wall-clock hours of its RAM++ tagging
and of its text index. None can be re-measured here (the raw sets are not on this machine), but wag's benchmarks
measure its own throughput, recorded with the machine, command and date in ``wag/data/throughput.json``
(written by ``benchmarks/count_captions.py --record`` and ``benchmarks/study.py --record``). Scaled to each set's
size, they *project* what the same work would take with wag on that machine: a projection, not a reproduction, so
the scorecard keeps the paper's rows "not reproducible here" and names the projection beside them.

The projection scales CPU-seconds per item (user + system, all threads), which a shared machine disturbs far less
than wall time: ``<work>_core_h`` = pairs / items per CPU-second / 3600, and ``<work>_h`` = that over the measuring
run's cores (the wall-clock on that machine with its cores all busy on the work: shards count independently). The
wall-clock rates measured under the recorded load are listed beside them (:func:`measurements`).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from wag.analysis.scorecard import row
from wag.artifacts import FIXED_DATASET_SIZES
from wag.core.errors import WagError
from wag.core.schema import StrictModel

#: Tab. 10's sets with their image-text pairs: the paper's fixed dataset sizes (Tab. 3) and SynthCI-30M's 30M pairs.
SETS: dict[str, tuple[str, int]] = {
    "cc3m": ("CC-3M", FIXED_DATASET_SIZES["cc3m"]),
    "cc12m": ("CC-12M", FIXED_DATASET_SIZES["cc12m"]),
    "yfcc15m": ("YFCC-15M", FIXED_DATASET_SIZES["yfcc15m"]),
    "laion400m": ("LAION-400M", FIXED_DATASET_SIZES["laion400m"]),
    "laion_aesthetics": ("LAION-Aesthetics", FIXED_DATASET_SIZES["laion_aesthetics"]),
    "synthci30m": ("SynthCI-30M", 30_000_000),
}
#: the measurements a projection reads: (record key, column prefix); the last is filled once recorded
PROJECTIONS = (
    ("text_count", "wag_text_count"),
    ("image_tag", "wag_image_tag"),
    ("image_tag_bf16", "wag_image_tag_bf16"),
    ("image_count_embeddings", "wag_image_count_embeddings"),
)
NOT_MEASURED = {
    "image_count_embeddings": "image counts from stored image embeddings (issue 18): run "
    "`python benchmarks/study.py --stages embed --record`",
}
TABLE10_COLUMNS = [
    "pretraining",
    "pairs",
    "paper_disk",
    "paper_shards",
    "paper_rampp_h",
    "paper_text_index_h",
    *(f"{p}_{u}" for _, p in PROJECTIONS for u in ("h", "core_h")),
]


class ThroughputError(WagError):
    """The benchmarks' throughput record is missing a measurement or malformed."""


class Throughput(StrictModel):
    """One measured throughput: ``per_second`` items (``unit``) per wall second on ``workers`` cores of ``machine``."""

    what: str
    unit: str
    per_second: float
    per_cpu_second: float
    workers: int
    machine: str
    command: str
    date: str
    load: str


class ThroughputRecord(StrictModel):
    """``wag/data/throughput.json``: measurement name -> :class:`Throughput`."""

    measurements: dict[str, Throughput]


def read_throughput(path: str | Path | None = None) -> ThroughputRecord:
    """The committed throughput record (or the file ``path``), validated."""
    where = path or "wag/data/throughput.json"
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else (resources.files("wag") / "data" / "throughput.json").read_text(encoding="utf-8")
        )
        return ThroughputRecord.model_validate_json(text)
    except FileNotFoundError:
        raise ThroughputError(
            f"{where} not found; run `python benchmarks/count_captions.py --record` and `python benchmarks/study.py --record`"
        ) from None
    except ValidationError as exc:
        raise ThroughputError(f"{where} is malformed: {exc}; rerun the benchmark that wrote it with --record") from None


def core_hours(items: int, t: Throughput) -> float:
    """CPU hours to process ``items`` at ``t``'s items per CPU-second."""
    return items / t.per_cpu_second / 3600.0


def table10(record: ThroughputRecord, paper: dict[str, Any]) -> pd.DataFrame:
    """One row per set: pairs, the paper's four printed values and wag's projected hours and core-hours (NaN where
    not measured).

    ``paper`` maps the scorecard ids ``tab10/<set>/<disk|shards|rampp_hours|text_index_hours>`` to their entries
    (:func:`wag.analysis.scorecard.paper_reported` ``.by_id()``); disk is printed as given (GB or TB)."""
    m = record.measurements
    if "text_count" not in m or "image_tag" not in m:
        raise ThroughputError(
            "the throughput record lacks text_count or image_tag; run `python benchmarks/count_captions.py --record` "
            "and `python benchmarks/study.py --record`"
        )
    out = []
    for key, (_, pairs) in SETS.items():
        disk = paper[f"tab10/{key}/disk"]
        rec: dict[str, Any] = {
            "pretraining": key,
            "pairs": pairs,
            "paper_disk": f"{disk.value:g} {disk.unit}",
            "paper_shards": int(paper[f"tab10/{key}/shards"].value),
            "paper_rampp_h": float(paper[f"tab10/{key}/rampp_hours"].value),
            "paper_text_index_h": float(paper[f"tab10/{key}/text_index_hours"].value),
        }
        for name, col in PROJECTIONS:
            core = core_hours(pairs, m[name]) if name in m else math.nan
            rec[f"{col}_h"] = core / m[name].workers if name in m else math.nan
            rec[f"{col}_core_h"] = core
        out.append(rec)
    return pd.DataFrame(out, columns=TABLE10_COLUMNS)


def measurements(record: ThroughputRecord) -> pd.DataFrame:
    """The measurements the projection uses, with machine, command and date (and the ones not measured yet)."""
    rows = []
    for name, _ in PROJECTIONS:
        t = record.measurements.get(name)
        if t is None:
            rows.append({"measurement": name, "what": NOT_MEASURED.get(name, "not measured")})
            continue
        rows.append({"measurement": name, **t.model_dump()})
    cols = ["measurement", *Throughput.model_fields]
    return pd.DataFrame(rows).reindex(columns=cols)


def table10_rows(table: pd.DataFrame, record: ThroughputRecord) -> list[dict[str, Any]]:
    """Scorecard rows: every Tab. 10 value stays not reproducible, naming the missing input and wag's projection."""
    text, tag = record.measurements["text_count"], record.measurements["image_tag"]
    emb = record.measurements.get("image_count_embeddings")
    rows = []
    for r in table.itertuples():
        name = SETS[r.pretraining][0]
        copy = f"the paper's copy of {name} ({r.pairs:,} image-text pairs as WebDataset shards) is not on this machine"
        rows.append(
            row(f"tab10/{r.pretraining}/disk", None, missing=f"{copy}: its size on disk is a property of that copy")
        )
        rows.append(
            row(f"tab10/{r.pretraining}/shards", None, missing=f"{copy}: its shard count is how it was sharded")
        )
        rows.append(
            row(
                f"tab10/{r.pretraining}/rampp_hours",
                None,
                missing=f"RAM++ wall-clock on the paper's hardware needs {name}'s raw images; wag's projection beside "
                f"it (not a reproduction): {r.wag_image_tag_h:,.0f} h of image tagging with {tag.workers} workers on "
                f"{tag.machine} ({r.wag_image_tag_core_h:,.0f} core-hours at {tag.per_cpu_second:,.1f} images per "
                f"CPU-second; {tag.what}"
                + (
                    f"; from the stored CLIP image embeddings instead: {r.wag_image_count_embeddings_h:,.1f} h "
                    f"({r.wag_image_count_embeddings_core_h:,.1f} core-hours at {emb.per_cpu_second:,.0f} embeddings "
                    f"per CPU-second; {emb.what})"
                    if emb is not None
                    else ""
                )
                + "; 2_concepts_and_frequency/table10)",
            )
        )
        rows.append(
            row(
                f"tab10/{r.pretraining}/text_index_hours",
                None,
                missing=f"the paper's text-index wall-clock needs {name}'s captions; wag's projection beside it (not a "
                f"reproduction): {r.wag_text_count_h:,.2f} h of caption counting with {text.workers} workers on "
                f"{text.machine} ({r.wag_text_count_core_h:,.2f} core-hours at {text.per_cpu_second:,.0f} captions per "
                f"CPU-second; {text.what}; 2_concepts_and_frequency/table10)",
            )
        )
    return rows
