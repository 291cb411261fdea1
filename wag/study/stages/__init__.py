"""The stages of a study, one module each, in run order: each a thin call into an engine that writes tidy tables.

| stage | engine | writes (under the study folder) |
|---|---|---|
| count | ``wag.frequency.count_captions`` (every declared variant) | ``concepts.parquet``, ``count/frequencies.parquet``, ``count/hits.parquet``, ``count/corpus.json`` |
| tag | ``wag.frequency.tagging`` (open_clip zero-shot, RAM++ or a tagger checkpoint; threads or Dask, shard by shard, each shard cached) or ``wag.frequency.embeddings`` (stored image embeddings, one task per file) | ``tag/tags.parquet`` (scores), ``tag/frequencies.parquet``, ``tag/hits.parquet``, ``tag/summary.json`` (+ ``tag/embeddings/`` with ``stages.tag.save_embeddings``) |
| integrate | ``wag.frequency.integrated.integrated_counts`` | ``integrate/frequencies.parquet``, ``integrate/hits.parquet`` |
| misalignment | ``wag.frequency.misalignment.misalignment`` | ``misalignment/misalignment.parquet`` |
| zeroshot | ``wag.evaluate.zeroshot.evaluate_zeroshot`` | ``zeroshot/performance.parquet`` |
| retrieval | ``wag.evaluate.retrieval.evaluate_retrieval`` | ``retrieval/performance.parquet`` |
| t2i | ``wag.evaluate.t2i.evaluate_t2i`` per declared pipeline (CLIP-score; judged accuracy with ``stages.t2i.judge``) | ``t2i/performance.parquet`` (task t2i), ``t2i/images/`` |
| letitwag | ``wag.evaluate.letitwag.build_let_it_wag`` + zero-shot on it | ``letitwag/benchmark/``, ``letitwag/frequencies.parquet``, ``letitwag/performance.parquet`` |

Each module declares its :class:`~wag.study.context.Stage` (``STAGE``: name, inputs, run, outputs, upstream stages,
when it is on). Every table carries the study's names (``pretraining`` = corpus name, ``model`` = model name,
``dataset`` = dataset name) and the concept ``key``, and is checked against its contract (:mod:`wag.core.tables`)
before it is written atomically. Each stage has a fingerprint of its inputs (files by path, size and mtime;
parameters; the fingerprints of the stages it reads), which the runner (:mod:`wag.study.run`) compares with the
record of the last run.

``study.corpus.exclude`` (a file of sample ids) leaves samples out of the corpus: the count stage drops their
captions and hits, the tag stage skips their images before decoding them (so they cost nothing, and integrate and
misalignment see the filtered corpus too).
"""

from __future__ import annotations

from wag.study.context import Stage
from wag.study.stages import count, integrate, letitwag, misalignment, retrieval, t2i, tag, zeroshot

#: The stages in run order (names also in :data:`wag.study.spec.STAGE_NAMES`, which the CLI reads without importing
#: the engines).
STAGES: dict[str, Stage] = {
    m.STAGE.name: m.STAGE for m in (count, tag, integrate, misalignment, zeroshot, retrieval, t2i, letitwag)
}
