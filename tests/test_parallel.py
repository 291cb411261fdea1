"""The one parallel helper (wag.core.parallel.map_shards): every backend, result order, errors, callbacks."""

from __future__ import annotations

import os
import threading
import time

import pytest

from wag.core.parallel import ParallelError, map_shards

ITEMS = ["5", "3", "8", "1", "9", "2"]


def _slow_int(text: str) -> int:
    """``int(text)``, the first items slowest, so that they finish last (a pool returns them out of order)."""
    time.sleep(0.02 * int(text) if text.isdigit() else 0)
    return int(text)


def _mark_worker() -> None:
    os.environ["WAG_TEST_WORKER"] = "initialised"


def _worker_mark(_: object) -> str | None:
    return os.environ.get("WAG_TEST_WORKER")


@pytest.mark.parametrize(("backend", "workers"), [("threads", 1), ("threads", 3), ("processes", 2)])
def test_results_come_back_in_item_order_and_each_is_reported_once(backend, workers):
    seen: list[tuple[int, int]] = []
    out = map_shards(_slow_int, ITEMS, backend=backend, workers=workers, on_result=lambda i, r: seen.append((i, r)))
    assert out == [5, 3, 8, 1, 9, 2]
    assert sorted(seen) == sorted(enumerate(out))


def test_threads_run_concurrently_in_this_process():
    """A closure over local state is fine on threads; 3 items wait on each other, so they must run at once."""
    barrier = threading.Barrier(3, timeout=10)
    names = map_shards(
        lambda _: (barrier.wait(), threading.current_thread().name)[1], range(3), workers=3, thread_name_prefix="t"
    )
    assert len(set(names)) == 3 and all(n.startswith("t") for n in names)


@pytest.mark.parametrize(("backend", "workers"), [("threads", 1), ("threads", 2), ("processes", 2)])
def test_a_worker_error_surfaces_as_the_original_exception(backend, workers):
    with pytest.raises(ValueError, match=r"invalid literal for int\(\) with base 10: 'x'"):
        map_shards(int, ["1", "x", "2", "3"], backend=backend, workers=workers)


def test_the_initializer_runs_in_each_process_worker_not_here():
    os.environ.pop("WAG_TEST_WORKER", None)
    out = map_shards(_worker_mark, range(4), backend="processes", workers=2, initializer=_mark_worker)
    assert out == ["initialised"] * 4
    assert "WAG_TEST_WORKER" not in os.environ


def test_dask_local_cluster_and_a_given_client():
    from distributed import Client, LocalCluster

    assert map_shards(_slow_int, ITEMS, backend="dask", workers=2) == [5, 3, 8, 1, 9, 2]
    with (
        LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as lc,
        Client(lc) as client,
    ):
        seen: list[int] = []
        assert map_shards(_slow_int, ITEMS, backend="dask", client=client, on_result=lambda i, _: seen.append(i)) == [
            5,
            3,
            8,
            1,
            9,
            2,
        ]
        assert sorted(seen) == list(range(len(ITEMS)))
        with pytest.raises(ValueError, match="invalid literal"):
            map_shards(int, ["1", "x"], backend="dask", client=client)


def test_bad_backend_or_workers_is_one_clear_error():
    with pytest.raises(ParallelError, match="unknown parallel backend 'gpu'; use one of threads, processes, dask"):
        map_shards(int, ["1"], backend="gpu")
    with pytest.raises(ParallelError, match=r"workers must be at least 1 \(got 0\)"):
        map_shards(int, ["1"], workers=0)


def test_no_items_no_work():
    assert map_shards(int, [], backend="processes", workers=4) == []


def test_forked_process_workers_also_keep_the_order():
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    assert map_shards(_slow_int, ITEMS, backend="processes", workers=2, start_method="fork") == [5, 3, 8, 1, 9, 2]
