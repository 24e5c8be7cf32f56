"""Photometric band sets: names, effective wavelengths and extinction coefficients.

The method works on any survey's bands; a :class:`BandSet` says which magnitude columns a
catalog holds and how to deredden them. PS1 grizy is the default.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError


@dataclass(frozen=True)
class Band:
    """One passband: column name, effective wavelength and A_band / E(B-V)."""

    name: str
    wavelength_nm: float
    extinction_coeff: float | None = None


@dataclass(frozen=True)
class BandSet:
    """An ordered set of bands; the order is the model's feature order (blue to red)."""

    name: str
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        names = [b.name for b in self.bands]
        if len(set(names)) != len(names):
            raise ConfigError(f"band set {self.name!r} repeats a band name: {names}")
        if not names:
            raise ConfigError(f"band set {self.name!r} has no bands")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bands)

    @property
    def err_columns(self) -> tuple[str, ...]:
        return tuple(f"{b}_err" for b in self.names)

    @property
    def wavelengths_nm(self) -> tuple[float, ...]:
        return tuple(b.wavelength_nm for b in self.bands)

    @property
    def extinction_coeffs(self) -> dict[str, float]:
        """A_band / E(B-V); raises if any band lacks a coefficient."""
        missing = [b.name for b in self.bands if b.extinction_coeff is None]
        if missing:
            raise ConfigError(
                f"band set {self.name!r} has no extinction coefficient for {missing}; "
                "deredden upstream or pass coefficients explicitly"
            )
        return {b.name: float(b.extinction_coeff) for b in self.bands}  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.bands)

    def __iter__(self):
        return iter(self.names)

    def __add__(self, other: BandSet) -> BandSet:
        return BandSet(f"{self.name}+{other.name}", self.bands + other.bands)

    def subset(self, names: list[str] | tuple[str, ...], name: str | None = None) -> BandSet:
        lookup = {b.name: b for b in self.bands}
        unknown = [n for n in names if n not in lookup]
        if unknown:
            raise ConfigError(f"bands {unknown} are not in band set {self.name!r} ({self.names})")
        return BandSet(name or f"{self.name}[{''.join(names)}]", tuple(lookup[n] for n in names))


# Effective wavelengths: PS1 from Tonry et al. 2012; extinction coefficients: Schlafly &
# Finkbeiner 2011 (R_V = 3.1) for PS1, SDSS and 2MASS. See data/README.md.
PS1 = BandSet(
    "ps1",
    (
        Band("g", 481.0, 3.172),
        Band("r", 617.0, 2.271),
        Band("i", 752.0, 1.682),
        Band("z", 866.0, 1.322),
        Band("y", 962.0, 1.087),
    ),
)
SDSS = BandSet(
    "sdss",
    (
        Band("u", 355.1, 4.239),
        Band("g", 468.6, 3.303),
        Band("r", 616.5, 2.285),
        Band("i", 748.1, 1.698),
        Band("z", 893.1, 1.263),
    ),
)
TWOMASS = BandSet(
    "2mass",
    (Band("J", 1235.0, 0.709), Band("H", 1662.0, 0.449), Band("Ks", 2159.0, 0.302)),
)
GAIA = BandSet(
    "gaia",
    (Band("bp", 511.0), Band("G", 622.0), Band("rp", 777.0)),
)

BAND_SETS: dict[str, BandSet] = {b.name: b for b in (PS1, SDSS, TWOMASS, GAIA)}
BAND_SETS["ps1+2mass"] = PS1 + TWOMASS


def survey_blocks(bands: BandSet) -> tuple[tuple[int, ...], ...]:
    """Indices of the bands that come from one survey, per survey, for a combined set like ``ps1+2mass``.

    A band set named ``a+b`` whose parts are known band sets splits into those parts' bands (a survey's
    bands go missing together when a star is outside its footprint); any other set is one block.
    """
    parts = [BAND_SETS.get(p) for p in bands.name.lower().split("+")]
    index = {b: k for k, b in enumerate(bands.names)}
    if len(parts) > 1 and all(parts):
        blocks = [tuple(index[b] for b in part.names if b in index) for part in parts]  # type: ignore[union-attr]
        if sorted(k for blk in blocks for k in blk) == list(range(len(bands))):
            return tuple(blocks)
    return (tuple(range(len(bands))),)


def get_band_set(name: str | BandSet) -> BandSet:
    """Look a band set up by name (``ps1``, ``sdss``, ``2mass``, ``gaia``, ``ps1+2mass``)."""
    if isinstance(name, BandSet):
        return name
    try:
        return BAND_SETS[name.lower()]
    except KeyError:
        raise ConfigError(
            f"unknown band set {name!r}; known: {', '.join(sorted(BAND_SETS))}"
        ) from None
