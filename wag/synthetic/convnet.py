"""The small BatchNorm CNN shared by the synthetic world's image judges (T2I judge, image tagger).

It lives in :mod:`wag.frequency.checkpoint_tagger` (a tagger checkpoint architecture any study can use)."""

from __future__ import annotations

from wag.frequency.checkpoint_tagger import predict, small_cnn, to_tensor

__all__ = ["predict", "small_cnn", "to_tensor"]
