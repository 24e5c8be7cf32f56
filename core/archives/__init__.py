"""Clients for the archives the paper used: PS1 DR2 (MAST TAP), Gaia DR3 (ESA TAP), SIMBAD (CDS TAP)
and PS1 colour image cutouts; with retries, an on-disk cache and fast offline detection.

Endpoints and timeouts come from :func:`archive_config` (environment variables ``SEDSCAPE_*``).
"""

from core.archives.config import ArchiveConfig, archive_config
from core.archives.cutouts import Cutout, CutoutClient, fetch_cutout, fetch_cutouts
from core.archives.gaia import GaiaMatchSummary, crossmatch_gaia
from core.archives.http import ArchiveSession, reset_offline
from core.archives.otypes import CATEGORIES, simbad_category
from core.archives.ps1 import Cone, FetchResult, GalacticAnnulus, PS1Fetcher, fetch_ps1, make_tiles
from core.archives.simbad import SimbadMatchSummary, crossmatch_simbad
from core.archives.tap import TapClient

__all__ = [
    "CATEGORIES",
    "ArchiveConfig",
    "ArchiveSession",
    "Cone",
    "Cutout",
    "CutoutClient",
    "FetchResult",
    "GaiaMatchSummary",
    "GalacticAnnulus",
    "PS1Fetcher",
    "SimbadMatchSummary",
    "TapClient",
    "archive_config",
    "crossmatch_gaia",
    "crossmatch_simbad",
    "fetch_cutout",
    "fetch_cutouts",
    "fetch_ps1",
    "make_tiles",
    "reset_offline",
    "simbad_category",
]
