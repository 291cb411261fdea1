"""Study stage throughput beside plain loops doing the same work, on the same shards, in the same run.

Per stage, wag's engine vs a plain loop:
  - count: captions/s of ``wag.frequency.count_captions`` (variant lowercased) vs a plain Python loop
    (one word-bounded regex of the concepts per lowercased caption);
  - tag: images tagged/s of the study's tag stage (``wag.study.stages.tag.tag_corpus``, open_clip zero-shot
    tagger) vs a plain open_clip loop (tar member → PIL decode → preprocess → encode_image → similarity
    with the concept prompts → sigmoid), both over the same WebDataset shards;
  - zeroshot: images evaluated/s of ``wag.evaluate.zeroshot.evaluate_zeroshot`` (no feature cache) vs a plain
    open_clip loop (PIL decode → preprocess → encode_image → argmax of the similarity) on one image folder.
  - embed: image counts of the tag stage from stored image embeddings (``study.tagger.kind: embeddings``, the layout
    the pixel run wrote with ``stages.tag.save_embeddings``) vs the tag stage from pixels, same model, same images,
    same counts (images/s side by side); and, for the Tab. 10 projection, the scoring of stored embeddings alone
    (``wag.frequency.embeddings.score_part``: memory-mapped float16 parts, blocked matrix products, tags at
    ``--emb-min-score``) at the paper's concept count (``--emb-concepts``, 4,029 for LAION-400M) on ``--emb-rows``
    generated unit vectors of the model's dimension.
Tag and zeroshot run twice on wag's side: at fp32 (the same arithmetic as the plain loop: same result) and at the
study option ``stages.evaluate.precision: bf16`` (weights and activations in bfloat16), whose result is compared
with the fp32 plain loop (max score difference, share of tags at 0.7 that agree, max per-class accuracy difference).
Random weights make the bf16 comparison pessimistic: their image features are nearly alike, so class margins are tiny.
The model is a real architecture at its real input size (default ViT-B-32 at 224 px, random weights:
``open_clip.create_model_and_transforms(ARCH)`` with no pretrained tag; speed does not depend on the weights).
The machine may be shared: each round runs wag and the plain loop back to back (alternating which goes
first) and the figures are medians over rounds; ``uptime`` is printed before and after, and CPU seconds
(user + system of this process, all threads) beside wall seconds.
``--record`` writes wag's tagging throughput (fp32 and bf16; with ``tag``) and the stored-embeddings scoring
throughput (with ``embed``) to ``wag/data/throughput.json`` (``benchmarks/throughput_record.py``), which notebook 2
scales to Tab. 10's pretraining sets.

    .venv/bin/python benchmarks/study.py [--arch ViT-B-32] [--images 64] [--size 256] [--batch-size 32] [--rounds 3]
    .venv/bin/python benchmarks/study.py --stages tag --images 256 --rounds 3 --record
    .venv/bin/python benchmarks/study.py --stages embed --images 256 --rounds 3 --record
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load: " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _captions(path: Path, n: int, seed: int = 0) -> Path:
    """A Parquet caption shard of ``n`` captions in the example study's style."""
    import numpy as np
    import pandas as pd

    from wag.study.example import CONCEPTS, FILLERS, TEMPLATES

    rng = np.random.default_rng(seed)
    caps = [
        str(rng.choice(FILLERS)) if rng.random() < 0.15 else str(rng.choice(TEMPLATES)).format(rng.choice(CONCEPTS))
        for _ in range(n)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"key": [f"{i:08d}" for i in range(n)], "caption": caps}).to_parquet(path, index=False)
    return path


def _score_projection(args: argparse.Namespace, loaded: object) -> dict:
    """Scoring of stored embeddings alone, at the paper's concept count: ``--emb-rows`` generated unit vectors of the
    model's dimension in ``--emb-parts`` float16 ``.npy`` files (as LAION ships them), memory-mapped and scored in
    blocks against ``--emb-concepts`` concept text vectors; median of ``--rounds``. Text and image vectors are made
    alike the way CLIP's are (every prompt close to the background prompt, each image close to one concept), so the
    tags kept per image are few, as on real data; the rate does not depend on the model's weights."""
    import numpy as np
    import torch

    from wag.frequency.embeddings import find_parts, score_part, write_part

    d = int(loaded.model.text_projection.shape[1]) if hasattr(loaded.model, "text_projection") else 512
    rng = np.random.default_rng(0)
    c = args.emb_concepts

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    bg = unit(rng.normal(size=d))
    text = unit(bg + 0.6 * unit(rng.normal(size=(c, d)))).astype(np.float32)
    text = np.concatenate([text, bg[None].astype(np.float32)]).T  # (D, C+1), background last
    folder = Path(tempfile.mkdtemp(prefix="wag_bench_emb_"))
    per = -(-args.emb_rows // args.emb_parts)
    for i in range(args.emb_parts):
        n = min(per, args.emb_rows - i * per)
        own = rng.integers(0, c, n)
        emb = unit(text[:, own].T + 0.9 * unit(rng.normal(size=(n, d)))).astype(np.float16)
        write_part(folder, i, [f"{i}-{j}" for j in range(n)], emb)
        np.save(folder / "img_emb" / f"img_emb_{i}.npy", emb)  # float16, as LAION's
    parts = find_parts(folder)
    names = [f"c{j}" for j in range(c)]
    walls, cpus, tags = [], [], 0
    for _ in range(args.rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        tags = sum(len(score_part(p, "key", text, 100.0, names, min_score=args.emb_min_score)[0]) for p in parts)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    shutil.rmtree(folder, ignore_errors=True)
    w, cp = statistics.median(walls), statistics.median(cpus)
    what = (
        f"wag scoring of stored image embeddings (wag.frequency.embeddings.score_part), {args.emb_rows:,} float16 "
        f"unit vectors of dimension {d} in {args.emb_parts} memory-mapped .npy parts, {c:,} concepts, tags kept at "
        f">= {args.emb_min_score} ({tags / args.emb_rows:.2f} per image), torch threads {torch.get_num_threads()}"
    )
    per_cpu = args.emb_rows / cp
    print(
        f"\nstored embeddings, scoring alone: {args.emb_rows / w:,.0f} embeddings/s wall, {per_cpu:,.0f} per CPU-s "
        f"({what}); LAION-400M's 400M embeddings: {400e6 / per_cpu / 3600:,.1f} CPU-hours "
        f"(the paper's RAM++ tagging: 2,070 GPU-hours, Tab. 10)"
    )
    return {"what": what, "per_second": args.emb_rows / w, "per_cpu_second": per_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--arch", default="ViT-B-32", help="open_clip architecture (random weights); 'tiny' for wag's tiny test ViT"
    )
    ap.add_argument("--images", type=int, default=64, help="corpus images to tag and test images to evaluate")
    ap.add_argument(
        "--size", type=int, default=256, help="side of the generated images (the model sees its own input size)"
    )
    ap.add_argument("--captions", type=int, default=200_000, help="captions to count")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--stages",
        nargs="+",
        default=["count", "tag", "zeroshot", "embed"],
        choices=["count", "tag", "zeroshot", "embed"],
    )
    ap.add_argument(
        "--emb-rows", type=int, default=200_000, help="embed: generated embeddings scored for the projection"
    )
    ap.add_argument("--emb-concepts", type=int, default=4029, help="embed: concepts scored (LAION-400M's in the paper)")
    ap.add_argument("--emb-parts", type=int, default=4, help="embed: img_emb_{i}.npy files the embeddings are split in")
    ap.add_argument("--emb-min-score", type=float, default=0.5, help="embed: tags kept at or above this score")
    ap.add_argument(
        "--record",
        action="store_true",
        help="write wag's tagging (tag) and stored-embeddings (embed) throughput to wag/data/throughput.json",
    )
    args = ap.parse_args()
    if args.record and not {"tag", "embed"} & set(args.stages):
        ap.error("--record records the tag and embed stages: add one to --stages")
    load_before = os.getloadavg()

    import numpy as np
    import open_clip
    import pandas as pd
    import torch
    from PIL import Image

    from wag.evaluate.datasets import image_folder
    from wag.evaluate.models import as_loaded_model, load_clip, with_precision
    from wag.evaluate.tiny import TINY_ARCH, make_image_folder, save_tiny_checkpoint
    from wag.evaluate.zeroshot import evaluate_zeroshot
    from wag.frequency import count_captions
    from wag.study.context import Context
    from wag.study.example import CONCEPTS, write_example
    from wag.study.spec import StudySpec
    from wag.study.stages.tag import tag_corpus
    from wag.study.stages.tag_embeddings import tag_from_embeddings

    torch.set_num_threads(min(2, torch.get_num_threads()))
    print(f"machine load before: {_uptime()}")
    work = Path(tempfile.mkdtemp(prefix="wag_bench_study_"))
    os.environ["WAG_CACHE"] = str(work / "cache")
    root = write_example(work / "study", n_samples=args.images, n_shards=2, size=args.size)
    test = make_image_folder(work / "test", [f"class{i}" for i in range(4)], -(-args.images // 4), size=args.size)
    caps = _captions(work / "captions" / "captions.parquet", args.captions)

    if args.arch == "tiny":
        loaded = load_clip(f"{TINY_ARCH}@{save_tiny_checkpoint(work / 'tiny.safetensors')}")
    else:
        model, _, preprocess = open_clip.create_model_and_transforms(args.arch)  # random weights: speed only
        loaded = as_loaded_model(
            model,
            preprocess,
            open_clip.get_tokenizer(args.arch),
            "cpu",
            name=args.arch,
            arch=args.arch,
            pretrained=None,
            backbone=args.arch,
            source="random",
            fingerprint=f"{args.arch}-random",
        )
    m, pre, tok = loaded.model, loaded.preprocess, loaded.tokenizer
    loaded16 = with_precision(loaded, "bf16")
    spec = StudySpec.model_validate(
        {
            "name": "bench",
            "root": str(root),
            "output": str(work / "out"),
            "corpus": {"name": "bench", "shards": ["corpus/*.tar"]},
            "concepts": [{"dataset": "bench", "file": "concepts.txt"}],
            "tagger": {"kind": "openclip", "model": "bench", "batch_size": args.batch_size, "min_score": 0.0},
            "models": [{"name": "bench", "model": f"{args.arch}@random.safetensors"}],
        }
    )
    shards = sorted((root / "corpus").glob("*.tar"))
    templates = spec.tagger.templates

    # -- wag side -------------------------------------------------------------------------------
    def wag_count() -> tuple[int, object]:
        res = count_captions([str(caps)], list(CONCEPTS), variant="lowercased", progress=False)
        return res.n_captions, res.counts.set_index("concept")["count"].reindex(CONCEPTS).to_numpy()

    spec16 = spec.model_copy(
        update={
            "stages": spec.stages.model_copy(
                update={"evaluate": spec.stages.evaluate.model_copy(update={"precision": "bf16"})}
            )
        }
    )

    def wag_tag(lm=loaded, sp=spec) -> tuple[int, object]:
        shutil.rmtree(sp.output_path / "tag" / "cache", ignore_errors=True)  # time the tagging, not the shard cache
        ctx = Context(sp, shards, progress=False)
        ctx.models[sp.model_spec("bench")] = lm
        tags, n = tag_corpus(ctx)
        return n, tags.pivot(index="sample_id", columns="concept", values="score")[CONCEPTS].sort_index().to_numpy()

    def counts_of(tags) -> object:
        return (
            tags[tags["score"] >= 0.7]
            .groupby("concept")["sample_id"]
            .nunique()
            .reindex(CONCEPTS, fill_value=0)
            .to_numpy()
        )

    saved = spec.model_copy(
        update={
            "output": str(work / "saved"),
            "stages": spec.stages.model_copy(
                update={"tag": spec.stages.tag.model_copy(update={"save_embeddings": True})}
            ),
        }
    )
    from_emb = spec.model_copy(
        update={
            "output": str(work / "from_emb"),
            "tagger": spec.tagger.model_copy(
                update={"kind": "embeddings", "embeddings": str(work / "saved" / "tag" / "embeddings")}
            ),
        }
    )

    def pixel_counts() -> tuple[int, object]:
        shutil.rmtree(spec.output_path / "tag" / "cache", ignore_errors=True)
        ctx = Context(spec, shards, progress=False)
        ctx.models[spec.model_spec("bench")] = loaded
        tags, n = tag_corpus(ctx)
        return n, counts_of(tags)

    def embedding_counts() -> tuple[int, object]:
        ctx = Context(from_emb, shards, progress=False)
        ctx.models[from_emb.model_spec("bench")] = loaded
        tags, n, _ = tag_from_embeddings(ctx)
        return n, counts_of(tags)

    if "embed" in args.stages:  # the layout the embeddings path reads: written once by a pixel run, not timed
        ctx = Context(saved, shards, progress=False)
        ctx.models[saved.model_spec("bench")] = loaded
        tag_corpus(ctx)

    def wag_zeroshot(lm=loaded) -> tuple[int, object]:
        df = evaluate_zeroshot(
            lm, image_folder(test), prompt="class", batch_size=args.batch_size, cache=False, progress=False
        )
        return int(df["n_images"].sum()), df.set_index("concept")["value"].reindex(
            sorted(p.name for p in test.iterdir() if p.is_dir())
        ).to_numpy()

    # -- plain open_clip / Python loops doing the same work ------------------------------------
    def plain_count() -> tuple[int, object]:
        pats = {c: re.compile(r"\b" + re.escape(c.lower()) + r"\b") for c in CONCEPTS}
        counts = dict.fromkeys(CONCEPTS, 0)
        texts = pd.read_parquet(caps, columns=["caption"])["caption"].tolist()
        for t in texts:
            t = t.lower()
            for c, p in pats.items():
                if p.search(t):
                    counts[c] += 1
        return len(texts), np.array([counts[c] for c in CONCEPTS])

    def plain_text(prompts: list[list[str]]) -> torch.Tensor:
        with torch.no_grad():
            cls = []
            for ps in prompts:
                e = torch.nn.functional.normalize(m.encode_text(tok(ps)).float(), dim=-1).mean(0)
                cls.append(e / e.norm())
            return torch.stack(cls, dim=1)

    def plain_encode(images: list) -> torch.Tensor:
        with torch.no_grad():
            x = torch.stack([pre(im.convert("RGB")) for im in images])
            return torch.nn.functional.normalize(m.encode_image(x).float(), dim=-1)

    def plain_tag() -> tuple[int, object]:
        text = plain_text([[t.format(c) for t in templates] for c in CONCEPTS] + [["a photo."]])
        scale = float(m.logit_scale.exp())
        ids, scores, batch = [], [], []

        def flush() -> None:
            f = plain_encode([im for _, im in batch])
            s = f @ text
            scores.append(torch.sigmoid(scale * (s[:, :-1] - s[:, -1:])).numpy())
            ids.extend(k for k, _ in batch)
            batch.clear()

        for shard in shards:
            with tarfile.open(shard) as tar:
                for mem in tar:
                    if mem.name.endswith(".png"):
                        batch.append((mem.name.rsplit(".", 1)[0], Image.open(io.BytesIO(tar.extractfile(mem).read()))))
                        if len(batch) == args.batch_size:
                            flush()
            if batch:
                flush()
        out = np.concatenate(scores)
        return len(ids), out[np.argsort(ids, kind="stable")]

    def plain_zeroshot() -> tuple[int, object]:
        classes = sorted(p.name for p in test.iterdir() if p.is_dir())
        files = [(f, ci) for ci, c in enumerate(classes) for f in sorted((test / c).iterdir())]
        clf = plain_text([[c] for c in classes])
        pred, true = [], []
        for s in range(0, len(files), args.batch_size):
            chunk = files[s : s + args.batch_size]
            pred.append((plain_encode([Image.open(f) for f, _ in chunk]) @ clf).argmax(1))
            true += [ci for _, ci in chunk]
        hit, true = torch.cat(pred).numpy() == np.array(true), np.array(true)
        return len(files), np.array([hit[true == ci].mean() for ci in range(len(classes))])

    pairs = {
        "count": (wag_count, plain_count, "captions/s"),
        "tag": (wag_tag, plain_tag, "images tagged/s"),
        "tag bf16": (lambda: wag_tag(loaded16, spec16), plain_tag, "images tagged/s"),
        "zeroshot": (wag_zeroshot, plain_zeroshot, "images evaluated/s"),
        "zeroshot bf16": (lambda: wag_zeroshot(loaded16), plain_zeroshot, "images evaluated/s"),
        "embed": (embedding_counts, pixel_counts, "images counted/s"),
    }
    stages = [s for s in pairs if s.split()[0] in args.stages]
    for stage in stages:  # warm-up (imports, allocator, first-call overheads), not timed
        pairs[stage][0]()
        pairs[stage][1]()
    times: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    n_items: dict[str, int] = {}
    results: dict[tuple[str, str], object] = {}
    for r in range(args.rounds):
        for stage in stages:
            ours, plain, _ = pairs[stage]
            order = [("wag", ours), ("plain", plain)] if r % 2 == 0 else [("plain", plain), ("wag", ours)]
            for side, fn in order:
                t0, c0 = time.perf_counter(), time.process_time()
                n, res = fn()
                times.setdefault((stage, side), []).append(time.perf_counter() - t0)
                cpu.setdefault((stage, side), []).append(time.process_time() - c0)
                n_items[stage], results[(stage, side)] = n, res

    print(
        f"\n{args.arch} ({'random weights, ' if args.arch != 'tiny' else ''}input {pre.transforms[0].size} px), {args.images} images of "
        f"{args.size} px in {len(shards)} WebDataset shards, {len(CONCEPTS)} concepts, batch {args.batch_size}, "
        f"{args.captions} captions, torch threads {torch.get_num_threads()}, median of {args.rounds} interleaved rounds"
    )
    print(
        f"{'stage':<15}{'unit':<20}{'wag':>10}{'plain loop':>12}{'wag / plain':>13}{'per CPU-s':>11}{'wag / plain':>13}"
        "   result vs the plain loop (fp32)"
    )
    for stage in stages:
        unit = pairs[stage][2]
        w, p = statistics.median(times[(stage, "wag")]), statistics.median(times[(stage, "plain")])
        cw, cp = statistics.median(cpu[(stage, "wag")]), statistics.median(cpu[(stage, "plain")])
        a, b = (np.asarray(results[(stage, side)], dtype=float) for side in ("wag", "plain"))
        if stage == "embed":
            same = f"same counts at 0.7 as from pixels: {bool(np.array_equal(a, b))} (the 'plain loop' column: the tag stage from pixels)"
        elif stage.startswith("tag"):
            same = f"max |score diff| {float(np.abs(a - b).max()):.1e}, tags at 0.7 agreeing {float(((a >= 0.7) == (b >= 0.7)).mean()):.2%}"
        elif stage.startswith("zeroshot"):
            same = f"same per-class accuracy: {bool(np.allclose(a, b))}, max |diff| {float(np.abs(a - b).max()):.3f}"
        else:
            same = f"same counts: {bool(np.array_equal(a, b))}"
        print(
            f"{stage:<15}{unit:<20}{n_items[stage] / w:>10.1f}{n_items[stage] / p:>12.1f}{p / w:>12.2f}x"
            f"{n_items[stage] / cw:>11.1f}{cp / cw:>12.2f}x   {same}"
        )
    proj = _score_projection(args, loaded) if "embed" in args.stages else None
    print(f"\nmachine load after: {_uptime()}")
    if args.record and proj is not None:
        from throughput_record import command, record  # benchmarks/ is this script's folder

        record(
            "image_count_embeddings",
            {
                "what": proj["what"],
                "unit": "embeddings",
                "per_second": proj["per_second"],
                "per_cpu_second": proj["per_cpu_second"],
                "workers": torch.get_num_threads(),
                "command": command("study.py", sys.argv[1:]),
                "load": "load average before "
                + " ".join(f"{x:.2f}" for x in load_before)
                + ", after "
                + " ".join(f"{x:.2f}" for x in os.getloadavg()),
            },
        )
    if args.record and "tag" in args.stages:
        from throughput_record import command, record  # benchmarks/ is this script's folder

        load_after = os.getloadavg()
        for stage, name in (("tag", "image_tag"), ("tag bf16", "image_tag_bf16")):
            n = n_items[stage]
            record(
                name,
                {
                    "what": f"wag tag stage, open_clip {args.arch} at {pre.transforms[0].size} px "
                    f"({'bf16' if 'bf16' in stage else 'fp32'}), {len(CONCEPTS)} concepts, {args.size}-px PNGs in WebDataset shards",
                    "unit": "images",
                    "per_second": n / statistics.median(times[(stage, "wag")]),
                    "per_cpu_second": n / statistics.median(cpu[(stage, "wag")]),
                    "workers": torch.get_num_threads(),
                    "command": command("study.py", sys.argv[1:]),
                    "load": "load average before "
                    + " ".join(f"{x:.2f}" for x in load_before)
                    + ", after "
                    + " ".join(f"{x:.2f}" for x in load_after),
                },
            )


if __name__ == "__main__":
    main()
