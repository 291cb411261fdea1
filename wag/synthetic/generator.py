"""The synthetic world's generator: atomic concepts, their frequencies, images and captions.

Everything is vectorised numpy and deterministic from a seed; no downloaded assets.

A concept is *atomic*: its visual identity (blob shape harmonics, three-colour palette, texture kind,
frequency and angle) is drawn as one continuous random vector, so no two concepts share discrete
parts and a rare concept cannot be learned by composing frequent ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from wag.synthetic.params import WorldParams

N_HARMONICS = 4
IMAGE_SIZE = 32  # the tiny CLIP configs (model_configs/*.json) take 32x32 images
TEXTURES = ("stripes", "checker", "rings", "spiral")

_ONSETS = [
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gl",
    "kr",
    "pl",
    "tr",
    "zh",
    "sk",
    "fl",
]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
_CODAS = ["", "", "", "n", "r", "x", "k", "m", "l", "t"]

# Words used by the caption templates; names must differ from all of them.
TEMPLATES_1 = ["a photo of a {0}", "a {0}", "there is a {0} here", "the {0} on a noisy background", "look at this {0}"]
TEMPLATES_2 = ["a {0} and a {1}", "a photo of a {0} next to a {1}", "the {0} with the {1}", "{0} and {1} together"]
TEMPLATES_3 = ["a {0}, a {1} and a {2}", "a photo of a {0}, a {1} and a {2}", "the {0} near the {1} and the {2}"]
FILLERS_BEFORE = ["wow", "my favourite picture:", "new post:", "just found this:", "today", "look"]
FILLERS_AFTER = [
    "taken yesterday",
    "in bright light",
    "very nice",
    "on the table",
    "#photo",
    "seen from above",
    "at home",
]


@dataclass(frozen=True)
class Concepts:
    """Visual identities and made-up names of K atomic concepts (arrays indexed by concept id)."""

    names: list[str]
    amp: np.ndarray  # (K, H) shape harmonic amplitudes
    phase: np.ndarray  # (K, H) shape harmonic phases
    palette: np.ndarray  # (K, 3, 3) three RGB colours in [0, 1]
    texture: np.ndarray  # (K,) index into TEXTURES
    tex_freq: np.ndarray  # (K,) texture frequency (cycles per radius)
    tex_angle: np.ndarray  # (K,) texture angle in object coordinates

    def __len__(self) -> int:
        return len(self.names)


def made_up_names(k: int, rng: np.random.Generator) -> list[str]:
    """``k`` distinct pronounceable names (2–3 syllables, letters only, never ending in 's', not a template word)."""
    reserved = {
        w.strip(",:#").lower()
        for t in TEMPLATES_1 + TEMPLATES_2 + TEMPLATES_3 + FILLERS_BEFORE + FILLERS_AFTER
        for w in t.split()
    }
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < k:
        n_syl = int(rng.integers(2, 4))
        parts = [_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))] for _ in range(n_syl)]
        name = "".join(parts) + _CODAS[rng.integers(len(_CODAS))]
        if name in seen or name in reserved or name.endswith("s"):
            continue
        if any(name in other or other in name for other in seen):  # no name inside another
            continue
        seen.add(name)
        names.append(name)
    return names


def draw_concepts(k: int, rng: np.random.Generator) -> Concepts:
    """Draw ``k`` atomic concept identities."""
    names = made_up_names(k, rng)
    amp = rng.uniform(0.0, 0.28, size=(k, N_HARMONICS)) / np.arange(1, N_HARMONICS + 1) ** 0.5
    phase = rng.uniform(0, 2 * np.pi, size=(k, N_HARMONICS))
    palette = rng.uniform(0.0, 1.0, size=(k, 3, 3))
    texture = rng.integers(0, len(TEXTURES), size=k)
    tex_freq = rng.uniform(1.0, 3.0, size=k)
    tex_angle = rng.uniform(0, np.pi, size=k)
    return Concepts(names, amp, phase, palette, texture, tex_freq, tex_angle)


def target_counts(p: WorldParams, rng: np.random.Generator) -> np.ndarray:
    """Per-concept image counts from the chosen law, randomly assigned to concept ids (int64, length K)."""
    k = p.n_concepts
    if p.law == "explicit":
        assert p.counts is not None  # validated by WorldParams
        return np.asarray(p.counts, dtype=np.int64)
    if p.law == "loguniform":
        lo = max(p.min_count, 1)
        c = np.exp(np.linspace(np.log(lo), np.log(p.max_count), k))
    else:  # zipf
        c = p.max_count * np.arange(1, k + 1, dtype=float) ** (-p.zipf_exponent)
        c = np.maximum(c, p.min_count)
    counts = np.round(c).astype(np.int64)
    if p.min_count == 0 and p.law == "loguniform":
        counts[0] = 0
    return counts[rng.permutation(k)]


def assign_concepts(counts: np.ndarray, probs: list[float], rng: np.random.Generator) -> np.ndarray:
    """Place ``counts[c]`` occurrences of each concept into images of 1–3 distinct concepts.

    Returns an int array (N, 3) of concept ids, padded with -1. Every concept appears in exactly
    ``counts[c]`` images (duplicates inside an image are repaired by swaps).
    """
    occ = np.repeat(np.arange(len(counts)), counts)
    rng.shuffle(occ)
    total = len(occ)
    if total == 0:
        return np.full((0, 3), -1, dtype=np.int64)
    pr = np.asarray(probs, dtype=float) / np.sum(probs)
    if counts.max() > total / 3:
        pr = np.array([1.0, 0.0, 0.0])  # one concept dominates: single-concept images keep counts exact
    sizes = rng.choice([1, 2, 3], size=total, p=pr)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), total)) + 1]
    sizes[-1] -= int(sizes.sum() - total)
    sizes = sizes[sizes > 0]
    n = len(sizes)
    grid = np.full((n, 3), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for j in range(3):
        has = sizes > j
        grid[has, j] = occ[starts[has] + j]
    _repair_duplicates(grid, rng)
    return grid


def _duplicates(grid: np.ndarray) -> list[tuple[int, int]]:
    out = []
    for a, b in ((0, 1), (0, 2), (1, 2)):
        rows = np.nonzero((grid[:, a] == grid[:, b]) & (grid[:, a] >= 0))[0]
        out.extend((int(r), b) for r in rows)
    return out


def _repair_duplicates(grid: np.ndarray, rng: np.random.Generator, max_tries: int = 200) -> None:
    """Swap each duplicated slot with a random slot of another image where neither swap creates a duplicate."""
    filled = np.argwhere(grid >= 0)
    for row, slot in _duplicates(grid):
        c = grid[row, slot]
        if c not in np.delete(grid[row], slot):
            continue  # already fixed by an earlier swap
        for _ in range(max_tries):
            r2, s2 = filled[rng.integers(len(filled))]
            d = grid[r2, s2]
            if r2 == row or d == c or c in grid[r2] or d in grid[row]:
                continue
            grid[row, slot], grid[r2, s2] = d, c
            break


def captions_for(
    grid: np.ndarray, concepts: Concepts, p: WorldParams, rng: np.random.Generator
) -> tuple[list[str], list[list[int]]]:
    """Template captions with filler words and a misalignment rate.

    Returns the captions and, per caption, the concept ids it names (which differ from the image's
    concepts for misaligned pairs: a swap names an absent concept instead of a present one, a drop
    omits a present one, an add names an absent one).
    """
    k = len(concepts)
    n = len(grid)
    err = rng.random(n) < p.misalignment
    kinds = rng.integers(0, 3, size=n)
    tmpl_u = rng.random(n)
    fill_u = rng.random((n, 3))
    order_u = rng.random((n, 4))
    others = rng.integers(0, k, size=(n, 4))
    captions: list[str] = []
    named: list[list[int]] = []
    for i in range(n):
        present = [int(c) for c in grid[i] if c >= 0]
        ids = list(present)
        if err[i] and k > len(present):
            absent = [int(c) for c in others[i] if c not in present]
            kind = int(kinds[i])
            if kind == 1 and len(ids) >= 2:
                ids.pop(int(order_u[i, 0] * len(ids)))  # drop
            elif kind == 2 and len(ids) <= 2 and absent:
                ids.append(absent[0])  # add
            elif absent:
                ids[int(order_u[i, 1] * len(ids))] = absent[0]  # swap
        ids = [ids[j] for j in np.argsort(order_u[i, : len(ids)], kind="stable")]
        templates = (TEMPLATES_1, TEMPLATES_2, TEMPLATES_3)[len(ids) - 1]
        text = templates[int(tmpl_u[i] * len(templates))].format(*(concepts.names[c] for c in ids))
        if fill_u[i, 0] < p.filler_rate:
            if fill_u[i, 1] < 0.5:
                text = FILLERS_BEFORE[int(fill_u[i, 2] * len(FILLERS_BEFORE))] + " " + text
            else:
                text = text + ", " + FILLERS_AFTER[int(fill_u[i, 2] * len(FILLERS_AFTER))]
        captions.append(text)
        named.append(ids)
    return captions, named


def _backgrounds(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Noisy coloured backgrounds: a muted base colour plus low-frequency colour noise (n, S, S, 3)."""
    base = rng.uniform(0.2, 0.8, size=(n, 1, 1, 3)).astype(np.float32)
    coarse = rng.normal(0, 0.08, size=(n, 4, 4, 3)).astype(np.float32)
    rep = -(-size // 4)
    low = np.repeat(np.repeat(coarse, rep, axis=1), rep, axis=2)[:, :size, :size]
    return base + low


def render(
    grid: np.ndarray, concepts: Concepts, size: int, noise: float, rng: np.random.Generator, chunk: int = 1024
) -> np.ndarray:
    """Render images of the concepts in ``grid`` (N, M; -1 = none) at random pose: uint8 (N, S, S, 3)."""
    n = len(grid)
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for a in range(0, n, chunk):
        out[a : a + chunk] = _render_chunk(grid[a : a + chunk], concepts, size, noise, rng)
    return out


def _texture(
    kind: int, f: np.ndarray, u: np.ndarray, v: np.ndarray, rho: np.ndarray, cos_p: np.ndarray, sin_p: np.ndarray
) -> np.ndarray:
    """Texture field in [-1, 1] in object coordinates (rotated along the concept's texture angle)."""
    tau = np.float32(2 * np.pi)
    if kind == 0:  # stripes
        return np.sin(tau * f * u)
    if kind == 1:  # checker
        return np.sin(tau * f * u) * np.sin(tau * f * v)
    if kind == 2:  # rings
        return np.sin(tau * f * rho)
    # spiral: sin(2 phi + 2 pi f rho), with phi from cos/sin
    c2, s2 = cos_p * cos_p - sin_p * sin_p, 2 * sin_p * cos_p
    a = tau * f * rho
    return s2 * np.cos(a) + c2 * np.sin(a)


#: How :func:`draw_objects` evaluates the boundary 1 + Σ_h amp_h cos(h φ + phase_h), h = 2..H+1: the same function
#: by two float paths. ``powers`` (complex powers of e^{iφ}) draws the world's corpus, test and tagger images;
#: ``angles`` (cos of h φ + phase, φ from arctan2) draws the T2I analogue's studio renders. Pixels differ in the last
#: rounding step (about 1 value in 25,000, by one level), so each keeps its own path: the images, the models trained
#: on them and every table made from them stay the same bytes.
Boundary = Literal["powers", "angles"]


def _boundary(cs: Concepts, c: np.ndarray, cos_p: np.ndarray, sin_p: np.ndarray, how: Boundary) -> np.ndarray:
    """Boundary radius of concepts ``c`` at the polar angle (cos_p, sin_p) of each pixel, in object units."""
    edge = np.ones_like(cos_p)
    if how == "angles":
        phi = np.arctan2(sin_p, cos_p)
        for hh in range(N_HARMONICS):
            edge += _col(cs.amp[c, hh]) * np.cos((hh + 2) * phi + _col(cs.phase[c, hh]))
        return edge
    z = cos_p + 1j * sin_p
    zh = z * z
    for hh in range(N_HARMONICS):
        ph = cs.phase[c, hh]
        edge += _col(cs.amp[c, hh]) * (zh.real * _col(np.cos(ph)) - zh.imag * _col(np.sin(ph)))
        zh = zh * z
    return edge


def _col(values: np.ndarray) -> np.ndarray:
    """Per-object values as float32 (n, 1, 1), broadcasting over an image's pixels."""
    return np.asarray(values, dtype=np.float32)[:, None, None]


def draw_objects(
    canvas: np.ndarray,
    concept_ids: np.ndarray,
    cs: Concepts,
    cx: np.ndarray,
    cy: np.ndarray,
    r: np.ndarray,
    th: np.ndarray,
    *,
    boundary: Boundary = "powers",
) -> np.ndarray:
    """The one shape renderer: object ``concept_ids[i]`` drawn on image ``i`` of ``canvas`` (float32 (n, S, S, 3),
    values in [0, 1]) at centre (``cx``, ``cy``) pixels, radius ``r`` pixels and angle ``th``; returns the new canvas.

    The concept's identity: boundary harmonics (~1 px anti-aliased edge), texture (kind, frequency, angle) blending
    the palette's first two colours, and a rim in the third. Used by the world's renderer (:func:`render`) and the
    T2I analogue's studio renders (:func:`wag.synthetic.t2i.render_studio`; ``boundary`` is explained at
    :data:`Boundary`)."""
    c = np.asarray(concept_ids)
    r, cx, cy, th = _col(r), _col(cx), _col(cy), _col(th)
    coords = np.arange(canvas.shape[1], dtype=np.float32) + 0.5
    dx, dy = coords[None, None, :] - cx, coords[None, :, None] - cy
    u = (np.cos(th) * dx + np.sin(th) * dy) / r
    v = (-np.sin(th) * dx + np.cos(th) * dy) / r
    rho = np.sqrt(u * u + v * v) + np.float32(1e-6)
    cos_p, sin_p = u / rho, v / rho
    edge = _boundary(cs, c, cos_p, sin_p, boundary)
    inside = np.clip((edge - rho) * r, 0, 1)  # ~1 px anti-aliased edge
    a = _col(cs.tex_angle[c])
    ca, sa = np.cos(a), np.sin(a)
    along, across = u * ca + v * sa, -u * sa + v * ca
    t = np.empty_like(rho)
    f = _col(cs.tex_freq[c])
    kinds = cs.texture[c]
    for kind in range(len(TEXTURES)):
        sel = kinds == kind
        if sel.any():
            t[sel] = _texture(kind, f[sel], along[sel], across[sel], rho[sel], cos_p[sel], sin_p[sel])
    w = (0.5 + 0.5 * np.tanh(3.0 * t))[..., None]
    pal = cs.palette[c].astype(np.float32)
    col = pal[:, 1, None, None, :] + (pal[:, 0, None, None, :] - pal[:, 1, None, None, :]) * w
    rim = np.clip((rho - (edge - 0.22)) * 4, 0, 1)[..., None]
    col += (pal[:, 2, None, None, :] - col) * rim
    return canvas + (col - canvas) * inside[..., None]


def to_uint8(img: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Float images in [0, 1] plus Gaussian pixel noise of std ``noise``, clipped and rounded to uint8."""
    img += rng.standard_normal(size=img.shape, dtype=np.float32) * np.float32(noise)
    np.clip(img, 0, 1, out=img)
    return (img * 255 + 0.5).astype(np.uint8)


def _render_chunk(grid: np.ndarray, cs: Concepts, size: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    n, m = grid.shape
    img = _backgrounds(n, size, rng)
    n_obj = np.maximum((grid >= 0).sum(1), 1)
    radius = size * np.array([0.0, 0.30, 0.24, 0.20])[n_obj] * rng.uniform(0.85, 1.15, size=n)
    for j in range(m):
        cid = grid[:, j]
        idx = np.nonzero(cid >= 0)[0]
        if len(idx) == 0:
            continue
        k = len(idx)
        r = radius[idx].astype(np.float32)
        cx = rng.uniform(0, 1, size=k).astype(np.float32) * (size - 2 * r) + r
        cy = rng.uniform(0, 1, size=k).astype(np.float32) * (size - 2 * r) + r
        th = rng.uniform(0, 2 * np.pi, size=k).astype(np.float32)
        img[idx] = draw_objects(img[idx], cid[idx], cs, cx, cy, r, th)
    return to_uint8(img, noise, rng)


def single_concept_grid(concept_ids: np.ndarray) -> np.ndarray:
    """A grid (N, 3) with one concept per image."""
    g = np.full((len(concept_ids), 3), -1, dtype=np.int64)
    g[:, 0] = concept_ids
    return g
