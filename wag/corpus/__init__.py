"""Streaming readers for caption/image shards: Parquet, TSV (CC-3M / CC-12M / YFCC-15M), JSONL, WebDataset tars.

Every reader yields Arrow record batches with two string columns, ``sample_id`` and ``caption``
(:func:`iter_batches`), or plain dicts (:func:`iter_samples`). Memory is bounded by the batch size.

Sample ids: an id column when the shard has one (``key``, ``sample_id``, ``id``, ``SAMPLE_ID``; or
the WebDataset ``__key__``), else ``<shard file name>:<row number>``. Captions of null/missing rows
are read as the empty string (they never match a concept).

Formats (``fmt``): ``parquet``, ``jsonl``, ``wds``, ``tsv`` (auto: header names or the column that
holds URLs), ``tsv-cc3m`` (caption, url), ``tsv-cc12m`` (url, caption), ``tsv-yfcc15m``
(url, caption), as used by the paper's index builder.

Modules: :mod:`~wag.corpus.shards` (formats, :func:`detect_format`, :func:`iter_shards`), one reader per format
(:mod:`~wag.corpus.parquet`, :mod:`~wag.corpus.tsv`, :mod:`~wag.corpus.jsonl`, :mod:`~wag.corpus.webdataset`),
:mod:`~wag.corpus.batches` (what they share) and :mod:`~wag.corpus.reader` (:func:`iter_batches`,
:func:`iter_samples`: the one entry point).
"""

from wag.corpus.reader import iter_batches, iter_samples
from wag.corpus.shards import (
    BATCH_SIZE,
    CAPTION_COLUMNS,
    FORMATS,
    ID_COLUMNS,
    TSV_LAYOUTS,
    CorpusError,
    Shard,
    detect_format,
    iter_shards,
)
from wag.corpus.webdataset import iter_wds_groups, whole_tar_members

__all__ = [
    "BATCH_SIZE",
    "CAPTION_COLUMNS",
    "FORMATS",
    "ID_COLUMNS",
    "TSV_LAYOUTS",
    "CorpusError",
    "Shard",
    "detect_format",
    "iter_batches",
    "iter_samples",
    "iter_shards",
    "iter_wds_groups",
    "whole_tar_members",
]
