"""Finding the released files: explicit path > profile > env var > cache > download (pooch, monkeypatched)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import wag.artifacts as A
from wag.artifacts import locate


def _artifacts_dir(path: Path) -> Path:
    (path / "search_counts").mkdir(parents=True)
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No env var from conftest, and a private user cache."""
    monkeypatch.delenv("WAG_PAPER_ARTIFACTS", raising=False)
    monkeypatch.delenv("WAG_NEGLECTED_TAILS", raising=False)
    cache = tmp_path / "usercache"
    monkeypatch.setattr(locate, "cache_root", lambda source: cache / source.registry_file.split("_registry")[0])
    return cache


def test_order_explicit_profile_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_dir = _artifacts_dir(tmp_path / "env")
    prof_dir = _artifacts_dir(tmp_path / "prof")
    explicit = _artifacts_dir(tmp_path / "explicit")
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(env_dir))
    prof = SimpleNamespace(paper_artifacts=str(prof_dir), download=False)
    assert A.paper_root(prof, path=explicit) == explicit
    assert A.paper_root(prof) == prof_dir
    assert A.paper_root(SimpleNamespace(paper_artifacts=None, download=False)) == env_dir
    assert A.paper_root() == env_dir


def test_bad_folder_names_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(tmp_path / "nowhere"))
    with pytest.raises(
        A.ArtifactsMissingError, match=r"\$WAG_PAPER_ARTIFACTS points to .*nowhere, which is not a folder"
    ):
        A.paper_root()
    (tmp_path / "empty").mkdir()
    with pytest.raises(A.ArtifactsMissingError, match="has no `search_counts` inside"):
        A.paper_root(path=tmp_path / "empty")


def test_missing_names_three_ways() -> None:
    with pytest.raises(A.ArtifactsMissingError) as exc:
        A.paper_root(SimpleNamespace(paper_artifacts=None, download=False))
    msg = str(exc.value)
    assert "`download: false`" in msg
    assert "paper_artifacts: /path/to/folder" in msg
    assert "WAG_PAPER_ARTIFACTS=/path/to/folder" in msg
    assert "download: true" in msg and "11ef009f9d0d9c0d190b4ede58e07d378ef79d32" in msg
    with pytest.raises(A.ArtifactsMissingError, match="WAG_NEGLECTED_TAILS=/path/to/folder"):
        A.neglected_tails_root(SimpleNamespace(neglected_tails=None, download=False))


class _FakePooch:
    """Stands in for pooch.create(...): 'downloads' by writing the path as file content."""

    calls: list[str] = []

    def __init__(self, path: Path, base_url: str, registry: dict[str, str], **_: object) -> None:
        self.path, self.base_url, self.registry = Path(path), base_url, registry

    def fetch(self, rel: str) -> str:
        _FakePooch.calls.append(self.base_url + rel)
        out = self.path / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(rel)
        return str(out)


def test_download_then_cache(monkeypatch: pytest.MonkeyPatch, _isolated: Path) -> None:
    import pooch

    _FakePooch.calls = []
    monkeypatch.setattr(pooch, "create", _FakePooch)
    root = A.neglected_tails_root(SimpleNamespace(neglected_tails=None, download=True))
    reg = A.load_registry(A.NEGLECTED_TAILS)
    assert root == _isolated / "neglected_tails"
    assert len(_FakePooch.calls) == len(reg.files) == 20
    assert all(
        c.startswith(
            "https://raw.githubusercontent.com/shubhamprshr27/NeglectedTailsVLM/1ca33df119c1bfb48ae0738a7a12c6d4e65867e5/analysis/laion/"
        )
        for c in _FakePooch.calls
    )
    assert (root / "imagenet_1k" / "metrics-LAION400M.json").is_file()
    _FakePooch.calls = []
    assert A.neglected_tails_root() == root  # complete copy in the cache: no second download
    assert _FakePooch.calls == []


def test_download_failure_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import pooch

    class Offline(_FakePooch):
        def fetch(self, rel: str) -> str:
            raise ConnectionError("no route to host")

    monkeypatch.setattr(pooch, "create", Offline)
    with pytest.raises(
        A.ArtifactsMissingError, match=r"download failed: ConnectionError: no route to host[\s\S]*WAG_PAPER_ARTIFACTS"
    ):
        A.paper_root()


def test_locate_paper_root_finds_the_same_folder_or_none_without_downloading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated: Path
) -> None:
    import pooch

    _FakePooch.calls = []
    monkeypatch.setattr(pooch, "create", _FakePooch)
    allow = SimpleNamespace(paper_artifacts=None, download=True)
    assert A.locate_paper_root(allow) is None and A.locate_paper_root() is None  # nothing local: None, no download
    assert _FakePooch.calls == [] and not _isolated.exists()
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(tmp_path / "nowhere"))
    assert A.locate_paper_root() is None  # a wrong folder named: None (paper_root raises)
    env_dir = _artifacts_dir(tmp_path / "env")
    prof_dir = _artifacts_dir(tmp_path / "prof")
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(env_dir))
    assert A.locate_paper_root() == A.paper_root() == env_dir
    prof = SimpleNamespace(paper_artifacts=str(prof_dir), download=False)
    assert A.locate_paper_root(prof) == A.paper_root(prof) == prof_dir
    monkeypatch.delenv("WAG_PAPER_ARTIFACTS")
    cached = _artifacts_dir(_isolated / "paper_artifacts")
    (cached / ".wag-complete").write_text("x")
    assert A.locate_paper_root() == cached


def test_registry_format() -> None:
    reg = A.load_registry(A.PAPER)
    assert len(reg.files) == 881
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in reg.files.values())
    assert sum(p.startswith("search_counts/") for p in reg.files) == 783
    assert "gpt_descriptions/rampp_overall.json" in reg.missing and not set(reg.missing) & set(reg.files)
    assert reg.local_only == ["imagenet_accuracy_extra.csv"] and "imagenet_accuracy_extra.csv" not in reg.files


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[2] / "shared" / "paper-artifacts").is_dir(), reason="reference copy absent"
)
def test_registry_hashes_match_reference_copy() -> None:
    ref = Path(__file__).resolve().parents[2] / "shared" / "paper-artifacts"
    reg = A.load_registry(A.PAPER)
    for rel in sorted(reg.files)[::97]:
        assert hashlib.sha256((ref / rel).read_bytes()).hexdigest() == reg.files[rel], rel
    on_disk = {p.relative_to(ref).as_posix() for p in ref.rglob("*") if p.is_file() and p.name != "README.md"}
    assert on_disk == set(reg.files) | set(reg.local_only)


def test_verify_reports_changed_and_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from wag.cli import artifacts as cli
    from wag.core.errors import WagError

    root = tmp_path / "nt"
    (root / "imagenet_1k").mkdir(parents=True)
    (root / "imagenet_1k" / "metrics-LAION400M.json").write_text("{}")  # wrong content
    res = locate.verify(root, A.NEGLECTED_TAILS)
    assert res["changed"] == ["imagenet_1k/metrics-LAION400M.json"] and len(res["absent"]) == 19 and res["ok"] == []
    monkeypatch.setenv("WAG_NEGLECTED_TAILS", str(root))
    monkeypatch.setenv("WAG_PAPER_ARTIFACTS", str(_artifacts_dir(tmp_path / "paper")))
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["artifacts", "verify"])
    with pytest.raises(WagError, match="differ from the pinned checksums"):
        args.func(args)
