"""What an experiment of the synthetic world declares (:class:`Experiment`), and its cache key.

Each experiment module (``headline``, ``intervention``, ...) declares one :class:`Experiment`; the registry
(:mod:`wag.experiments.registry`) reads those declarations to plan trainings (:func:`~wag.experiments.registry.prepare`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from wag.concepts import NORMALIZER_VERSION
from wag.core.cache import cache_path, cached_table
from wag.synthetic.jobs import Job
from wag.synthetic.params import SyntheticParams

CACHE_VERSION = 6  # 6: counts and evaluation through the public study stages; variant names from wag.core.tables

#: blocks of ``synthetic.experiments`` in every experiment's key (the seeds and the tagger make the shared counts)
SHARED_PARAMS = ("seeds", "tagger_threshold", "tagger")


def cache_parts(sp: SyntheticParams, own: str | None = None, **extra: object) -> dict:
    """Cache-key inputs of one experiment: world, model, training, seeds, tagger and threshold, its ``own`` block of
    ``synthetic.experiments`` and the ``extra`` parts.

    Fits (bins, bootstrap) are computed from the cached tables, so they are not part of any key; changing one
    experiment's parameters never recomputes the headline or another experiment."""
    ex = sp.experiments.model_dump()
    blocks = {k: ex[k] for k in SHARED_PARAMS}
    if own:
        blocks[own] = ex[own]
    return {
        "v": CACHE_VERSION,
        "normalizer": NORMALIZER_VERSION,
        "world": sp.world.model_dump(),
        "model": sp.model.model_dump(),
        "train": sp.train.model_dump(),
        "experiments": blocks,
        **extra,
    }


@dataclass(frozen=True)
class Experiment:
    """One experiment of the synthetic world, shaped like a study :class:`~wag.study.stages.Stage`.

    ``params``: its own block of ``synthetic.experiments`` (in its cache key; its ``enabled`` switch, if any, turns it
    off), or None. ``table``: the cached table that holds its result (None: nothing cached as a whole; it then always
    plans its trainings). ``trainings(sp, seed)``: the training jobs it needs, the worlds they train on built by the
    call; ``seed`` is the notebook's seed, which only ``count_check`` reads (the others run on
    ``synthetic.experiments.seeds``). ``run``: its public entry point. ``key_extra``: extra parts of its cache key; ``uses``: other experiments'
    blocks its result depends on (in its key too)."""

    name: str
    params: str | None
    table: str | None
    trainings: Callable[[SyntheticParams, int], list[Job]]
    run: Callable[..., Any]
    key_extra: Mapping[str, object] = field(default_factory=dict)
    uses: tuple[str, ...] = ()  # other experiments' blocks of ``synthetic.experiments`` its result depends on

    def enabled(self, sp: SyntheticParams) -> bool:
        """Whether the profile runs it (its block's ``enabled`` switch; on when it has none)."""
        return bool(getattr(getattr(sp.experiments, self.params, None), "enabled", True)) if self.params else True

    def key(self, sp: SyntheticParams) -> dict:
        """The key parts of its cached table(s)."""
        parts = cache_parts(sp, own=self.params, kind=self.name, **self.key_extra)
        if self.uses:
            ex = sp.experiments.model_dump()
            parts["experiments"] = {**parts["experiments"], **{b: ex[b] for b in self.uses}}
        return parts

    def cached(
        self, sp: SyntheticParams, compute: Callable[[], pd.DataFrame], *, refresh: bool = False
    ) -> pd.DataFrame:
        """Its result table: ``compute()``, cached under :attr:`table` and :meth:`key`."""
        if self.table is None:
            raise TypeError(f"experiment {self.name!r} declares no cached table")
        return cached_table(self.table, self.key(sp), compute, refresh=refresh)

    def is_cached(self, sp: SyntheticParams) -> bool:
        """Whether its result is in the cache (it will then train nothing)."""
        return self.table is not None and cache_path(self.table, self.key(sp)).is_file()
