"""Variable stars and quasars of the mock sky: which objects vary, how, and their light-curve models.

:func:`assign_variability` gives each object of the mock a variability class (``true_var_class``),
a period (``true_period``, days; NaN when aperiodic), an amplitude (``true_var_amp``, g band,
peak to peak; for quasars the structure function's asymptote SF_inf in g) and, for quasars, the
damped-random-walk time scale (``true_drw_tau``, observed-frame days). Classes follow the mock's
truth classes (:data:`core.mock.populations.TRUE_CLASSES`):

- RR Lyrae -> ``rrab`` (75%) or ``rrc`` (25%; Sesar et al. 2010 find ~20-25% RRc at high latitude).
  RRab periods N(0.57, 0.07) d, V amplitudes from the Oosterhoff I Bailey relation of Cacciari,
  Corwin & Carney (2005) for M3; RRc periods N(0.32, 0.04) d, A_V 0.3-0.55 mag.
- blue stragglers -> ``sxphe`` (40%), P 0.03-0.1 d (log-uniform).
- unresolved MS+MS binaries -> detached eclipsing ``ea`` (1.5%, P 0.8-8 d) or contact ``ew`` (0.8%,
  P 0.25-0.55 d). These rates are a few times the real ones, so each class has enough members.
- luminous giants (M_r < -0.5) -> semi-regular ``sr`` (50%, P 20-150 d); M_r < -1.8 -> ``lpv``
  (Mira-like, 25%, P 150-400 d, A_g 1-3 mag).
- M dwarfs -> ``flare`` (8% flare often enough to be caught in a few epochs).
- quasars -> ``qso`` (all): a damped random walk with SF_inf and tau from MacLeod et al. (2010,
  eq. 7 and Table 1) given rest-frame wavelength, M_i, black-hole mass and redshift.
- everything else -> ``none`` (noise only; the epoch generator adds rare outlier epochs).

The light-curve models (:func:`light_curve`) take phases or times and return magnitude offsets per
band; RR Lyrae and SX Phe use Fourier-series templates (see :data:`TEMPLATES`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.mock.photometry import RRL_BAND_RATIOS
from core.mock.populations import CLASS_CODE

VAR_CLASSES: tuple[str, ...] = ("none", "rrab", "rrc", "ea", "ew", "sxphe", "sr", "lpv", "flare", "qso")
VC = {name: k for k, name in enumerate(VAR_CLASSES)}
PERIODIC: tuple[str, ...] = ("rrab", "rrc", "ea", "ew", "sxphe", "sr", "lpv")

# Fourier templates m(phase) = sum_k R_k1 cos(2 pi k phase + phi_k1 + k phi_1): amplitude ratios R_k1 and
# phase differences phi_k1 (cosine series, radians), representative of the published distributions
# of field and cluster RR Lyrae (Simon & Teays 1982; OGLE bulge, Olech 1997) and of high-amplitude
# SX Phe / delta Scuti stars (Poretti 2001). Phase 0 is maximum light; each template is scaled to a
# peak-to-peak amplitude of 1.
TEMPLATES: dict[str, tuple[tuple[float, float], ...]] = {
    "rrab": ((1.0, 0.0), (0.48, 3.95), (0.33, 1.95), (0.21, 6.20)),
    "rrc": ((1.0, 0.0), (0.16, 4.80), (0.07, 3.10)),
    "sxphe": ((1.0, 0.0), (0.30, 4.10), (0.12, 2.30)),
    "lpv": ((1.0, 0.0), (0.15, 4.20)),
}
# Amplitude in g r i z y relative to g.
BAND_RATIOS: dict[str, np.ndarray] = {
    "rrab": RRL_BAND_RATIOS,
    "rrc": RRL_BAND_RATIOS,
    "sxphe": np.array([1.0, 0.8, 0.65, 0.55, 0.5]),
    "ea": np.array([1.0, 0.96, 0.93, 0.91, 0.9]),  # primary eclipse; the secondary deepens to the red
    "ew": np.array([1.0, 0.98, 0.96, 0.95, 0.94]),
    "sr": np.array([1.0, 0.8, 0.65, 0.55, 0.5]),
    "lpv": np.array([1.0, 0.85, 0.6, 0.45, 0.35]),
    "flare": np.array([1.0, 0.45, 0.25, 0.15, 0.1]),  # flares are hot: huge in g, small in y
}
A_G_OVER_A_V = 1.15  # g lies between B and V; A_B / A_V ~ 1.25 for RR Lyrae

# MacLeod et al. (2010), eq. 7: log10 f = A + B log10(lambda_RF / 4000 A) + C (M_i + 23)
# + D log10(M_BH / 1e9 M_sun) + E log10(1 + z); SF_inf in mag, tau in rest-frame days.
MACLEOD_SF = (-0.51, -0.479, 0.131, 0.18, 0.0)
MACLEOD_TAU = (2.4, 0.17, 0.03, 0.21, 0.0)
PS1_WAVELENGTH_A = np.array([4810.0, 6170.0, 7520.0, 8660.0, 9620.0])

RATES = {"rrc": 0.25, "sxphe": 0.40, "ea": 0.015, "ew": 0.008, "sr": 0.5, "lpv": 0.25, "flare": 0.08}


def _loguniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def bailey_amplitude_v(period: np.ndarray) -> np.ndarray:
    """A_V of regular Oosterhoff I RRab at ``period`` (Cacciari, Corwin & Carney 2005, M3)."""
    lp = np.log10(period)
    return -2.627 - 22.046 * lp - 30.876 * lp**2


def qso_drw_parameters(
    rng: np.random.Generator, true_i: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(SF_inf per band (N, 5) mag, tau observed-frame days (N,), redshift (N,)) for quasars of apparent i.

    Redshifts ~ N(1.4, 0.6) in 0.2-3.5; M_i from the Planck 2018 distance and a power-law K-correction
    (f_nu ~ nu^-0.5); log M_BH = 9 - 0.4 (M_i + 26) +- 0.3 (a constant Eddington ratio, our assumption).
    """
    from astropy.cosmology import Planck18

    n = len(true_i)
    z = np.clip(rng.normal(1.4, 0.6, n), 0.2, 3.5)
    dm = Planck18.distmod(z).value
    m_i = true_i - dm + 1.25 * np.log10(1 + z)
    log_mbh = np.clip(9.0 - 0.4 * (m_i + 26.0) + rng.normal(0, 0.3, n), 7.0, 10.5)

    def law(coeffs, lam_rf):
        a, b, c, d, e = coeffs
        return 10 ** (a + b * np.log10(lam_rf / 4000.0) + c * (m_i[:, None] + 23) + d * (log_mbh[:, None] - 9)
                      + e * np.log10(1 + z[:, None]))

    lam_rf = PS1_WAVELENGTH_A[None, :] / (1 + z[:, None])
    sf = law(MACLEOD_SF, lam_rf)
    tau_rf = law(MACLEOD_TAU, lam_rf[:, 1:2])[:, 0]  # one time scale per quasar, at r's rest wavelength
    return sf, tau_rf * (1 + z), z


def assign_variability(
    rng: np.random.Generator, cls: np.ndarray, true_mr: np.ndarray, true_i: np.ndarray
) -> dict[str, np.ndarray]:
    """Truth columns ``true_var_class`` (codes into :data:`VAR_CLASSES`), ``true_period``,
    ``true_var_amp`` and ``true_drw_tau`` for objects of mock class codes ``cls``."""
    n = len(cls)
    var = np.zeros(n, np.int8)
    period = np.full(n, np.nan)
    amp = np.full(n, np.nan)
    tau = np.full(n, np.nan)
    u = rng.random(n)

    rr = np.flatnonzero(cls == CLASS_CODE["rrlyrae"])
    is_c = u[rr] < RATES["rrc"]
    ab, c = rr[~is_c], rr[is_c]
    var[ab], var[c] = VC["rrab"], VC["rrc"]
    period[ab] = np.clip(rng.normal(0.57, 0.07, ab.size), 0.42, 0.85)
    a_v = bailey_amplitude_v(period[ab]) + rng.normal(0, 0.1, ab.size)
    amp[ab] = A_G_OVER_A_V * np.clip(a_v, 0.3, 1.3)
    period[c] = np.clip(rng.normal(0.32, 0.04, c.size), 0.23, 0.42)
    amp[c] = A_G_OVER_A_V * rng.uniform(0.3, 0.55, c.size)

    bss = np.flatnonzero((cls == CLASS_CODE["bss"]) & (u < RATES["sxphe"]))
    var[bss] = VC["sxphe"]
    period[bss] = _loguniform(rng, 0.03, 0.1, bss.size)
    amp[bss] = np.where(rng.random(bss.size) < 0.3, rng.uniform(0.3, 0.7, bss.size), rng.uniform(0.05, 0.3, bss.size))

    binary = cls == CLASS_CODE["binary_ms_ms"]
    ea = np.flatnonzero(binary & (u < RATES["ea"]))
    ew = np.flatnonzero(binary & (u >= RATES["ea"]) & (u < RATES["ea"] + RATES["ew"]))
    var[ea], var[ew] = VC["ea"], VC["ew"]
    period[ea] = _loguniform(rng, 0.8, 8.0, ea.size)
    amp[ea] = rng.uniform(0.1, 0.8, ea.size)
    period[ew] = _loguniform(rng, 0.25, 0.55, ew.size)
    amp[ew] = rng.uniform(0.15, 0.6, ew.size)

    giant = cls == CLASS_CODE["giant"]
    v2 = rng.random(n)
    lpv = np.flatnonzero(giant & (true_mr < -1.8) & (v2 < RATES["lpv"]))
    sr = np.flatnonzero(giant & (true_mr < -0.5) & (v2 >= RATES["lpv"]) & (u < RATES["sr"]))
    var[lpv], var[sr] = VC["lpv"], VC["sr"]
    period[lpv] = rng.uniform(150.0, 400.0, lpv.size)
    amp[lpv] = rng.uniform(1.0, 3.0, lpv.size)
    period[sr] = _loguniform(rng, 20.0, 150.0, sr.size)
    amp[sr] = rng.uniform(0.05, 0.3, sr.size)

    fl = np.flatnonzero((cls == CLASS_CODE["mdwarf"]) & (u < RATES["flare"]))
    var[fl] = VC["flare"]
    amp[fl] = _loguniform(rng, 0.2, 3.0, fl.size)  # g-band peak of a strong flare

    q = np.flatnonzero(cls == CLASS_CODE["qso"])
    var[q] = VC["qso"]
    if q.size:
        sf, t, _ = qso_drw_parameters(rng, np.nan_to_num(true_i[q], nan=21.0))
        amp[q], tau[q] = sf[:, 0], t
    return {
        "true_var_class": pd.Categorical.from_codes(var, categories=list(VAR_CLASSES)),
        "true_period": period.astype(np.float32),
        "true_var_amp": amp.astype(np.float32),
        "true_drw_tau": tau.astype(np.float32),
    }


def template_curve(name: str, phase: np.ndarray) -> np.ndarray:
    """Fourier template ``name`` at ``phase`` (0 = maximum light), peak to peak 1, mean 0, in magnitudes."""
    return _template_raw(name, phase) / _template_range(name)


def _template_raw(name: str, phase: np.ndarray) -> np.ndarray:
    out = np.zeros(np.shape(phase))
    terms = TEMPLATES[name]
    for k, (r, phi) in enumerate(terms, start=1):
        out += r * np.cos(2 * np.pi * k * phase + phi)
    return out


_RANGES: dict[str, tuple[float, float]] = {}


def _template_range(name: str) -> float:
    if name not in _RANGES:
        grid = np.linspace(0, 1, 4001)
        raw = _template_raw(name, grid)
        # Shift so that phase 0 is maximum light (the smallest magnitude).
        _RANGES[name] = (float(raw.max() - raw.min()), float(grid[np.argmin(raw)]))
    return _RANGES[name][0]


def template_shift(name: str) -> float:
    """Phase of maximum light of the raw template (added so that :func:`pulsation` peaks at phase 0)."""
    _template_range(name)
    return _RANGES[name][1]


def pulsation(name: str, phase: np.ndarray) -> np.ndarray:
    """Template ``name`` with maximum light at phase 0."""
    return template_curve(name, phase + template_shift(name))


def eclipses(phase: np.ndarray, depth1: np.ndarray, depth2: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Detached eclipsing binary: primary eclipse at phase 0, secondary at 0.5, half-width ``width``."""
    def bell(x):
        return np.where(np.abs(x) < 1, (1 - np.minimum(x * x, 1.0)) ** 1.5, 0.0)

    d0 = (phase + 0.5) % 1.0 - 0.5
    d1 = phase % 1.0 - 0.5
    return depth1 * bell(d0 / width) + depth2 * bell(d1 / width)


def contact(phase: np.ndarray, amp: np.ndarray, asym: np.ndarray) -> np.ndarray:
    """W UMa contact binary: minima at phases 0 and 0.5 (the first deeper by ``asym`` x amp)."""
    return amp * (0.5 * (1 + np.cos(4 * np.pi * phase)) + asym * 0.5 * (1 + np.cos(2 * np.pi * phase))) / (1 + asym)
