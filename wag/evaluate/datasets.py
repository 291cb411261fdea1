"""Evaluation data: classification sets (image folders, torchvision sets, WebDataset shards) and retrieval sets.

Every loader is offline (``download=False``); a missing dataset raises :class:`DatasetMissingError` with the
path expected and how to obtain it. Images that cannot be decoded are skipped by the evaluators, which report
their paths and count (see :func:`open_image`).

Modules: :mod:`~wag.evaluate.images` (decoding, fingerprints, errors), :mod:`~wag.evaluate.classification`
(:class:`ClassificationData`, image folders, WebDataset shards), :mod:`~wag.evaluate.known_sets` (the sets known by
name, torchvision and image folders; class names from :mod:`~wag.evaluate.classnames`) and
:mod:`~wag.evaluate.retrieval_sets` (:class:`RetrievalData`); this module re-exports their public names.
"""

from wag.evaluate.classification import (
    ClassificationData,
    empty_class_folders,
    image_folder,
    require_classes,
    webdataset_classification,
)
from wag.evaluate.classnames import package_classnames
from wag.evaluate.images import (
    IMAGE_EXTS,
    CorruptImageError,
    DatasetError,
    DatasetMissingError,
    files_fingerprint,
    open_image,
)
from wag.evaluate.known_sets import (
    FOLDER_SETS,
    TORCHVISION,
    TorchvisionSpec,
    UnknownDatasetError,
    known_datasets,
    load_classification,
    load_torchvision,
)
from wag.evaluate.retrieval_sets import RetrievalData, load_retrieval

__all__ = [
    "FOLDER_SETS",
    "IMAGE_EXTS",
    "TORCHVISION",
    "ClassificationData",
    "CorruptImageError",
    "DatasetError",
    "DatasetMissingError",
    "RetrievalData",
    "TorchvisionSpec",
    "UnknownDatasetError",
    "empty_class_folders",
    "files_fingerprint",
    "image_folder",
    "known_datasets",
    "load_classification",
    "load_retrieval",
    "load_torchvision",
    "open_image",
    "package_classnames",
    "require_classes",
    "webdataset_classification",
]
