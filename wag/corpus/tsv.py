"""TSV shards (CC-3M / CC-12M / YFCC-15M layouts, or a header naming the columns), read by Arrow's CSV reader."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

from wag.corpus.batches import iter_lines, not_utf8, pick_column, record_batch, row_ids
from wag.corpus.shards import CAPTION_COLUMNS, ID_COLUMNS, TSV_LAYOUTS, CorpusError, Shard


def tsv_columns(shard: Shard) -> tuple[list[str], bool]:
    """Column names of a TSV shard and whether its first line is a header."""
    if shard.fmt in TSV_LAYOUTS:
        return list(TSV_LAYOUTS[shard.fmt]), False
    with pa.input_stream(str(shard.path), compression="detect") as fh:
        first = fh.read(1 << 16).decode("utf-8", errors="replace").split("\n", 1)[0].rstrip("\r").removeprefix("\ufeff")
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


def read_tsv(
    shard: Shard, batch_size: int, caption_column: str | None, id_column: str | None
) -> Iterator[pa.RecordBatch]:
    """``(sample_id, caption)`` batches of a TSV shard; a row with the wrong number of fields is named by line."""
    names, header = tsv_columns(shard)
    if caption_column is None and "caption" not in names:
        caption_column = pick_column(names, None, CAPTION_COLUMNS, "caption", shard)
    cap = pick_column(names, caption_column or "caption", CAPTION_COLUMNS, "caption", shard)
    idc = pick_column(names, id_column, ID_COLUMNS, "id", shard)
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
            ids = b.column(idc) if idc else row_ids(shard, row, b.num_rows)
            row += b.num_rows
            for off in range(0, b.num_rows, batch_size):
                yield record_batch(ids.slice(off, batch_size), b.column(cap).slice(off, batch_size))
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc):
            _raise_first_bad_line(shard)
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


def _raise_first_bad_line(shard: Shard) -> None:
    """Raise the error naming the first line of a TSV shard that is not UTF-8 (error path only)."""
    with pa.input_stream(str(shard.path), compression="detect") as raw:
        for lineno, data in enumerate(iter_lines(raw), 1):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise not_utf8(shard, f"line {lineno}", data, exc) from None
