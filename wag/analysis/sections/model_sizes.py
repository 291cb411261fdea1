"""Tab. 9's parameter counts beside ours, counted from the installed model definitions (:mod:`wag.evaluate.model_sizes`).

Each of the 40 Let It Wag! models is counted with the configuration that defines it (named in the row). Where ours
does not round to the printed value, :func:`explain` searches the installed open_clip configurations of the same
family for the one the paper counted and says what separates it from the model evaluated.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from wag.analysis.scorecard import MATCH, Reported, paper_reported, row
from wag.evaluate.model_sizes import SLIP_VITB16, config_difference, count_parameters, parameter_table, variants

TABLE9_COLUMNS = ["model", "config", "paper_M", "ours_M", "params", "status", "how"]


def param_id(source: str, backbone: str) -> str:
    """The scorecard id of a model's printed parameter count (``tab9/<pretraining>/<backbone>/params``)."""
    return f"tab9/{source}/{backbone}/params"


def explain(config: str, params: int, image_params: int, printed: Reported, paper_code: str = "") -> str:
    """Why ``config``'s count (``params``) is not the printed one: the installed configuration of the same family
    whose count is, and what it changes (computed), or the counts of every candidate when none is."""
    cands = [] if config == SLIP_VITB16 else variants(config)
    sizes = count_parameters(cands).set_index("config") if cands else pd.DataFrame()
    hits = [c for c in cands if printed.rounds_to_printed(sizes.loc[c, "params"] / 1e6)]
    if not hits:
        tried = ", ".join(f"{c} {sizes.loc[c, 'params'] / 1e6:.2f}M" for c in cands) or "none"
        return f"no installed configuration of this family has {printed.printed}M (tried: {tried})"
    c = hits[0]
    n, n_img = int(sizes.loc[c, "params"]), int(sizes.loc[c, "image_params"])
    diff = config_difference(config, c)
    resized = all(d.startswith("vision_cfg.") for d in diff) and any(
        d.startswith("vision_cfg.image_size ") for d in diff
    )
    evaluated = f"the model evaluated ({paper_code}) is {config}" if paper_code else f"the model evaluated is {config}"
    return (
        f"the printed {printed.printed}M is open_clip's {c} ({n:,} parameters), which differs from {config} only in "
        f"{'; '.join(diff)}: its image tower has {n_img - image_params:+,} parameters"
        + (" (position embeddings for the larger input)" if resized else "")
        + f"; {evaluated}, {params:,} parameters"
    )


def table9_params(model_set: str = "let_it_wag") -> pd.DataFrame:
    """One row per model: the configuration counted, the paper's and our count (millions), status and how/why."""
    rep = paper_reported().by_id()
    out: list[dict[str, Any]] = []
    for r in parameter_table(model_set).itertuples():
        e = rep[param_id(r.source, r.backbone)]
        status, _ = e.judge(r.params / 1e6)
        how = (
            f"{r.how}; meta device" if status == MATCH else explain(r.config, r.params, r.image_params, e, r.paper_code)
        )
        out.append(
            {
                "model": r.model,
                "config": r.config,
                "paper_M": float(e.value),  # type: ignore[arg-type]
                "ours_M": round(r.params / 1e6, 2),
                "params": r.params,
                "status": status,
                "how": how,
            }
        )
    return pd.DataFrame(out, columns=TABLE9_COLUMNS)


def table9_param_rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Scorecard rows of :func:`table9_params`: ours in millions, the configuration (and any mismatch) in the note."""
    rows = []
    for r in table.itertuples():
        backbone, source = r.model.split("/", 1)
        rows.append(row(param_id(source, backbone), r.params / 1e6, note=f"{r.config}: {r.how}"))
    return rows
