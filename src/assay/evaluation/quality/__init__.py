"""Data quality: per-sample properties, which of them go with the model's errors, performance by
property, near-duplicates and likely label errors. Pure functions over arrays, file paths and
texts; the service layer runs them on stored evaluations and the store caches the properties
per dataset version (:mod:`assay.service.quality`, :mod:`assay.store.properties`).

Needs the ``analysis`` extra (scipy, scikit-learn, imagehash, datasketch, cleanlab); without it
a call raises :class:`MissingAnalysisExtra` saying what to install.

>>> t = image_properties(paths)                                   # doctest: +SKIP
>>> importance(t.values, correct)[0]["property"]                  # doctest: +SKIP
'brightness'
"""

from assay.evaluation.quality._boxes import BOX_PROPERTIES, box_properties
from assay.evaluation.quality._common import MissingAnalysisExtra, PropertyTable, group_pairs
from assay.evaluation.quality._images import (
    IMAGE_PROPERTIES,
    image_leakage,
    image_properties,
    near_duplicates_images,
    uniqueness,
)
from assay.evaluation.quality._importance import (
    by_property,
    determines_label,
    importance,
    wilson_interval,
)
from assay.evaluation.quality._labels import label_issues
from assay.evaluation.quality._outcomes import (
    Outcomes,
    class_counts,
    sample_labels,
    sample_outcomes,
)
from assay.evaluation.quality._slices import default_min_size, find_slices, image_f1
from assay.evaluation.quality._texts import (
    TEXT_PROPERTIES,
    minhash_signatures,
    near_duplicates_texts,
    oov_share,
    text_leakage,
    text_properties,
    tokenize,
    vocabulary_of,
)

__all__ = [
    "BOX_PROPERTIES",
    "IMAGE_PROPERTIES",
    "TEXT_PROPERTIES",
    "MissingAnalysisExtra",
    "Outcomes",
    "PropertyTable",
    "box_properties",
    "by_property",
    "class_counts",
    "default_min_size",
    "determines_label",
    "find_slices",
    "group_pairs",
    "image_f1",
    "image_leakage",
    "image_properties",
    "importance",
    "label_issues",
    "minhash_signatures",
    "near_duplicates_images",
    "near_duplicates_texts",
    "oov_share",
    "sample_labels",
    "sample_outcomes",
    "text_leakage",
    "text_properties",
    "tokenize",
    "uniqueness",
    "vocabulary_of",
    "wilson_interval",
]
