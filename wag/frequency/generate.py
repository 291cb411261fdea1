"""A caption corpus with known ground truth, for tests, benchmarks and the ci notebook.

Each caption mentions 0–3 concepts (drawn Zipf-like, so counts have a long tail) inside filler text
whose words are disjoint from every concept word. Mentions vary the surface form: plural of the
last word, Title/UPPER case, punctuation around, Unicode variants (non-breaking hyphen,
full-width letters). The truth of a caption is every concept mentioned plus every concept whose
words form a contiguous sub-sequence of a mentioned one ("bed" inside "four-poster bed"), computed
on the *written* words, not with the normaliser under test.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import lemminflect
import numpy as np
import pandas as pd

from wag.concepts import COMPOUND_EDGE_WORDS, normalize_tokens
from wag.concepts.lexicon import word_lemmas
from wag.core.io import write_parquet
from wag.frequency.spec import FrequencyError

FILLERS = (
    "photo picture image view scene shot closeup portrait snapshot illustration render drawing painting "
    "beautiful nice lovely amazing great vintage modern old new small big bright dark colorful sunny "
    "today yesterday morning evening weekend summer winter holiday trip daily "
    "shows showing featuring with near beside under behind inside against "
    "stock free download wallpaper hd premium quality best top gallery collection"
).split()
JOINERS = ("and", "with", "next to", "beside", "near")
OPEN = ("(", '"', "#", "*")
CLOSE = (")", '"', ",", ".", "!", ":")
OR_SPLIT = re.compile(r"\s+or\s+", re.IGNORECASE)
PAREN = re.compile(r"\s*\([^)]*\)\s*")


def _words(phrase: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:[-'][^\W_]+)*", phrase.lower())


@lru_cache(maxsize=200_000)
def _singular(word: str) -> str:
    """Truth is defined up to singular/plural: lemminflect's noun lemma of the last hyphen part (lexicon only)."""
    head, sep, tail = word.rpartition("-")
    lem = word_lemmas(tail).get("NOUN")
    return f"{head}{sep}{lem[0]}" if lem else word


def _compound_parts(words: tuple[str, ...]) -> tuple[str, ...]:
    """The parts of a compound concept phrase (hyphens and spaces alike), or ``()`` when its spelling is fixed.

    "tennis-court" and "tennis court" are the same concept (docs/frequency.md, compound concepts): a mention of
    "indoor tennis court" contains "tennis-court". Fixed: single words, phrases of more than three words, a
    hyphen between numbers ("737-200"), a closed-class word at either end ("a-frame").
    """
    edge = COMPOUND_EDGE_WORDS
    parts = tuple(p for w in words for p in w.split("-"))
    if len(parts) < 2 or len(words) > 3 or parts[0] in edge or parts[-1] in edge:
        return ()
    if any(a.isdigit() and b.isdigit() for w in words for a, b in zip(w.split("-"), w.split("-")[1:])):
        return ()
    return parts


def _mention_forms(name: str) -> list[str]:
    """The phrases a caption may use for a concept: the name without qualifier, or one part of 'A or B'."""
    head = PAREN.sub(" ", name).strip() or name
    parts = [p.strip() for p in OR_SPLIT.split(head) if p.strip()]
    return [p.replace("_", " ") for p in parts] or [head]


@lru_cache(maxsize=200_000)
def _plural(phrase: str) -> str:
    words = phrase.split(" ")
    last = words[-1]
    head, sep, tail = last.rpartition("-")
    if not tail.isalpha() or not tail.islower() or tail.endswith("s") or _singular(tail) != tail:
        return phrase  # already plural (or not a plain word): keep
    infl = lemminflect.getInflection(tail, tag="NNS")
    if not infl or infl[0] == tail:
        return phrase
    words[-1] = f"{head}{sep}{infl[0]}"
    return " ".join(words)


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" or "A" <= c <= "Z" else c for c in s)


def generate_captions(
    concepts: Sequence[str],
    n: int,
    *,
    seed: int = 0,
    zipf: float = 1.1,
    p_empty: float = 0.05,
    variation: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(captions, truth)``: ``captions`` = ``sample_id, caption``; ``truth`` = ``concept, sample_id``."""
    rng = np.random.default_rng(seed)
    names = list(dict.fromkeys(concepts))
    forms = [_mention_forms(c) for c in names]
    concept_words = {w for f in forms for p in f for w in _words(p)}
    concept_words |= {t for f in forms for p in f for t in normalize_tokens(p)}
    fill = [w for w in FILLERS if w not in concept_words and not set(normalize_tokens(w)) & concept_words] or [
        "zzfiller"
    ]
    joins = [j for j in JOINERS if not set(j.split()) & concept_words] or [";"]
    # sub-phrase truth: concept j is inside a mention of concept i if its words are contiguous in it, or (a compound,
    # see _compound_parts) its hyphen/space-separated parts are contiguous parts of whole words of the mention
    form_words = {i: [tuple(_singular(w) for w in _words(p)) for p in f] for i, f in enumerate(forms)}
    by_first: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    by_first_part: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
    for j, fw in form_words.items():
        for w in fw:
            if w:
                by_first.setdefault(w[0], []).append((j, w))
            parts = _compound_parts(w)
            if parts:
                by_first_part.setdefault(parts[0], []).append((j, parts))

    def contained(words: list[str]) -> set[int]:
        found = set()
        for s in range(len(words)):
            for j, w in by_first.get(words[s], ()):
                if tuple(words[s : s + len(w)]) == w:
                    found.add(j)
        parts = [p for w in words for p in w.split("-")]
        starts = set(np.cumsum([0] + [len(w.split("-")) for w in words]).tolist())  # part index of each word start/end
        for s in range(len(parts)):
            for j, w in by_first_part.get(parts[s], ()) if s in starts else ():
                if tuple(parts[s : s + len(w)]) == w and s + len(w) in starts:
                    found.add(j)
        return found

    weights = 1.0 / np.arange(1, len(names) + 1) ** zipf
    order = rng.permutation(len(names))
    p = np.empty(len(names))
    p[order] = weights / weights.sum()
    n_mentions = rng.choice([0, 1, 2, 3], size=n, p=[p_empty, 0.55 - p_empty / 2, 0.3 - p_empty / 2, 0.15])
    picks = rng.choice(len(names), size=int(n_mentions.sum()), p=p)
    r = rng.random((n, 8))
    r2 = rng.random((int(n_mentions.sum()), 4))
    truth_cache: dict[str, set[int]] = {}
    mi = 0
    ptr = 0
    caps, t_c, t_s = [], [], []
    for i in range(n):
        k = int(n_mentions[i])
        chosen = picks[ptr : ptr + k]
        ptr += k
        sid = f"s{i:09d}"
        parts = [fill[int(r[i, 0] * len(fill))]] if r[i, 1] < 0.7 else []
        truth: set[int] = set()
        for m, c in enumerate(chosen):
            f = forms[c][int(r[i, 2] * len(forms[c])) % len(forms[c])]
            written = f
            if variation:
                u = float(r2[mi, 0])
                if u < 0.3:
                    written = _plural(written)
                if 0.3 <= u < 0.4:
                    written = written.title()
                elif 0.4 <= u < 0.45:
                    written = written.upper()
                elif 0.45 <= u < 0.48:
                    written = _fullwidth(written)
                elif 0.48 <= u < 0.5:
                    written = written.replace("-", "\u2011")
                if r2[mi, 1] < 0.2:
                    written = OPEN[int(r2[mi, 2] * len(OPEN))] + written + CLOSE[int(r2[mi, 3] * len(CLOSE))]
            mi += 1
            got = truth_cache.get(f)
            if got is None:
                got = truth_cache[f] = contained([_singular(w) for w in _words(f)])
            truth |= got
            if m:
                parts.append(joins[int(r[i, 3] * len(joins))])
            parts.append(written)
        if r[i, 4] < 0.8:
            parts.extend(fill[int(x * len(fill))] for x in rng.random(int(r[i, 5] * 6)))
        caps.append(" ".join(parts))
        for c in sorted(truth):
            t_c.append(names[c])
            t_s.append(sid)
    captions = pd.DataFrame({"sample_id": [f"s{i:09d}" for i in range(n)], "caption": caps})
    truth_df = pd.DataFrame({"concept": t_c, "sample_id": t_s})
    return captions, truth_df


def write_caption_shards(
    captions: pd.DataFrame, out_dir: str | Path, *, n_shards: int = 4, fmt: str = "parquet"
) -> list[Path]:
    """Write captions as ``n_shards`` shards (``parquet``, ``jsonl``, ``tsv`` or ``wds``); returns the paths."""
    import io
    import json
    import tarfile

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, part in enumerate(np.array_split(np.arange(len(captions)), n_shards)):
        df = captions.iloc[part]
        if fmt == "parquet":
            paths.append(write_parquet(out / f"shard-{k:05d}.parquet", df))
        elif fmt == "jsonl":
            p = out / f"shard-{k:05d}.jsonl"
            p.write_text(
                "".join(
                    json.dumps({"key": s, "caption": c}) + "\n" for s, c in zip(df.sample_id, df.caption, strict=True)
                ),
                encoding="utf-8",
            )
            paths.append(p)
        elif fmt == "tsv":
            p = out / f"shard-{k:05d}.tsv"
            p.write_text(
                "".join(f"{c}\thttp://example.com/{s}.jpg\n" for s, c in zip(df.sample_id, df.caption, strict=True)),
                encoding="utf-8",
            )
            paths.append(p)
        elif fmt == "wds":
            p = out / f"shard-{k:05d}.tar"
            with tarfile.open(p, "w") as tar:
                for s, c in zip(df.sample_id, df.caption, strict=True):
                    data = c.encode("utf-8")
                    info = tarfile.TarInfo(f"{s}.txt")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
            paths.append(p)
        else:
            raise FrequencyError(f"unknown shard format {fmt!r}; use parquet, jsonl, tsv or wds")
    return paths


def paper_class_names(root: str | Path, *, limit: int | None = None) -> list[str]:
    """Class and retrieval concept names of the paper's released evaluation files under ``root`` (the folder of
    :func:`wag.artifacts.paper_root` / :func:`~wag.artifacts.locate_paper_root`), for realistic benchmarks."""
    import json

    root = Path(root)
    names: list[str] = []
    for f in sorted((root / "zero_shot_evaluations").glob("*_class_results.json")):
        d = json.loads(f.read_text())
        first = next(iter(d.values()))
        names.extend(first.get("classwise", {}).keys())
    for f in sorted((root / "retrieval_evaluations").glob("*_t2i_k=1_results.json")):
        d = json.loads(f.read_text())
        names.extend(next(iter(d.values())).get("conceptwise", {}).keys())
    names = [n for n in dict.fromkeys(names) if n and n.strip()]
    return names[:limit] if limit else names
