"""The tag stage's per-shard cache: what tagging one shard gave, kept so it is never computed twice.

Each shard's result (its tags at ``min_score`` and above, the images read, what could not be decoded, and with
``stages.tag.save_embeddings`` its unit image embeddings) is written atomically to ``tag/cache/<key>/`` as soon as
the shard finishes. The key holds everything the scores depend on (the tagger without its thresholds, the model's
fingerprint, the concept names, the corpus declaration and exclusions, the precision, the shard's path, size and
mtime) and nothing they do not: so a threshold (or calibration) change finds every shard cached and reruns only the
thresholding, and a tag stage killed after k shards resumes from those k.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from wag.core.ids import content_key, stat_fingerprint
from wag.core.io import atomic_dir, read_json
from wag.frequency.tagging import TAG_COLUMNS, write_tags

CACHE = "tag/cache"
#: the tagger fields the scores depend on (thresholds, the headline threshold and the label do not change them)
SCORE_FIELDS = ("kind", "model", "descriptions", "templates", "batch_size", "min_score")


def shard_key(identity: Any, shard: Path | str, embeddings: bool) -> str:
    """The cache key of one shard's result under the tagger ``identity`` (:func:`wag.study.stages.tag.score_identity`)."""
    return content_key({"identity": identity, "shard": stat_fingerprint(shard), "embeddings": embeddings, "v": 1})


def cache_path(out: Path, key: str) -> Path:
    return out / CACHE / key


def write_entry(folder: Path, r: Any) -> None:
    """Store a :class:`wag.study.stages.tag.ShardTags` atomically (a folder renamed into place when whole)."""
    with atomic_dir(folder) as tmp:
        write_tags(tmp / "tags.parquet", r.tags if len(r.tags) else pd.DataFrame(columns=TAG_COLUMNS))
        info = {"n_images": r.n_images, "undecodable": r.undecodable, "skipped": r.skipped}
        (tmp / "shard.json").write_text(json.dumps(info), encoding="utf-8")
        if r.emb is not None:
            np.save(tmp / "img_emb.npy", np.ascontiguousarray(r.emb, dtype=np.float32), allow_pickle=False)
            pd.DataFrame({"key": [str(k) for k in r.ids]}).to_parquet(tmp / "keys.parquet", index=False)


def read_entry(folder: Path, embeddings: bool) -> dict[str, Any] | None:
    """The fields of a cached shard result (None when absent or damaged: the shard is tagged again)."""
    try:
        info = read_json(folder / "shard.json")
        tags = pd.read_parquet(folder / "tags.parquet")
        ids = emb = None
        if embeddings:
            emb = np.load(folder / "img_emb.npy", allow_pickle=False)
            ids = pd.read_parquet(folder / "keys.parquet")["key"].astype(str).tolist()
    except Exception:  # noqa: BLE001 - any unreadable entry is recomputed, never trusted
        return None
    return {
        "tags": tags,
        "n_images": int(info["n_images"]),
        "undecodable": list(info["undecodable"] or []),
        "skipped": info["skipped"],
        "ids": ids,
        "emb": emb,
    }
