"""Streaming readers for caption/image shards: Parquet, TSV (CC-3M / CC-12M / YFCC-15M), JSONL, WebDataset tars.

Every reader yields Arrow record batches with two string columns, ``sample_id`` and ``caption``
(:func:`iter_batches`), or plain dicts (:func:`iter_samples`). Memory is bounded by the batch size.

Sample ids: an id column when the shard has one (``key``, ``sample_id``, ``id``, ``SAMPLE_ID``; or
the WebDataset ``__key__``), else ``<shard file name>:<row number>``. Captions of null/missing rows
are read as the empty string (they never match a concept).

Formats (``fmt``): ``parquet``, ``jsonl``, ``wds``, ``tsv`` (auto: header names or the column that
holds URLs), ``tsv-cc3m`` (caption, url), ``tsv-cc12m`` (url, caption), ``tsv-yfcc15m``
(url, caption), as used by the paper's index builder.
"""

from __future__ import annotations

import glob as globmod
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from wag.core.errors import WagError

FORMATS = ("parquet", "tsv", "tsv-cc3m", "tsv-cc12m", "tsv-yfcc15m", "jsonl", "wds")
CAPTION_COLUMNS = ("caption", "TEXT", "text", "txt", "Text", "caption_text")
ID_COLUMNS = ("key", "sample_id", "id", "SAMPLE_ID", "__key__")
TSV_LAYOUTS = {"tsv-cc3m": ("caption", "url"), "tsv-cc12m": ("url", "caption"), "tsv-yfcc15m": ("url", "caption")}
_EXT = {".parquet": "parquet", ".pq": "parquet", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".tar": "wds"}
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp")
BATCH_SIZE = 65_536


class CorpusError(WagError, ValueError):
    """A corpus path, format, column or shard cannot be read; the message names the path and the reason."""


@dataclass(frozen=True)
class Shard:
    """One file of a corpus and its format."""

    path: Path
    fmt: str

    @property
    def name(self) -> str:
        return self.path.name


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of a shard from its file name (``.gz``/``.zst`` compression allowed for tsv and jsonl)."""
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".zst", ".bz2"):
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _EXT:
        return _EXT[suffixes[-1]]
    raise CorpusError(
        f"cannot tell the format of {p} from its name; pass fmt= one of {', '.join(FORMATS)} (CLI: --format)"
    )


def iter_shards(
    path_or_glob: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], fmt: str | None = None
) -> list[Shard]:
    """The shards of a corpus: a file, a folder (its known shard files, recursively), a glob or a list of those, sorted."""
    if fmt is not None and fmt not in FORMATS:
        raise CorpusError(f"unknown corpus format {fmt!r}; use one of {', '.join(FORMATS)}")
    items = [path_or_glob] if isinstance(path_or_glob, (str, os.PathLike)) else list(path_or_glob)
    files: list[Path] = []
    for item in items:
        s = str(item)
        p = Path(s)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".") and _known(f, fmt))
            if not found:
                raise CorpusError(
                    f"folder {p} holds no shard files ({', '.join(sorted(_EXT))}); check the path or pass fmt="
                )
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif any(c in s for c in "*?["):
            found = sorted(Path(f) for f in globmod.glob(s, recursive=True) if Path(f).is_file())
            if not found:
                raise CorpusError(f"no files match {s}; check the pattern")
            files.extend(found)
        else:
            raise CorpusError(f"corpus path {p} does not exist; give a shard file, a folder of shards or a glob")
    seen: set[Path] = set()
    shards = []
    for f in files:
        if f in seen:
            continue
        seen.add(f)
        shards.append(Shard(f, fmt or detect_format(f)))
    return shards


def _known(f: Path, fmt: str | None) -> bool:
    try:
        found = detect_format(f)
    except CorpusError:
        return False
    return fmt is None or found == fmt or (found == "tsv" and fmt.startswith("tsv"))


def _batch(ids: pa.Array, caps: pa.Array) -> pa.RecordBatch:
    caps = caps.cast(pa.string()) if caps.type != pa.string() else caps
    ids = ids.cast(pa.string()) if ids.type != pa.string() else ids
    import pyarrow.compute as pc

    return pa.RecordBatch.from_arrays([ids, pc.fill_null(caps, "")], names=["sample_id", "caption"])


def _row_ids(shard: Shard, start: int, n: int) -> pa.Array:
    return pa.array([f"{shard.name}:{i}" for i in range(start, start + n)], pa.string())


def _pick(columns: Sequence[str], wanted: str | None, candidates: Sequence[str], what: str, shard: Shard) -> str | None:
    if wanted is not None:
        if wanted not in columns:
            raise CorpusError(f"{shard.path}: unknown {what} column {wanted!r}; columns are: {', '.join(columns)}")
        return wanted
    for c in candidates:
        if c in columns:
            return c
    return None


def iter_batches(
    shard: Shard,
    *,
    batch_size: int = BATCH_SIZE,
    caption_column: str | None = None,
    id_column: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Stream ``(sample_id, caption)`` record batches of one shard; read errors raise :class:`CorpusError` naming the shard."""
    try:
        if shard.fmt == "parquet":
            yield from _parquet(shard, batch_size, caption_column, id_column)
        elif shard.fmt.startswith("tsv"):
            yield from _tsv(shard, batch_size, caption_column, id_column)
        elif shard.fmt == "jsonl":
            yield from _jsonl(shard, batch_size, caption_column, id_column)
        elif shard.fmt == "wds":
            for chunk in _chunks(_wds(shard, caption_column, with_images=False), batch_size):
                yield _batch(
                    pa.array([s["sample_id"] for s in chunk], pa.string()),
                    pa.array([s["caption"] for s in chunk], pa.string()),
                )
        else:
            raise CorpusError(f"unknown corpus format {shard.fmt!r}; use one of {', '.join(FORMATS)}")
    except CorpusError:
        raise
    except (OSError, pa.ArrowException, tarfile.TarError, ValueError, UnicodeDecodeError, EOFError) as exc:
        raise CorpusError(f"{shard.path}: cannot read {shard.fmt} shard ({type(exc).__name__}: {exc})") from None


def _chunks(it: Iterator[dict], n: int) -> Iterator[list[dict]]:
    buf: list[dict] = []
    for x in it:
        buf.append(x)
        if len(buf) >= n:
            yield buf
            buf = []
    if buf:
        yield buf


def _parquet(
    shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(shard.path)
    cols = pf.schema_arrow.names
    cap = _pick(cols, caption_column, CAPTION_COLUMNS, "caption", shard)
    if cap is None:
        raise CorpusError(
            f"{shard.path}: no caption column (looked for {', '.join(CAPTION_COLUMNS)}); columns are: {', '.join(cols)}; pass caption_column="
        )
    idc = _pick(cols, id_column, ID_COLUMNS, "id", shard)
    row = 0
    for b in pf.iter_batches(batch_size=batch_size, columns=[cap] + ([idc] if idc else [])):
        ids = b.column(idc) if idc else _row_ids(shard, row, b.num_rows)
        row += b.num_rows
        yield _batch(ids, b.column(cap))


def _tsv_columns(shard: Shard) -> tuple[list[str], bool]:
    """Column names of a TSV shard and whether its first line is a header."""
    if shard.fmt in TSV_LAYOUTS:
        return list(TSV_LAYOUTS[shard.fmt]), False
    with pa.input_stream(str(shard.path), compression="detect") as fh:
        first = fh.read(1 << 16).decode("utf-8", errors="replace").split("\n", 1)[0].rstrip("\r")
    fields = first.split("\t")
    if any(f in CAPTION_COLUMNS or f in ID_COLUMNS or f.lower() in ("url", "link") for f in fields):
        return fields, True
    if len(fields) == 2:
        url_like = [f.startswith(("http://", "https://")) for f in fields]
        if url_like == [False, True]:
            return ["caption", "url"], False
        if url_like == [True, False]:
            return ["url", "caption"], False
    raise CorpusError(
        f"{shard.path}: cannot tell the TSV column order (first line: {first[:80]!r}); "
        "pass fmt='tsv-cc3m' (caption, url), 'tsv-cc12m' or 'tsv-yfcc15m' (url, caption), or caption_column="
    )


def _tsv(shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None) -> Iterator[pa.RecordBatch]:
    names, header = _tsv_columns(shard)
    if caption_column is None and "caption" not in names:
        caption_column = _pick(names, None, CAPTION_COLUMNS, "caption", shard)
    cap = _pick(names, caption_column or "caption", CAPTION_COLUMNS, "caption", shard)
    idc = _pick(names, id_column, ID_COLUMNS, "id", shard)
    row = 0
    try:
        reader = pacsv.open_csv(
            pa.input_stream(str(shard.path), compression="detect"),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if header else 0, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter="\t", quote_char=False, escape_char=False, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, include_columns=[cap] + ([idc] if idc else [])
            ),
        )
        for b in reader:
            ids = b.column(idc) if idc else _row_ids(shard, row, b.num_rows)
            row += b.num_rows
            for off in range(0, b.num_rows, batch_size):
                yield _batch(ids.slice(off, batch_size), b.column(cap).slice(off, batch_size))
    except pa.ArrowInvalid as exc:
        ragged = _first_ragged_line(shard, len(names)) if "CSV parse error" in str(exc) else None
        if ragged is None:
            raise
        line, n, text = ragged
        raise CorpusError(
            f"{shard.path}: line {line} has {n} tab-separated fields, expected {len(names)} ({text[:80]!r}); "
            "fix or delete that row (a tab inside a caption must be escaped)"
        ) from None


def _first_ragged_line(shard: Shard, n_fields: int) -> tuple[int, int, str] | None:
    """``(line number, fields, text)`` of the first line of a TSV shard without ``n_fields`` fields (error path only)."""
    with (
        pa.input_stream(str(shard.path), compression="detect") as raw,
        io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n") as fh,
    ):
        for lineno, line in enumerate(fh, 1):
            text = line.rstrip("\r\n")
            if text and text.count("\t") + 1 != n_fields:
                return lineno, text.count("\t") + 1, text
    return None


def _jsonl(
    shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    row = 0
    ids: list[str] = []
    caps: list[str] = []
    cap_col, id_col = caption_column, id_column
    with pa.input_stream(str(shard.path), compression="detect") as raw:
        for lineno, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{shard.path}: line {lineno} is not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise CorpusError(f"{shard.path}: line {lineno} is not a JSON object")
            if cap_col is None or (row == 0 and caption_column is None):
                cap_col = _pick(list(obj), caption_column, CAPTION_COLUMNS, "caption", shard)
                if cap_col is None:
                    raise CorpusError(
                        f"{shard.path}: no caption field (looked for {', '.join(CAPTION_COLUMNS)}); fields are: {', '.join(obj)}; pass caption_column="
                    )
                id_col = _pick(list(obj), id_column, ID_COLUMNS, "id", shard)
            elif caption_column is not None and caption_column not in obj:
                raise CorpusError(f"{shard.path}: line {lineno} has no field {caption_column!r}")
            c = obj.get(cap_col)
            caps.append(c if isinstance(c, str) else "")
            ids.append(str(obj[id_col]) if id_col and obj.get(id_col) is not None else f"{shard.name}:{row}")
            row += 1
            if len(caps) >= batch_size:
                yield _batch(pa.array(ids, pa.string()), pa.array(caps, pa.string()))
                ids, caps = [], []
    if caps:
        yield _batch(pa.array(ids, pa.string()), pa.array(caps, pa.string()))


def _wds_key(name: str) -> tuple[str, str]:
    """WebDataset convention: key = path up to the first dot of the base name; the rest is the extension."""
    d, _, base = name.rpartition("/")
    stem, dot, ext = base.partition(".")
    return (f"{d}/{stem}" if d else stem), ext.lower()


def iter_wds_groups(
    path: str | os.PathLike[str], keep: Callable[[str], bool]
) -> Iterator[tuple[str, dict[str, tuple[str, bytes]]]]:
    """Stream a WebDataset tar as ``(key, {ext: (member name, bytes)})``, reading only members whose ext ``keep`` accepts.

    Members of one sample are adjacent (the WebDataset convention); the key is the path up to the first
    dot of the base name and the extension is lower-cased.
    """
    with tarfile.open(path, mode="r|*") as tar:
        cur_key: str | None = None
        cur: dict[str, tuple[str, bytes]] = {}
        for member in tar:
            if not member.isfile():
                continue
            key, ext = _wds_key(member.name)
            if cur_key is not None and key != cur_key:
                yield cur_key, cur
                cur = {}
            cur_key = key
            if keep(ext):
                fh = tar.extractfile(member)
                cur[ext] = (member.name, fh.read() if fh is not None else b"")
        if cur_key is not None:
            yield cur_key, cur


def _wds(shard: Shard, caption_column: str | None, *, with_images: bool) -> Iterator[dict]:
    def keep(ext: str) -> bool:
        return ext in ("txt", "json") or (with_images and "." + ext in _IMAGE_EXT)

    for key, parts in iter_wds_groups(shard.path, keep):
        yield _wds_sample(key, {ext: blob for ext, (_, blob) in parts.items()}, caption_column)


def _wds_sample(key: str, parts: dict, caption_column: str | None) -> dict:
    meta = {}
    if "json" in parts:
        try:
            meta = json.loads(parts["json"].decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = {}
    if caption_column is not None:
        cap = meta.get(caption_column, "")
    elif "txt" in parts:
        cap = parts["txt"].decode("utf-8", errors="replace")
    else:
        cap = next((meta[c] for c in CAPTION_COLUMNS if isinstance(meta.get(c), str)), "")
    out = {"sample_id": key, "caption": cap if isinstance(cap, str) else ""}
    for ext in ("jpg", "jpeg", "png", "webp"):
        if ext in parts:
            out["image"] = parts[ext]
            out["image_ext"] = ext
            break
    if meta:
        out["meta"] = meta
    return out


def iter_samples(
    shard: Shard, *, caption_column: str | None = None, id_column: str | None = None, with_images: bool = True
) -> Iterator[dict]:
    """Plain-dict samples ``{sample_id, caption[, image, image_ext, meta]}`` of one shard (images: WebDataset only)."""
    if shard.fmt == "wds":
        try:
            yield from _wds(shard, caption_column, with_images=with_images)
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise CorpusError(f"{shard.path}: cannot read wds shard ({type(exc).__name__}: {exc})") from None
        return
    for b in iter_batches(shard, caption_column=caption_column, id_column=id_column):
        for sid, cap in zip(b.column(0).to_pylist(), b.column(1).to_pylist(), strict=True):
            yield {"sample_id": sid, "caption": cap}
