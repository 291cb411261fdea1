"""``wag evaluate zeroshot|retrieval|t2i``: thin commands over wag.evaluate (resumable, atomic outputs).

Each (model, dataset, prompt) result is one Parquet file under ``--out``; an existing file is skipped unless
``--force``, so an interrupted run resumes where it stopped. Paper-schema JSON files are merged beside them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from wag.concepts import extract_nouns
from wag.core.checks import check_device, check_output_dir, positive_int, read_utf8_text
from wag.core.errors import WagError
from wag.core.ids import slug
from wag.core.io import read_json, write_json, write_parquet
from wag.evaluate.params import EvaluateParams


def _profile(profile: str | None) -> Any:
    """The loaded profile, or None without ``--profile``."""
    if profile is None:
        return None
    from wag.run.profile import load_profile  # lazy: the Profile imports every section's params (scipy, statsmodels)

    return load_profile(profile)


def _params(profile: str | None) -> Any:
    """The profile's ``evaluate:`` section (defaults without ``--profile``)."""
    prof = _profile(profile)
    return prof.evaluate if prof is not None else EvaluateParams()


def _door(args: argparse.Namespace, P: Any, models: list[str]) -> None:
    """Checks before any work: output folder, device, local checkpoints (format recognised)."""
    check_output_dir(args.out)
    check_device(args.device or P.device)
    from wag.evaluate.checkpoints import (  # lazy: the engine loads when a subcommand runs
        check_checkpoint,
        register_arch,
    )
    from wag.evaluate.models import ModelWeightsMissingError
    from wag.evaluate.registry import resolve_name

    for m in models:
        if "@" in m:
            arch, _, path = m.partition("@")
            ckpt = Path(path).expanduser()
            if not ckpt.is_file():
                raise ModelWeightsMissingError(
                    f"checkpoint of model '{m}' not found: {ckpt} (give ARCH@/path/to/existing/file)"
                )
            check_checkpoint(ckpt)
            register_arch(arch, ckpt)
        else:
            resolve_name(m)


def _cmd_zeroshot(args: argparse.Namespace) -> int:
    from wag.evaluate.datasets import (
        load_classification,
    )  # lazy: the engine loads when a subcommand runs, not for `wag --help`
    from wag.evaluate.models import load_clip
    from wag.evaluate.zeroshot import write_paper_json  # lazy: imports torch

    prof = _profile(args.profile)
    P = prof.evaluate if prof is not None else EvaluateParams()
    models = args.model or P.models
    dsets = args.dataset or P.datasets
    prompts = args.prompt or P.zeroshot.prompts
    if not models or not dsets:
        raise WagError("give --model and --dataset (or evaluate.models / evaluate.datasets in the profile)")
    _door(args, P, models)
    desc_source = _descriptions_source(args, P, prompts, prof)
    out = Path(args.out)
    root = args.data_root or P.data_root
    jobs = [(m, d, p) for m in models for d in dsets for p in prompts]
    todo = [
        j for j in jobs if args.force or not (out / "zeroshot" / slug(j[1]) / j[2] / f"{slug(j[0])}.parquet").is_file()
    ]
    datasets = {
        d: load_classification(d, root) for d in dict.fromkeys(j[1] for j in todo)
    }  # all found before any model runs
    descriptions = {
        d: _descriptions(desc_source, datasets[d], prof)
        for d in dict.fromkeys(j[1] for j in todo if j[2] == "descriptions")
    }  # every class covered before any model runs
    print(f"{len(jobs) - len(todo)} of {len(jobs)} results already in {out}; running {len(todo)}")
    for m, d, p, model in _per_model(
        todo,
        lambda name: load_clip(
            name, device=args.device or P.device, allow_download=True if args.allow_download else P.allow_download
        ),
    ):
        data = datasets[d]
        df = _zeroshot(model, data, p, args.batch_size or P.zeroshot.batch_size, P, descriptions.get(d))
        write_parquet(out / "zeroshot" / slug(d) / p / f"{slug(m)}.parquet", df)
        write_paper_json(df, out / "zero_shot_evaluations")
        skipped = df.attrs.get("skipped", [])
        print(
            f"{m} | {data.name} | {p}: accuracy {100 * df.attrs['full']:.2f}% over {int(df['n_images'].sum())} images"
            + (f"; {len(skipped)} undecodable images skipped (first: {skipped[0]})" if skipped else "")
        )
    files = sorted((out / "zeroshot").rglob("*.parquet"))
    if files:
        print(
            f"{len(files)} result tables under {out / 'zeroshot'}; rows: {sum(len(pd.read_parquet(f)) for f in files)}"
        )
    return 0


def _per_model(todo: list[tuple[str, str, str]], load: Any) -> Any:
    """``(model, dataset, prompt, loaded model)`` per job: each model loaded once, before its progress bar
    (a checkpoint that does not load fails as one line, not under a half-drawn bar)."""
    for m in dict.fromkeys(j[0] for j in todo):
        model = load(m)
        for _, d, p in tqdm([j for j in todo if j[0] == m], desc=f"zero-shot {m}", unit="run"):
            yield m, d, p, model


def _zeroshot(model: Any, data: Any, prompt: str, batch_size: int, P: Any, descriptions: Any = None) -> Any:
    from wag.evaluate.zeroshot import evaluate_zeroshot  # lazy: imports torch

    return evaluate_zeroshot(
        model,
        data,
        prompt=prompt,
        dataset_name=data.name,
        batch_size=batch_size,
        cache=P.cache_features,
        num_workers=P.num_workers,
        descriptions=descriptions if prompt == "descriptions" else None,
    )


def _descriptions_source(args: argparse.Namespace, P: Any, prompts: list[str], prof: Any) -> str | None:
    """At the door: the declared descriptions of the ``descriptions`` prompt style (a file or ``paper``), checked."""
    from wag.evaluate.descriptions import (  # lazy: the engine loads when a subcommand runs
        DescriptionsError,
        check_descriptions_source,
    )

    source = args.descriptions or P.zeroshot.descriptions
    if "descriptions" not in prompts:
        return None
    if not source:
        raise DescriptionsError(
            "prompt style 'descriptions' needs descriptions: pass --descriptions FILE (a JSON object: class name -> "
            "list of descriptions) or --descriptions paper (the paper's released gpt_descriptions)"
        )
    check_descriptions_source(source, prof)
    return source


def _descriptions(source: str, data: Any, prof: Any) -> dict[str, list[str]]:
    """The descriptions of one dataset, checked to cover every class (before any model runs)."""
    from wag.evaluate.descriptions import descriptions_for, load_descriptions  # lazy: as in _descriptions_source

    desc = load_descriptions(source, data.name, prof)
    descriptions_for(data.classnames, desc, data.name)
    return desc


def _read_lines(path: str) -> list[str]:
    p = Path(path)
    if not p.is_file():
        raise WagError(f"concept list {p} not found (one concept per line)")
    names = [line.strip() for line in read_utf8_text(p, "concept list").splitlines() if line.strip()]
    if not names:
        raise WagError(f"concept list {p} holds no concept names; put one concept name per line")
    return names


def _cmd_retrieval(args: argparse.Namespace) -> int:
    from wag.evaluate.datasets import (
        load_retrieval,
    )  # lazy: the engine loads when a subcommand runs, not for `wag --help`
    from wag.evaluate.models import load_clip
    from wag.evaluate.retrieval import evaluate_retrieval, to_paper_json  # lazy: imports torch

    P = _params(args.profile)
    _door(args, P, args.model or P.models)
    concept_list = _read_lines(args.concepts) if args.concepts else None
    data = load_retrieval(
        args.annotations, args.images, name=args.dataset, captions_per_image=P.retrieval.captions_per_image
    )
    if concept_list is not None:
        concepts = concept_list
    else:
        concepts = extract_nouns([c for caps in data.captions for c in caps], min_samples=1)["noun"].tolist()
    out = Path(args.out)
    for m in tqdm(args.model or P.models, desc="retrieval", unit="model"):
        target = out / "retrieval" / slug(args.dataset) / f"{slug(m)}.parquet"
        if target.is_file() and not args.force:
            print(f"{target} exists; skipping (use --force to recompute)")
            continue
        model = load_clip(
            m, device=args.device or P.device, allow_download=True if args.allow_download else P.allow_download
        )
        df = evaluate_retrieval(
            model,
            data,
            concepts=concepts,
            ks=tuple(P.retrieval.ks),
            min_images=P.retrieval.min_images,
            variant=P.retrieval.variant,
            dataset_name=args.dataset,
            batch_size=args.batch_size or 256,
            cache=P.cache_features,
        )
        write_parquet(target, df)
        for tag, block in to_paper_json(df).items():
            path = out / "retrieval_evaluations" / f"{args.dataset}_{tag}_results.json"
            cur = read_json(path) if path.is_file() else {}
            cur.update(block)
            write_json(path, cur)
        print(f"{m} | {args.dataset}: " + ", ".join(f"{k} {100 * v:.1f}%" for k, v in df.attrs["full"].items()))
    return 0


def _cmd_t2i(args: argparse.Namespace) -> int:
    from wag.evaluate.t2i import evaluate_t2i, load_pipeline  # lazy: imports torch and diffusers

    P = _params(args.profile)
    if not args.model:
        raise WagError("give --model: a diffusers pipeline name or a local folder written by save_pretrained()")
    _door(args, P, [])
    concepts = _read_lines(args.concepts)
    prompts = {c: [t.replace("{c}", c) for t in (args.template or ["a photo of a {c}."])] for c in concepts}
    t2p = P.t2i.model_copy(
        update={
            k: v
            for k, v in {
                "clip_model": args.clip_model,
                "images_per_prompt": args.images_per_prompt,
                "steps": args.steps,
            }.items()
            if v is not None
        }
    )
    from wag.evaluate.models import load_clip  # lazy: as in _cmd_zeroshot

    clip = load_clip(
        t2p.clip_model, device=args.device or P.device, allow_download=True if args.allow_download else P.allow_download
    )
    out = Path(args.out)
    for m in args.model:
        target = out / "t2i" / slug(args.dataset) / f"{slug(m)}.parquet"
        if target.is_file() and not args.force:
            print(f"{target} exists; skipping (use --force to recompute)")
            continue
        pipe = load_pipeline(m, device=args.device or P.device, allow_download=args.allow_download or P.allow_download)
        df = evaluate_t2i(
            pipe,
            prompts,
            dataset_name=args.dataset,
            model_name=m,
            params=t2p,
            clip=clip,
            image_dir=out / "t2i" / slug(args.dataset) / slug(m),
        )
        write_parquet(target, df)
        print(f"{m} | {args.dataset}: {df['concept'].nunique()} concepts scored -> {target}")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from wag.evaluate.registry import model_status  # lazy: as in _cmd_zeroshot

    df = model_status(args.set)
    print(df.to_string(index=False))
    print(f"{int(df['on_disk'].sum())} of {len(df)} models have weights on this machine")
    return 0


def register(subparsers: Any) -> None:
    """Add ``evaluate`` with its subcommands to the ``wag`` parser."""
    ev = subparsers.add_parser("evaluate", help="per-concept evaluation of CLIP models and text-to-image pipelines")
    sub = ev.add_subparsers(dest="evaluate_command", required=True)

    def common(p: argparse.ArgumentParser, *, many: bool = True) -> None:
        p.add_argument(
            "--model",
            nargs="+" if many else None,
            action="extend" if many else "store",
            help="registry name (e.g. ViT-B-16/laion400m), paper key, or ARCH@/path/to/ckpt",
        )
        p.add_argument("--out", required=True, metavar="DIR", help="output folder (results are resumable there)")
        p.add_argument("--profile", help="profile whose evaluate: section gives defaults (e.g. ci)")
        p.add_argument("--device", help="torch device (default: profile, cpu)")
        p.add_argument("--batch-size", type=positive_int, help="images per forward pass (default: profile)")
        p.add_argument("--force", action="store_true", help="recompute results that already exist")
        p.add_argument(
            "--allow-download",
            action="store_true",
            help="let open_clip / diffusers download missing weights (default: fail fast)",
        )

    ls = sub.add_parser("models", help="list the model registry and whether each model's weights are on this machine")
    ls.add_argument(
        "--set",
        choices=["main", "let_it_wag", "similarity_control", "synthetic_control"],
        help="only one set of models",
    )
    ls.set_defaults(func=_cmd_models)

    zs = sub.add_parser("zeroshot", help="per-class zero-shot accuracy (performance table + paper JSON)")
    common(zs)
    zs.add_argument(
        "--dataset",
        nargs="+",
        action="extend",
        help="dataset names (wag.evaluate.datasets.known_datasets) or image-folder paths",
    )
    zs.add_argument("--prompt", nargs="+", action="extend", choices=["class", "simple", "ensemble", "descriptions"])
    zs.add_argument("--data-root", help="folder holding the datasets (default: evaluate.data_root)")
    zs.add_argument(
        "--descriptions",
        metavar="FILE|paper",
        help="descriptions of the 'descriptions' prompt style: a JSON file (class name -> list of descriptions) or "
        "'paper' (the paper's released gpt_descriptions) (default: evaluate.zeroshot.descriptions)",
    )
    zs.set_defaults(func=_cmd_zeroshot)

    rt = sub.add_parser("retrieval", help="per-concept recall@k, image->text and text->image")
    common(rt)
    rt.add_argument("--dataset", required=True, help="name used in outputs (e.g. coco, flickr)")
    rt.add_argument(
        "--annotations", required=True, help="COCO captions JSON, Karpathy dataset_*.json, or [{image, caption}] JSON"
    )
    rt.add_argument("--images", required=True, help="image folder the annotation paths are relative to")
    rt.add_argument(
        "--concepts", help="concept list file (one per line); default: caption nouns (wag.concepts.extract_nouns)"
    )
    rt.set_defaults(func=_cmd_retrieval)

    t2 = sub.add_parser("t2i", help="generate K images per concept prompt and score them (CLIP-score, aesthetics)")
    common(t2)
    t2.add_argument("--dataset", required=True, help="name used in outputs")
    t2.add_argument("--concepts", required=True, help="concept list file (one per line)")
    t2.add_argument("--template", nargs="+", help="prompt templates with {c} (default: 'a photo of a {c}.')")
    t2.add_argument("--clip-model", help="open_clip model for CLIP-score (default: evaluate.t2i.clip_model)")
    t2.add_argument(
        "--images-per-prompt", type=positive_int, help="K images per prompt (default: evaluate.t2i.images_per_prompt)"
    )
    t2.add_argument("--steps", type=positive_int, help="denoising steps (default: evaluate.t2i.steps)")
    t2.set_defaults(func=_cmd_t2i)
