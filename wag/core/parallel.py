"""One parallel helper: a function over independent items (shards, trainings) on threads, processes or Dask.

:func:`map_shards` returns ``[fn(x) for x in items]`` in the order of ``items`` whatever the backend and the order
the items finish in; ``on_result(i, result)`` is called in the calling thread as each one finishes, and a tqdm bar
(``progress``: its description) counts them. The first exception raised by ``fn`` is re-raised as is (its own type
and message; a process worker's traceback is attached as its cause) and the items not started yet never start.

* ``threads``: ``workers`` threads of this process (``fn`` may be a closure; it shares this process's state).
* ``processes``: ``workers`` processes, started with *spawn* by default (safe inside a Jupyter kernel and beside
  threads; ``start_method="fork"`` starts them at once with this process's memory, e.g. a built engine): ``fn``, the
  items and the results must pickle, ``initializer`` runs once in each worker process.
* ``dask``: one task per item on ``client`` (a ``distributed.Client``), else on the scheduler at address
  ``scheduler``, else on a local cluster of ``workers`` single-threaded processes (:func:`dask_client`).

With ``workers`` 1 or at most one item, threads and processes run the items in turn in the calling thread (no pool,
no initializer); Dask always runs on its cluster.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any, TypeVar

from tqdm.auto import tqdm

from wag.core.errors import WagError

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("threads", "processes", "dask")


class ParallelError(WagError, ValueError):
    """A parallel run asked for an unknown backend or fewer than one worker."""


def map_shards(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    backend: str = "threads",
    workers: int = 1,
    scheduler: str | None = None,
    client: Any = None,
    initializer: Callable[[], None] | None = None,
    start_method: str = "spawn",
    progress: str | None = None,
    unit: str = "it",
    on_result: Callable[[int, R], None] | None = None,
    thread_name_prefix: str = "wag",
) -> list[R]:
    """``[fn(x) for x in items]`` on ``backend`` with ``workers`` (see the module docstring), in the order of ``items``."""
    if backend not in BACKENDS:
        raise ParallelError(f"unknown parallel backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if workers < 1:
        raise ParallelError(f"workers must be at least 1 (got {workers})")
    todo = list(items)
    results: list[Any] = [None] * len(todo)
    bar = tqdm(total=len(todo), desc=progress, unit=unit, disable=progress is None)

    def finished(i: int, r: R) -> None:
        results[i] = r
        if on_result is not None:
            on_result(i, r)
        bar.update()

    try:
        if backend == "dask":
            _dask_map(fn, todo, finished, client=client, scheduler=scheduler, workers=workers)
        elif workers == 1 or len(todo) <= 1:
            for i, x in enumerate(todo):
                finished(i, fn(x))
        elif backend == "threads":
            n = min(workers, len(todo))
            _pool_map(ThreadPoolExecutor(n, thread_name_prefix=thread_name_prefix), fn, todo, finished)
        else:
            n = min(workers, len(todo))
            ctx = multiprocessing.get_context(start_method)
            _pool_map(ProcessPoolExecutor(n, mp_context=ctx, initializer=initializer), fn, todo, finished)
    finally:
        bar.close()
    return results


def _pool_map(pool: Executor, fn: Callable[[T], R], items: Sequence[T], finished: Callable[[int, R], None]) -> None:
    """Submit every item, report each result as it comes; on a failure (or Ctrl-C) cancel what has not started."""
    ok = False
    try:
        futures = {pool.submit(fn, x): i for i, x in enumerate(items)}
        for f in as_completed(futures):
            finished(futures[f], f.result())  # a worker's exception is re-raised here, as itself
        ok = True
    finally:
        pool.shutdown(wait=True, cancel_futures=not ok)


def _dask_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    finished: Callable[[int, R], None],
    *,
    client: Any,
    scheduler: str | None,
    workers: int,
) -> None:
    from distributed import as_completed as dask_completed  # lazy: dask only on this backend

    with dask_client(scheduler=scheduler, workers=workers, client=client) as c:
        futures = [c.submit(fn, x, pure=False) for x in items]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for f in dask_completed(futures):
                finished(index[f.key], f.result())  # the task's exception is re-raised here, as itself
        except BaseException:
            c.cancel(futures)
            raise


@contextlib.contextmanager
def dask_client(*, scheduler: str | None = None, workers: int = 1, client: Any = None) -> Iterator[Any]:
    """``client`` as is, else a client of the scheduler at ``scheduler``, else of a local cluster of ``workers``
    single-threaded processes (closed on exit): one client can serve several :func:`map_shards` calls."""
    if client is not None:
        yield client
        return
    from distributed import Client, LocalCluster  # lazy: dask only on this backend

    if scheduler:
        with Client(scheduler) as c:
            yield c
        return
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as c,
    ):
        yield c
