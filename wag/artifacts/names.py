"""Names in the released files: file-name parsing, model keys and concept-name reconciliation.

The released files spell one concept several ways (``plane`` in the CIFAR-10 evaluations but
``airplane`` in its counts; ``Acadian_Flycatcher`` in the T2I RAM++ counts but ``acadian flycatcher``
in the text counts; ``African_chameleon`` vs ``African chameleon`` across ImageNet-R count files).
:func:`reconcile_key` maps every spelling to one key per dataset; joins use that key.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from wag.artifacts.errors import ArtifactNameError

#: Pretraining sets named in the released file names.
PRETRAINING_SETS = (
    "cc3m",
    "cc12m",
    "yfcc15m",
    "laion400m",
    "laion_aesthetics",
    "synthci30m",
    "laion200m_train_test_sim_normalized",
)

#: Bump when :func:`normalize_name` changes, so cached tables with old keys are not reused.
NAMES_VERSION = 1

#: Dataset-specific aliases applied after normalisation: evaluation spelling -> count spelling.
ALIASES: dict[str, dict[str, str]] = {
    # CIFAR-10 evaluations call the class "plane", the count files "airplane".
    "cifar10": {"plane": "airplane"},
}

#: NeglectedTails dataset folder -> our dataset name.
NEGLECTED_TAILS_DATASETS: dict[str, str] = {
    "cub2011": "cub",
    "dtd": "dtd",
    "eurosat": "eurosat",
    "fgvc_aircraft": "fgvcaircraft",
    "flowers102": "flowers102",
    "food101": "food101",
    "imagenet_1k": "imagenet",
    "oxford_pets": "oxfordpets",
    "stanford_cars": "stanfordcars",
}

_SEARCH_RE = re.compile(
    r"^(?P<downstream>[^_]+)_(?P<pretraining>.+?)_"
    r"(?P<method>lemmatized|lowercased|rampp(?P<t>[0-9.]+)|integrated_tlemmatized_i(?P<i>[0-9.]+))"
    r"_search_counts\.json$"
)
_MODEL_RE = re.compile(r"^backbone(?P<arch>.+?)_pretrained(?P<source>.+)$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchCountsFile:
    """What a ``search_counts`` file name says: ``<downstream>_<pretraining>_<method>_search_counts.json``."""

    dataset: str
    pretraining: str
    method: str  # text | image | integrated
    variant: str  # lemmatized | lowercased | rampp@0.7 | integrated@0.7
    source_variant: str  # the method string of the file name, e.g. integrated_tlemmatized_i0.7


def parse_search_counts_name(filename: str) -> SearchCountsFile:
    """Parse a search-counts file name; an unknown pattern raises :class:`ArtifactNameError` naming the file."""
    m = _SEARCH_RE.match(filename)
    if not m:
        raise ArtifactNameError(
            f"unrecognised search-counts file name {filename!r}; expected "
            "<downstream>_<pretraining>_<lemmatized|lowercased|rampp<t>|integrated_tlemmatized_i<t>>_search_counts.json"
        )
    src = m.group("method")
    if m.group("t"):
        method, variant = "image", f"rampp@{m.group('t')}"
    elif m.group("i"):
        method, variant = "integrated", f"integrated@{m.group('i')}"
    else:
        method, variant = "text", src
    return SearchCountsFile(m.group("downstream"), m.group("pretraining"), method, variant, src)


def parse_model_key(model_key: str) -> tuple[str, str]:
    """``backboneViT-B-16_pretrainedcc3m`` -> (``ViT-B-16``, ``cc3m``); other keys raise :class:`ArtifactNameError`."""
    m = _MODEL_RE.match(model_key)
    if not m:
        raise ArtifactNameError(f"unrecognised model key {model_key!r}; expected backbone<arch>_pretrained<source>")
    return m.group("arch"), m.group("source")


def normalize_name(name: str) -> str:
    """Case- and punctuation-insensitive form: NFKC, lower case, ``_``/``-`` as spaces, no apostrophes."""
    text = unicodedata.normalize("NFKC", str(name)).lower()
    text = text.replace("\u2019", "'").replace("'", "")
    text = text.replace("_", " ").replace("-", " ")
    return _SPACES.sub(" ", text).strip()


def reconcile_key(name: str, dataset: str) -> str:
    """The join key of a concept name in a dataset: :func:`normalize_name` plus the dataset's aliases."""
    key = normalize_name(name)
    return ALIASES.get(dataset, {}).get(key, key)
