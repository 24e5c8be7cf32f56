"""sedscape core: catalogs, the mock sky, models, scoring, reports and archive clients.

This package never imports a UI library; the dashboard uses only what is named here. The light
pieces (band sets, the catalog contract, errors) load at once; the rest loads on first use, so
``import core`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.bands import BAND_SETS, PS1, SDSS, Band, BandSet, get_band_set
from core.catalog import (
    ValidationReport,
    band_set_of,
    read_metadata,
    read_parquet,
    required_columns,
    validate_catalog,
    write_parquet,
)
from core.errors import (
    ArchiveError,
    BandMismatchError,
    CatalogError,
    ConfigError,
    ModelError,
    OfflineError,
    OutputExistsError,
    SedscapeError,
)

__version__ = "0.1.0"

# Public names that live in heavier modules: name -> module.
_LAZY: dict[str, str] = {
    # reading and selecting catalogs
    "read_catalog": "core.readers",
    "select": "core.pipeline",
    "CutConfig": "core.cuts",
    "Funnel": "core.cuts",
    "paper_cuts": "core.cuts",
    "apply_cuts": "core.cuts",
    "deredden": "core.extinction",
    "sfd_ebv": "core.extinction",
    # the mock sky
    "generate_mock_sky": "core.mock",
    "validate_mock": "core.mock",
    "MockConfig": "core.mock",
    # shared science: the anomaly threshold, parallaxes, the stellar systems of the paper's field
    "DEFAULT_THRESHOLD": "core.scoring",
    "scored_columns": "core.scoring",
    "PARALLAX_MIN_SNR": "core.astrometry",
    "absolute_magnitude": "core.astrometry",
    "STELLAR_SYSTEMS": "core.fields",
    "StellarSystem": "core.fields",
    # where things live
    "default_model_dir": "core.paths",
    "default_scored_path": "core.paths",
    # models, training, scoring, reports
    "build_model": "core.models",
    "TrainConfig": "core.models",
    "train_runs": "core.training",
    "TrainingResult": "core.training",
    "read_card": "core.card",
    "CARD_NAME": "core.card",
    "ModelCard": "core.card",
    "TrainedModel": "core.scoring",
    "score_catalog": "core.scoring",
    "flag_anomalies": "core.scoring",
    "load_scored": "core.scoring",
    "write_report": "core.report",
    # labels and the anomaly ranking that learns from answers
    "LabelStore": "core.labels",
    "labels_path_for": "core.labels",
    "INTERESTING": "core.labels",
    "NOT_INTERESTING": "core.labels",
    "AnomalyRanker": "core.ranking",
    "RankingConfig": "core.ranking",
    "simulate_feedback": "core.ranking",
    "mock_oracle": "core.ranking",
    "ensure_default_scored": "core.defaults",
    # archives
    "fetch_ps1": "core.archives",
    "crossmatch_gaia": "core.archives",
    "crossmatch_simbad": "core.archives",
    "simbad_category": "core.archives",
    "fetch_cutout": "core.archives",
    "fetch_cutouts": "core.archives",
    "Cutout": "core.archives",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BAND_SETS",
    "PS1",
    "SDSS",
    "ArchiveError",
    "Band",
    "BandMismatchError",
    "BandSet",
    "CatalogError",
    "ConfigError",
    "ModelError",
    "OfflineError",
    "OutputExistsError",
    "SedscapeError",
    "ValidationReport",
    "band_set_of",
    "get_band_set",
    "read_metadata",
    "read_parquet",
    "required_columns",
    "validate_catalog",
    "write_parquet",
    *_LAZY,
]
