"""`wag study schema` prints every field of the study: section with its type, default and meaning; `wag study run
--help` points to it; the headline tagger threshold is documented and named in what the notebooks print."""

from __future__ import annotations

from pydantic import BaseModel

from wag.cli import main
from wag.study import spec as study_spec
from wag.study.schema_doc import schema_rows, schema_text


def _models() -> list[type[BaseModel]]:
    return [
        m
        for m in vars(study_spec).values()
        if isinstance(m, type) and issubclass(m, BaseModel) and m.__module__ == study_spec.__name__
    ]


def test_every_study_field_is_printed_with_a_description():
    rows = {key: (typ, default, meaning) for key, typ, default, meaning in schema_rows()}
    for key, (_, _, meaning) in rows.items():
        assert meaning, f"{key} has no description in wag/study/spec.py"
    reached = {key.rsplit(".", 1)[-1] for key in rows}
    for model in _models():  # every field of every model of the schema is reached by the walk
        missing = set(model.model_fields) - reached
        assert not missing, f"{model.__name__}: fields {sorted(missing)} are not printed"
    assert rows["study.tagger.thresholds"][:2] == ("list[float]", "default: [0.7]")
    assert rows["study.stages.letitwag.phash_bits"][0] == "int | one of: auto"
    assert rows["study.corpus.name"][1] == "required"
    assert "study.models[].name" in rows and "study.datasets[].kind" in rows
    assert "the headline threshold" in rows["study.tagger.threshold"][2]
    assert "default: the first of thresholds" in rows["study.tagger.threshold"][2]


def test_wag_study_schema_and_run_help(capsys):
    assert main(["study", "schema"]) == 0
    out = capsys.readouterr().out
    assert out == schema_text()
    assert "  shards: list[str]  (required)" in out and "on_corrupt: one of: error, skip  (default: error)" in out
    assert main(["study", "run", "--help"]) == 0
    assert "wag study schema" in capsys.readouterr().out


def test_the_example_study_names_its_headline_threshold():
    from wag.run.profile import load_profile

    tagger = load_profile("example_study").study.tagger
    assert tagger.thresholds == [0.5, 0.7] and tagger.headline == 0.7  # as the README's `tagger:mine@0.7`
    assert study_spec.TaggerSpec(kind="none", thresholds=[0.5, 0.7]).headline == 0.5  # the documented default
