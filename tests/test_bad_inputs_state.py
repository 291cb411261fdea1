"""Issue 20, point 5: state you can trust. One writer per study (or count folder), with a killed writer's lock taken
over; temporaries a killed process left removed on the next run; files and folders made with the umask's mode; an
output that cannot be read is stale, not done; no rename ever crosses a filesystem (every rename stays in its folder).
Each case asserts the exit status, the one line and the data.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from bad_inputs_support import (
    captions,
    count_argv,
    counts_of,
    error_line,
    png,
    quiet,  # noqa: F401 - the suite's autouse fixture
    study_profile,
    warning_lines,
    wds_shard,
    write,
)

from wag.cli import main

HOLD_LOCK = """
import sys, time
from wag.core.lock import folder_lock
with folder_lock(sys.argv[1], "a test holder"):
    print("ready", flush=True)
    time.sleep(300)
"""

LEAVE_TEMPORARIES = """
import sys, time
from pathlib import Path
from wag.core.io import atomic_path
with atomic_path(Path(sys.argv[1]) / "counts.parquet") as a, atomic_path(Path(sys.argv[1]) / "shards" / "x.done.json") as b:
    a.write_bytes(b"PAR1 half a table"); b.write_bytes(b'{"half": ')
    print("ready", flush=True)
    time.sleep(300)
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and "Traceback" not in cap.out, cap.err
    return code, cap.out, cap.err


@pytest.fixture
def helper() -> Iterator[object]:
    """Start a Python helper process (a script and its arguments) that prints ``ready``; every one is killed after."""
    procs: list[subprocess.Popen[str]] = []

    def start(script: str, *args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env={**os.environ}
        )
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        return proc

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=60)


def _kill9(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait(timeout=60)


def _study(tmp: Path) -> Path:
    wds_shard(tmp / "corpus" / "a.tar", captions(10))
    return study_profile(tmp)


# ------------------------------------------------------------------------------------------------------
# one writer per study
# ------------------------------------------------------------------------------------------------------


def test_a_second_run_on_a_study_stops_naming_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], helper
) -> None:
    prof = _study(tmp_path)
    first = helper(HOLD_LOCK, str(tmp_path / "study"))
    code, _, err = run(["study", "run", "--profile", str(prof), "--quiet"], capsys)
    line = error_line(err)
    assert code == 2 and f"study 'bad' in {tmp_path / 'study'} is being written by process {first.pid}" in line
    assert "wait until it finishes" in line and not (tmp_path / "study" / "records").exists()


def test_a_killed_runs_lock_is_taken_over_and_said(tmp_path: Path, capsys: pytest.CaptureFixture[str], helper) -> None:
    prof = _study(tmp_path)
    first = helper(HOLD_LOCK, str(tmp_path / "study"))
    _kill9(first)
    code, out, _ = run(["study", "run", "--profile", str(prof), "--quiet"], capsys)
    assert code == 0 and f"took over the lock {tmp_path / 'study' / '.wag.lock'} left by process {first.pid}" in out
    freq = pd.read_parquet(tmp_path / "study" / "count" / "frequencies.parquet")
    assert freq.set_index("concept")["count"].to_dict() == {"dog": 5, "cat": 5}
    assert not (tmp_path / "study" / ".wag.lock").exists()  # released cleanly: nothing left to take over
    code, out, _ = run(["study", "run", "--profile", str(prof), "--quiet"], capsys)
    assert code == 0 and "took over" not in out and "[count] up to date" in out


def test_a_killed_count_leaves_its_folder_to_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], helper
) -> None:
    first = helper(HOLD_LOCK, str(tmp_path / "out"))
    code, _, err = run(count_argv(tmp_path), capsys)
    assert code == 2 and "wag count in" in error_line(err) and f"process {first.pid}" in err
    assert not (tmp_path / "out" / "counts.parquet").exists()
    _kill9(first)
    code, _, err = run(count_argv(tmp_path), capsys)
    (line,) = warning_lines(err)
    assert code == 0 and f"left by process {first.pid}" in line and "ended without releasing it" in line
    assert counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}


def test_a_waiting_lock_waits_for_the_holder_then_takes_it(tmp_path: Path) -> None:
    """``wait=True`` (caches two notebooks may fill at once): the second process blocks until the first releases."""
    import time

    from wag.core.lock import LockError, folder_lock

    hold = HOLD_LOCK.replace("time.sleep(300)", "time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen(
        [sys.executable, "-c", hold, str(tmp_path / "f"), "4"], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        with pytest.raises(LockError, match="is being written by process"):
            with folder_lock(tmp_path / "f", "a cache"):
                pass
        t0 = time.perf_counter()
        with folder_lock(tmp_path / "f", "a cache", wait=True) as lock:
            assert lock.stale is None  # the holder released its lock (a lock taken over would name it)
        assert time.perf_counter() - t0 > 0.2
    finally:
        proc.kill()
        proc.wait(timeout=60)


def test_the_lock_is_reentrant_in_one_thread_only(tmp_path: Path) -> None:
    import threading

    from wag.core.lock import LockError, folder_lock

    errors: list[BaseException] = []
    with folder_lock(tmp_path, "x"), folder_lock(tmp_path, "x"):  # nested in one thread: fine

        def other() -> None:
            try:
                with folder_lock(tmp_path, "x"):
                    pass
            except LockError as exc:
                errors.append(exc)

        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert len(errors) == 1 and "another thread of this process" in str(errors[0])
    assert not (tmp_path / ".wag.lock").exists()


# ------------------------------------------------------------------------------------------------------
# temporaries of a killed writer
# ------------------------------------------------------------------------------------------------------


def test_temporaries_of_a_killed_count_are_removed_on_the_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], helper
) -> None:
    _kill9(helper(LEAVE_TEMPORARIES, str(tmp_path / "out")))
    left = sorted(p.name for p in (tmp_path / "out").rglob("*.tmp"))
    assert len(left) == 2 and all(n.startswith((".counts.parquet.", ".x.done.json.")) for n in left)
    code, _, _ = run(count_argv(tmp_path), capsys)
    assert code == 0 and not list((tmp_path / "out").rglob("*.tmp"))
    assert counts_of(tmp_path / "out") == {"dog": 1, "cat": 1}


def test_temporaries_of_a_killed_study_run_are_removed_and_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], helper
) -> None:
    prof = _study(tmp_path)
    _kill9(helper(LEAVE_TEMPORARIES, str(tmp_path / "study" / "count")))
    code, out, _ = run(["study", "run", "--profile", str(prof), "--quiet"], capsys)
    assert code == 0 and f"removed 2 temporary file(s) an interrupted run left in {tmp_path / 'study'}" in out
    assert not list((tmp_path / "study").rglob("*.tmp"))


def test_cleaning_touches_only_wag_temporaries(tmp_path: Path) -> None:
    from wag.core.io import atomic_dir, clean_temp_files

    keep = [write(tmp_path / n, "x") for n in ("notes.tmp", ".hidden.tmp", "a.parquet", ".a.parquet.short.tmp")]
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "bench"):
        raise RuntimeError("killed")  # an exception cleans up itself; a kill -9 leaves the folder:
    left = tmp_path / ".bench.abcd_123.tmp"
    write(left / "images" / "0.png", png(0))
    assert clean_temp_files(tmp_path) == [left]
    assert all(p.exists() for p in keep) and not left.exists()


# ------------------------------------------------------------------------------------------------------
# the umask
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def umask_002() -> Iterator[None]:
    old = os.umask(0o002)
    try:
        yield
    finally:
        os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def test_a_tagger_checkpoint_follows_the_umask(tmp_path: Path, umask_002: None) -> None:
    from wag.frequency.checkpoint_tagger import save_tagger_checkpoint, small_cnn

    out = save_tagger_checkpoint(
        tmp_path / "ckpt", small_cnn(2, 4), ["dog", "cat"], arch="small_cnn", width=4, image_size=8
    )
    modes = _modes(out)
    assert modes["."] == 0o775 and {m for k, m in modes.items() if k != "."} == {0o664}, modes


def test_the_let_it_wag_folder_follows_the_umask(tmp_path: Path, umask_002: None) -> None:
    from wag.evaluate.letitwag import build_let_it_wag

    for ci, c in enumerate(["ant", "bee"]):
        for i in range(2):
            write(tmp_path / "pool" / c / f"{i}.png", png(10 * ci + i))
    freq = pd.DataFrame(
        {"concept": ["ant", "bee"], "pretraining": "web", "method": "text", "variant": "v", "count": [1, 2]}
    )
    out = build_let_it_wag(
        freq, k=2, source="web", out_dir=tmp_path / "bench", images=tmp_path / "pool", images_per_class=2,
        phash_bits=0, outlier_std=None, progress=False,
    )  # fmt: skip
    modes = _modes(out)
    dirs = {k: m for k, m in modes.items() if (out / k).is_dir()}
    files = {k: m for k, m in modes.items() if (out / k).is_file()}
    assert set(dirs.values()) == {0o775} and set(files.values()) == {0o664}, modes
    assert len(files) == 6  # 4 images and the datasheet (json, md)


def test_a_study_folder_follows_the_umask(tmp_path: Path, umask_002: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(["study", "run", "--profile", str(_study(tmp_path)), "--quiet"], capsys)
    modes = _modes(tmp_path / "study")
    assert code == 0 and {m for k, m in modes.items() if (tmp_path / "study" / k).is_file()} == {0o664}, modes
    assert {m for k, m in modes.items() if (tmp_path / "study" / k).is_dir()} == {0o775}, modes


# ------------------------------------------------------------------------------------------------------
# unreadable outputs are stale
# ------------------------------------------------------------------------------------------------------


def _status(prof: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    code, out, _ = run(["study", "status", "--profile", str(prof)], capsys)
    assert code == 0
    return {ln.split()[0]: ln for ln in out.splitlines()[1:] if ln.strip()}


def test_a_truncated_output_is_stale_not_done_and_is_rewritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prof = _study(tmp_path)
    assert run(["study", "run", "--profile", str(prof), "--quiet"], capsys)[0] == 0
    hits = tmp_path / "study" / "count" / "hits.parquet"
    rows = len(pd.read_parquet(hits))
    data = hits.read_bytes()
    hits.write_bytes(data[: len(data) // 2])
    row = _status(prof, capsys)["count"]
    assert " stale " in row and "output unreadable: count/hits.parquet" in row
    code, out, _ = run(["study", "run", "--profile", str(prof), "--quiet"], capsys)
    assert code == 0 and "[count] running (output unreadable: count/hits.parquet" in out
    assert len(pd.read_parquet(hits)) == rows and " done " in _status(prof, capsys)["count"]


def test_a_damaged_record_is_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prof = _study(tmp_path)
    assert run(["study", "run", "--profile", str(prof), "--quiet"], capsys)[0] == 0
    write(tmp_path / "study" / "records" / "count.json", '{"stage": "count", "key": ')
    row = _status(prof, capsys)["count"]
    assert " stale " in row and "record count.json is unreadable" in row


# ------------------------------------------------------------------------------------------------------
# no rename across filesystems
# ------------------------------------------------------------------------------------------------------


@pytest.fixture
def same_folder_renames(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every ``os.replace`` / ``os.rename`` fails with EXDEV unless source and target share a folder (as a rename
    from the temporary folder to another filesystem would); returns the renames made."""
    made: list[tuple[str, str]] = []

    def guard(real):
        def rename(src, dst, *a, **k):
            if Path(src).resolve().parent != Path(dst).resolve().parent:
                raise OSError(errno.EXDEV, "Invalid cross-device link", str(src), None, str(dst))
            made.append((str(src), str(dst)))
            return real(src, dst, *a, **k)

        return rename

    monkeypatch.setattr(os, "replace", guard(os.replace))
    monkeypatch.setattr(os, "rename", guard(os.rename))
    return made


def test_every_write_renames_within_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], same_folder_renames: list[tuple[str, str]]
) -> None:
    from wag.evaluate.letitwag import build_let_it_wag

    code, _, _ = run(["study", "run", "--profile", str(_study(tmp_path)), "--quiet"], capsys)
    assert code == 0 and same_folder_renames
    for c in ("ant", "bee"):
        write(tmp_path / "pool" / c / "0.png", png(len(c)))
    freq = pd.DataFrame(
        {"concept": ["ant", "bee"], "pretraining": "web", "method": "text", "variant": "v", "count": [1, 2]}
    )
    out = tmp_path / "not" / "yet" / "bench"  # its parent does not exist: the temporary folder must not go elsewhere
    build_let_it_wag(freq, k=2, source="web", out_dir=out, images=tmp_path / "pool", images_per_class=1, phash_bits=0, outlier_std=None, progress=False)  # fmt: skip
    assert json.loads((out / "datasheet.json").read_text())["classes_kept"] == 2


def test_let_it_wag_builds_on_another_filesystem_than_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``root: /data/mystudy`` on its own disk: here /dev/shm (tmpfs) while TMPDIR is on another."""
    from wag.evaluate.letitwag import build_let_it_wag

    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm on a filesystem of its own")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    for c in ("ant", "bee"):
        write(tmp_path / "pool" / c / "0.png", png(len(c)))
    freq = pd.DataFrame(
        {"concept": ["ant", "bee"], "pretraining": "web", "method": "text", "variant": "v", "count": [1, 2]}
    )
    root = Path(tempfile.mkdtemp(dir=shm, prefix="wag-test-"))
    try:
        out = root / "mystudy" / "letitwag" / "benchmark"
        build_let_it_wag(freq, k=2, source="web", out_dir=out, images=tmp_path / "pool", images_per_class=1, phash_bits=0, outlier_std=None, progress=False)  # fmt: skip
        assert sorted(p.name for p in (out / "images").iterdir()) == ["ant", "bee"]
    finally:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
