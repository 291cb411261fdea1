"""Streaming shard readers: formats, detection, override, ids, clear errors."""

from __future__ import annotations

import gzip
import io
import tarfile

import pandas as pd
import pytest

from wag.corpus import CorpusError, detect_format, iter_batches, iter_samples, iter_shards
from wag.frequency.generate import write_caption_shards

CAPS = pd.DataFrame({"sample_id": ["a", "b", "c"], "caption": ["a dog", "Two cats", ""]})


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "tsv", "wds"])
def test_round_trip_every_format(tmp_path, fmt):
    write_caption_shards(CAPS, tmp_path, n_shards=2, fmt=fmt)
    shards = iter_shards(tmp_path)
    assert [s.fmt for s in shards] == [fmt, fmt]
    got = [s for sh in shards for s in iter_samples(sh)]
    assert [g["caption"] for g in got] == CAPS["caption"].tolist()
    if fmt != "tsv":  # CC-3M style TSV has no id column: ids are <file>:<row>
        assert [g["sample_id"] for g in got] == ["a", "b", "c"]
    else:
        assert got[0]["sample_id"] == "shard-00000.tsv:0"


def test_tsv_layouts_and_override(tmp_path):
    cc12m = tmp_path / "cc12m.tsv"
    cc12m.write_text("http://x/1.jpg\ta red car\nhttp://x/2.jpg\tblue sky\n")
    assert [s["caption"] for s in iter_samples(iter_shards(cc12m)[0])] == ["a red car", "blue sky"]
    forced = iter_shards(cc12m, fmt="tsv-cc3m")[0]  # wrong override: the url column is read as caption
    assert next(iter_samples(forced))["caption"] == "http://x/1.jpg"
    header = tmp_path / "h.tsv.gz"
    header.write_bytes(gzip.compress(b'key\tcaption\turl\nk1\thello "quoted" world\thttp://x\n'))
    assert next(iter_samples(iter_shards(header)[0])) == {"sample_id": "k1", "caption": 'hello "quoted" world'}
    odd = tmp_path / "odd.tsv"
    odd.write_text("foo\tbar\tbaz\n")
    with pytest.raises(CorpusError, match="column order"):
        list(iter_batches(iter_shards(odd)[0]))


def test_wds_groups_by_key_and_reads_images(tmp_path):
    p = tmp_path / "s.tar"
    with tarfile.open(p, "w") as tar:
        for name, data in [
            ("x/001.txt", b"a dog"),
            ("x/001.jpg", b"\xff\xd8"),
            ("x/001.json", b'{"w": 1}'),
            ("x/002.json", b'{"caption": "a cat"}'),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    s = list(iter_samples(iter_shards(p)[0]))
    assert [(x["sample_id"], x["caption"]) for x in s] == [("x/001", "a dog"), ("x/002", "a cat")]
    assert s[0]["image"] == b"\xff\xd8" and s[0]["image_ext"] == "jpg"


def test_clear_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        iter_shards(tmp_path / "nope")
    with pytest.raises(CorpusError, match="unknown corpus format"):
        iter_shards(tmp_path, fmt="csvx")
    with pytest.raises(CorpusError, match="cannot tell the format"):
        detect_format("captions.dat")
    with pytest.raises(CorpusError, match="no shard files"):
        iter_shards(tmp_path)
    with pytest.raises(CorpusError, match="no files match"):
        iter_shards(str(tmp_path / "*.parquet"))
    write_caption_shards(CAPS, tmp_path, n_shards=1)
    sh = iter_shards(tmp_path)[0]
    with pytest.raises(CorpusError, match="unknown caption column 'TEXT'; columns are: sample_id, caption"):
        list(iter_batches(sh, caption_column="TEXT"))
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(CorpusError, match=r"bad\.parquet: cannot read parquet shard"):
        list(iter_batches(iter_shards(bad)[0]))
    badj = tmp_path / "bad.jsonl"
    badj.write_text('{"caption": "ok"}\n{oops\n')
    with pytest.raises(CorpusError, match="line 2 is not JSON"):
        list(iter_batches(iter_shards(badj)[0]))


def test_batches_are_bounded(tmp_path):
    big = pd.DataFrame({"sample_id": [str(i) for i in range(1000)], "caption": ["x"] * 1000})
    write_caption_shards(big, tmp_path, n_shards=1, fmt="jsonl")
    sizes = [b.num_rows for b in iter_batches(iter_shards(tmp_path)[0], batch_size=300)]
    assert sizes == [300, 300, 300, 100]
