"""Evaluation: every method and backbone over a whole dataset, batched, in process or on a Ray cluster.

Data sources (a folder by class, a manifest with boxes or masks, unlabelled images, the bundled samples), the
metrics (top-1 / top-5, the pointing game, the energy in the box, deletion / insertion, the grid pointing game),
the batched shared pass, the engines and the rows, summary and figure they give. Imports from every room below
it (imaging, models, methods, analysis); `python -m registry.evaluation` is its command line.
"""

from __future__ import annotations

from registry.evaluation._data import (
    IMAGE_SUFFIXES,
    MANIFEST_SUFFIXES,
    NOT_IN_UPLOAD,
    DataError,
    LabelError,
    Record,
    image_folder,
    manifest,
    records,
    resolve_labels,
)
from registry.evaluation._engine import DEFAULT_METHODS, DEFAULT_METRICS, METRICS, Settings, build_grids
from registry.evaluation._evaluate import evaluate
from registry.evaluation._extras import MissingExtraError
from registry.evaluation._geometry import GeometryError, ViewGeometry, ViewMaker
from registry.evaluation._metrics import TOLERANCE, auc, energy_in, grid_share, peak, pointing_hit, top_k_hit
from registry.evaluation._options import DEFAULT_BATCH_SIZE, ENGINES, EvaluationEngine, EvaluationProtocol
from registry.evaluation._peers import PEER_METRICS, peer_metrics
from registry.evaluation._results import (
    COLUMNS,
    SCORES,
    Evaluation,
    bootstrap_interval,
    spreadsheet_cell,
    summarise,
    summarize,
    write_csv,
)
from registry.evaluation._zips import extract_zip, unpacked_records

__all__ = [
    "COLUMNS",
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_METHODS",
    "DEFAULT_METRICS",
    "ENGINES",
    "IMAGE_SUFFIXES",
    "MANIFEST_SUFFIXES",
    "METRICS",
    "NOT_IN_UPLOAD",
    "PEER_METRICS",
    "SCORES",
    "TOLERANCE",
    "DataError",
    "Evaluation",
    "EvaluationEngine",
    "EvaluationProtocol",
    "GeometryError",
    "LabelError",
    "MissingExtraError",
    "Record",
    "Settings",
    "ViewGeometry",
    "ViewMaker",
    "auc",
    "bootstrap_interval",
    "build_grids",
    "energy_in",
    "evaluate",
    "extract_zip",
    "grid_share",
    "image_folder",
    "manifest",
    "peak",
    "peer_metrics",
    "pointing_hit",
    "records",
    "resolve_labels",
    "spreadsheet_cell",
    "summarise",
    "summarize",
    "top_k_hit",
    "unpacked_records",
    "write_csv",
]
