"""The mock sky: a simulated PS1 catalog of the North Galactic Cap annulus, sedscape's default data set.

:func:`generate_mock_sky` draws stars from a Juric et al. (2008) Galactic model with SEDs from
published tables, adds globular clusters, Leo II, quasars and artefacts, observes them like PS1 and
runs the paper's cuts; :func:`validate_mock` compares a mock catalog with published numbers.
"""

from core.mock.labels import SIMBAD_OTYPES
from core.mock.sky import ANOMALOUS_CLASSES, TRUE_CLASSES, MockConfig, build_precut, generate_mock_sky
from core.mock.validate import ValidationReport, validate_mock

__all__ = [
    "ANOMALOUS_CLASSES",
    "SIMBAD_OTYPES",
    "TRUE_CLASSES",
    "MockConfig",
    "ValidationReport",
    "build_precut",
    "generate_mock_sky",
    "validate_mock",
]
