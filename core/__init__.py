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
    ExportCancelled,
    ModelError,
    OfflineError,
    OutputExistsError,
    PathError,
    SampError,
    SedscapeError,
)

# Bound eagerly: the module core.scored_models has the same name as this function, and importing the module
# (which any user of it does) would otherwise leave ``core.scored_models`` naming the module, not the function.
from core.scored_models import scored_models

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
    "default_stellar_model_dir": "core.paths",
    # models, training, scoring, reports
    "build_model": "core.models",
    "TrainConfig": "core.models",
    "train_runs": "core.training",
    "TrainingResult": "core.training",
    "read_card": "core.card",
    "CARD_NAME": "core.card",
    "card_sha256": "core.card",
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
    "check_label": "core.labels",
    "LABELS_ENV": "core.labels",
    "ReviewLoop": "core.review",
    # find more like these: a head on frozen features, nearest neighbours
    "FINGERPRINT": "core.similarity",
    "FeatureSpace": "core.similarity",
    "FindMoreConfig": "core.similarity",
    "FindMoreResult": "core.similarity",
    "NeighbourIndex": "core.similarity",
    "embedding_sets": "core.similarity",
    "feature_space": "core.similarity",
    "find_more": "core.similarity",
    "space_name": "core.similarity",
    # several models per scored catalog
    "ScoredModel": "core.scored_models",
    "get_scored_model": "core.scored_models",
    "model_view": "core.scored_models",
    "model_key": "core.scored_models",
    "drop_model": "core.scored_models",
    # imputation and frozen-encoder classifiers
    "impute_catalog": "core.imputation",
    "evaluate_imputation": "core.imputation",
    "HeadConfig": "core.classify",
    "ClassifierHead": "core.classify",
    "train_head": "core.classify",
    "train_classifier": "core.classify",
    "apply_classifier": "core.classify",
    "read_classifier": "core.classify",
    "load_labels": "core.classify",
    "class_metrics": "core.classify",
    "embedding_features": "core.classify",
    # epochs, light-curve features and the multi-modal model (seed 001)
    "read_epochs": "core.epochs",
    "write_epochs": "core.epochs",
    "validate_epochs": "core.epochs",
    "clean_epochs": "core.epochs",
    "pack_epochs": "core.epochs",
    "read_star_epochs": "core.epochs",
    "star_epochs": "core.epochs",
    "find_detections": "core.epochs",
    "epoch_ids": "core.epochs",
    "DETECTIONS_ENV": "core.epochs",
    "read_ps1_detections": "core.readers.detections",
    "make_epochs": "core.mock.epochs",
    "extract_features": "core.features.lightcurves",
    "fold_star": "core.features.lightcurves",
    "train_multimodal": "core.multimodal",
    "score_multimodal": "core.multimodal",
    "MultiModalModel": "core.multimodal",
    "folded_reconstruction": "core.multimodal",
    "dmdt_image": "core.multimodal",
    "is_multimodal_dir": "core.multimodal",
    "stars_with_epochs": "core.multimodal",
    "DT_EDGES": "core.features.dmdt",
    "DM_EDGES": "core.features.dmdt",
    # selections and exports
    "PRESET_FIELDS": "core.selection",
    "selection_mask": "core.selection",
    "view_coordinate": "core.selection",
    "polygon_mask": "core.selection",
    "box_mask": "core.selection",
    "cone_mask": "core.selection",
    "absolute_first_band": "core.selection",
    "colour_name": "core.selection",
    "EXPORT_FORMATS": "core.export",
    "ExportOptions": "core.export",
    "ExportJob": "core.export",
    "ExportTask": "core.export",
    "export_rows": "core.export",
    "LABELS_COLUMN": "core.export",
    "selection_export": "core.export",
    "export_catalog_selection": "core.export",
    "read_export": "core.export",
    "SampLink": "core.samp",
    # the data-driven stellar model (seed 002)
    "train_stellar_model": "core.stellar.training",
    "infer_parameters": "core.stellar.inference",
    "load_stellar_model": "core.stellar.inference",
    "best_fit_sed": "core.stellar.inference",
    "stellar_sed": "core.stellar.inference",
    "stellar_output_columns": "core.stellar.inference",
    "STELLAR_CHI2_THRESHOLD": "core.stellar.evaluation",
    "poorly_fit_mask": "core.selection",
    "attach_labels": "core.stellar.labels",
    "latent_predictability": "core.stellar.evaluation",
    "write_stellar_report": "core.stellar.report",
    # archives
    "fetch_ps1": "core.archives",
    "crossmatch_gaia": "core.archives",
    "crossmatch_simbad": "core.archives",
    "simbad_category": "core.archives",
    "fetch_cutout": "core.archives",
    "fetch_cutouts": "core.archives",
    "Cutout": "core.archives",
    # HATS catalogs (partitioned, larger than memory) on Dask
    "is_hats": "core.partitioned",
    "column_names": "core.partitioned",
    "read_partition": "core.partitioned",
    "HatsWriter": "core.partitioned",
    "read_catalog_any": "core.partitioned",
    "write_catalog_any": "core.partitioned",
    "stratified_sample": "core.partitioned",
    "write_mock_hats": "core.mock.stream",
    "ClusterConfig": "core.cluster",
    "dask_client": "core.cluster",
    "score_hats": "core.partitioned_scoring",
    "PartitionedScored": "core.scored_partitions",
    "Selection": "core.scored_partitions",
    "points_in_polygon": "core.scored_partitions",
    "crossmatch_hats": "core.archives.hats_match",
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
    "ExportCancelled",
    "ModelError",
    "OfflineError",
    "OutputExistsError",
    "PathError",
    "SampError",
    "SedscapeError",
    "ValidationReport",
    "band_set_of",
    "get_band_set",
    "read_metadata",
    "read_parquet",
    "required_columns",
    "scored_models",
    "validate_catalog",
    "write_parquet",
    *_LAZY,
]
