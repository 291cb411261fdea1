"""papermill's nbclient engine, whose execute requests carry the cell's id as JupyterLab's do.

nbclient 0.11 sends no cell id; JupyterLab puts it in the execute request's metadata (``cellId``), which ipykernel
hands to IPython (``ExecutionInfo.cell_id``), where :func:`wag.run.notebook.track_cells` reads it. ``wag reproduce``
runs every notebook with this engine, so each output's index entry names the cell that wrote it.
"""

from __future__ import annotations

from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

ENGINE_NAME = "wag-cell-ids"


class CellIdClient(PapermillNotebookClient):
    """papermill's notebook client sending each cell's id in the execute request's metadata (``cellId``)."""

    def execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None, store_history: bool = True):
        if self.kc is not None:  # the session stamps its metadata on every message it sends while the cell runs
            self.kc.session.metadata["cellId"] = cell.get("id")
        return super().execute_cell(cell, cell_index, execution_count, store_history)


class CellIdEngine(NBClientEngine):
    """papermill's ``nbclient`` engine with :class:`CellIdClient` (its ``execute_managed_notebook``, papermill 2.6+)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
        )
        return CellIdClient(nb_man, **final_kwargs).execute()


def cell_id_engine() -> str:
    """Register :class:`CellIdEngine` with papermill (idempotent); its name for ``execute_notebook(engine_name=...)``."""
    papermill_engines.register(ENGINE_NAME, CellIdEngine)
    return ENGINE_NAME
