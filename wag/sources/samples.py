"""A study corpus's samples for a concept lookup: example hits drawn reproducibly, their captions, new concepts counted.

:func:`draw_examples` draws a few hits per concept (seeded, from the sorted sample ids, so the draw does not depend on
the order the hits were written in); :func:`corpus_samples` reads the captions (and where the images are) of those
samples, stopping once all are found; :func:`count_in_corpus` counts concepts the study does not list with its main
text count type, exactly as ``wag count`` does, cached by the shards, the names and the options.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from wag.concepts import concept_table
from wag.core.cache import cache_path, cached_table
from wag.core.ids import stat_fingerprint, tree_fingerprint
from wag.core.tables import variant_name
from wag.corpus import iter_samples, iter_shards
from wag.frequency import count_captions
from wag.study.checks import shard_files
from wag.study.context import excluded_ids
from wag.study.spec import StudySpec

#: The dataset name of concepts counted on the fly (they belong to no evaluated dataset).
NEW_DATASET = "lookup"


def draw_examples(hits: pd.DataFrame, concepts: list[str], *, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` distinct sample ids per concept (``concept, sample_id``), drawn without replacement with ``seed``."""
    rows = []
    for c in concepts:
        ids = np.sort(hits.loc[hits["concept"].astype(str) == c, "sample_id"].astype(str).unique())
        if len(ids) == 0:
            continue
        rng = np.random.default_rng(seed)
        take = ids[np.sort(rng.choice(len(ids), size=min(n, len(ids)), replace=False))]
        rows += [{"concept": c, "sample_id": str(i)} for i in take]
    return pd.DataFrame(rows, columns=["concept", "sample_id"])


def corpus_samples(spec: StudySpec, ids: set[str]) -> dict[str, tuple[str, str]]:
    """``sample_id -> (caption, image location)`` of ``ids`` in the study's corpus (shards read until all are found)."""
    c = spec.corpus
    out: dict[str, tuple[str, str]] = {}
    for shard in iter_shards([str(p) for p in shard_files(spec)], c.format):
        with_images = shard.fmt == "wds"
        for s in iter_samples(shard, caption_column=c.caption_column, id_column=c.id_column, with_images=with_images):
            sid = str(s["sample_id"])
            if sid not in ids:
                continue
            if "image_member" in s:
                image = f"{shard.path}:{s['image_member']}"
            elif shard.fmt == "parquet" and c.image_column:
                image = f"{shard.path}:{c.image_column}[{sid}]"
            else:
                image = ""
            out[sid] = (str(s.get("caption") or ""), image)
            if len(out) == len(ids):
                return out
    return out


def _count_parts(spec: StudySpec, names: list[str], variant: str) -> dict[str, Any]:
    c = spec.corpus
    return {
        "shards": [stat_fingerprint(p) for p in shard_files(spec)],
        "names": list(names),
        "variant": variant,
        "format": c.format,
        "caption_column": c.caption_column,
        "id_column": c.id_column,
        "exclude": tree_fingerprint(spec.path(c.exclude)) if c.exclude else None,
    }


def count_in_corpus(spec: StudySpec, names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Count ``names`` in the study's corpus with its main text variant: ``(frequencies rows with key, hits)``.

    The same engine and options as the count stage (and ``wag count``); the samples of ``study.corpus.exclude`` lose
    their hits as in the count stage. Cached (``<cache>/lookup_new_*``) by the shards' fingerprints, names and options.
    """
    c = spec.corpus
    variant = spec.stages.count.variants[0]
    table = concept_table(list(dict.fromkeys(names)), dataset=NEW_DATASET, task="classification")
    parts = _count_parts(spec, list(table["concept"]), variant)
    computed: dict[str, pd.DataFrame] = {}

    def compute() -> None:
        res = count_captions(
            [str(p) for p in shard_files(spec)],
            table,
            variant=variant,
            fmt=c.format,
            progress=False,
            pretraining=c.name,
            caption_column=c.caption_column,
            id_column=c.id_column,
        )
        hits = res.hits[["concept", "sample_id"]].astype(str).drop_duplicates(ignore_index=True)
        excl = excluded_ids(spec)
        counts = res.counts.copy()
        if excl:
            gone = hits["sample_id"].isin(excl)
            removed = hits.loc[gone, "concept"].value_counts()
            counts["count"] = counts["count"] - counts["concept"].astype(str).map(removed).fillna(0).astype(int)
            hits = hits[~gone].reset_index(drop=True)
        computed["counts"], computed["hits"] = counts, hits

    def part(name: str) -> pd.DataFrame:
        if name not in computed and not cache_path(f"lookup_new_{name}", parts).is_file():
            compute()
        return cached_table(f"lookup_new_{name}", parts, lambda: computed[name])

    hits, counts = part("hits"), part("counts")
    counts = counts.merge(table[["concept", "key"]], on="concept", how="left").assign(
        variant=variant_name("text", text=variant), method="text"
    )
    return counts, hits
