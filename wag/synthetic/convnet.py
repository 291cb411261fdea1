"""The small BatchNorm CNN shared by the synthetic world's image judges (T2I judge, image tagger)."""

from __future__ import annotations

import numpy as np


def to_tensor(images: np.ndarray):
    """uint8 (N, H, W, 3) images -> float tensor (N, 3, H, W) in [-1, 1]."""
    import torch

    return torch.from_numpy(np.require(images, requirements=["C", "W"])).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def small_cnn(k: int, width: int = 16):
    """A BatchNorm CNN mapping (16–32)² RGB images to ``k`` logits (two poolings, four 3×3 conv blocks)."""
    import torch.nn as nn

    def block(i: int, o: int) -> list:
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

    w = width
    return nn.Sequential(
        *block(3, w), nn.MaxPool2d(2), *block(w, 2 * w), nn.MaxPool2d(2), *block(2 * w, 4 * w), *block(4 * w, 4 * w),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, k),
    )


def predict(net, images: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Logits (N, k) of uint8 images, in eval mode, without gradients."""
    import torch

    net.eval()
    with torch.inference_mode():
        out = [net(to_tensor(images[a : a + batch])) for a in range(0, len(images), batch)]
    return torch.cat(out).numpy() if out else np.zeros((0, net[-1].out_features), np.float32)
