"""The data-driven stellar model (Green et al., seed 002): spectroscopic features -> photometry and extinction.

:func:`train_stellar_model` learns, from stars with spectroscopic labels and parallaxes, the absolute magnitude
and colours of a star of given (Teff, log g, [Fe/H]) together with the passbands' extinction vector R;
:func:`infer_parameters` then gives every star of a catalog its Teff, log g, [Fe/H], E(B-V), distance
modulus and ``stellar_chi2``.
"""

from core.stellar.data import StellarDataConfig
from core.stellar.model import StellarModel, StellarModelConfig
from core.stellar.training import StellarTrainConfig, read_stellar_card, train_stellar_model

__all__ = [
    "StellarDataConfig",
    "StellarModel",
    "StellarModelConfig",
    "StellarTrainConfig",
    "read_stellar_card",
    "train_stellar_model",
]
