"""sedscape core: catalogs, the mock sky, models, scoring, reports and archive clients.

This package never imports a UI library; the dashboard uses only what is named here.
"""

from core.bands import BAND_SETS, PS1, SDSS, Band, BandSet, get_band_set
from core.catalog import (
    ValidationReport,
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
    "get_band_set",
    "read_metadata",
    "read_parquet",
    "required_columns",
    "validate_catalog",
    "write_parquet",
]
