"""The workspace: a SQLite catalog of datasets, models, evaluations and jobs, plus artifacts.

>>> from assay.store import Workspace
>>> ws = Workspace()  # doctest: +SKIP

(the workspace at $ASSAY_HOME, or ~/.assay)
"""

from assay.store._util import json_safe
from assay.store.records import (
    DatasetRecord,
    DatasetVersion,
    EvaluationRecord,
    JobRecord,
    ModelRecord,
    ModelVersion,
    evaluation_public,
)
from assay.store.workspace import Workspace

__all__ = [
    "DatasetRecord",
    "DatasetVersion",
    "EvaluationRecord",
    "JobRecord",
    "ModelRecord",
    "ModelVersion",
    "Workspace",
    "evaluation_public",
    "json_safe",
]
