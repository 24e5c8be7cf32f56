"""The stellar systems in the paper's field: positions and properties, and the radii the paper selects them by.

Positions, distances, [Fe/H] and half-light radii of the globular clusters are from Harris (1996,
2010 edition); Leo II from McConnachie (2012). The selection radii (0.15 deg around each cluster,
0.05 deg around Leo II) are the paper's (Hutchinson et al. 2025, section 6). The mock sky places its
clusters here and the dashboard's presets select them here, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StellarSystem:
    """A cluster or dwarf galaxy: ``name`` as in catalog columns (no spaces), ``label`` for people."""

    name: str
    label: str
    ra: float  # deg, ICRS
    dec: float  # deg
    dist_kpc: float
    feh: float
    r_half_arcmin: float
    select_radius_deg: float

    @property
    def dist_mod(self) -> float:
        return float(5 * np.log10(self.dist_kpc * 1000.0) - 5)


STELLAR_SYSTEMS: tuple[StellarSystem, ...] = (
    StellarSystem("M3", "M3", 205.5484, 28.3773, 10.2, -1.50, 2.31, 0.15),
    StellarSystem("M53", "M53", 198.2302, 18.1682, 17.9, -2.10, 1.31, 0.15),
    StellarSystem("NGC5466", "NGC 5466", 211.3637, 28.5344, 16.0, -1.98, 2.30, 0.15),
    StellarSystem("NGC5053", "NGC 5053", 199.1129, 17.7003, 17.4, -2.27, 2.61, 0.15),
    StellarSystem("NGC4147", "NGC 4147", 182.5262, 18.5426, 19.3, -1.80, 0.48, 0.15),
    StellarSystem("LeoII", "Leo II", 168.3700, 22.1517, 233.0, -1.62, 2.60, 0.05),
)


def stellar_system(name_or_label: str) -> StellarSystem:
    """Look a system up by its name or label; unknown names list the known ones."""
    for system in STELLAR_SYSTEMS:
        if name_or_label in (system.name, system.label):
            return system
    from core.errors import ConfigError

    raise ConfigError(
        f"unknown stellar system {name_or_label!r}; known: {', '.join(s.label for s in STELLAR_SYSTEMS)}"
    )
