"""The stellar likelihood (seed section 2): per-star covariance, its whitening, chi^2 and the reddening update.

In magnitude/colour space (``y = B m``; :func:`core.stellar.model.colour_matrix`) a star's covariance is

    C = B diag(sigma_m^2) B^T + J C_theta J^T + sigma_E^2 (B R)(B R)^T + sigma_mu^2 e0 e0^T

(the seed's Eq. 4 transformed by Eq. 6): photometric errors, spectroscopic-feature errors propagated through
the model's Jacobian ``J = d(M + E B R)/d theta``, the reddening uncertainty, and the parallax distance
modulus error (only in the first entry; unmeasured there when the parallax is poor). Whitening with
``L^T`` where ``L L^T = C^-1`` makes the chi^2 a plain sum of squares, so a mean-square loss equals it.
"""

from __future__ import annotations

import numpy as np

from core.stellar.data import UNMEASURED_VAR, StellarData
from core.stellar.model import StellarModel, colour_matrix, jacobians

# Added to the diagonal before inverting: keeps 5x5 matrices mixing 1e6 and 1e-4 well conditioned.
JITTER = 1e-8


def photometric_covariance(mag_var: np.ndarray, model: StellarModel) -> np.ndarray:
    """B diag(sigma_m^2) B^T (N, B, B), with the bands in the model's order."""
    b = colour_matrix(model.n_bands)
    v = mag_var[:, model.order]
    return np.einsum("ik,nk,jk->nij", b, v, b)


def covariance(
    data: StellarData,
    model: StellarModel,
    *,
    ebv: np.ndarray,
    ebv_var: np.ndarray | None = None,
    r_colour: np.ndarray | None = None,
    with_features: bool = True,
) -> np.ndarray:
    """The full covariance of each star's magnitude/colour vector (N, B, B).

    ``r_colour`` (N, B) is B R in the model's order (needed with ``ebv_var``); ``with_features`` adds
    J C_theta J^T evaluated at the star's features and ``ebv`` (needs ``data.theta``).
    """
    c = photometric_covariance(data.mag_var, model)
    c[:, 0, 0] += data.mu_var
    if with_features and data.theta is not None:
        jac = jacobians(model, data.theta, ebv)
        c += np.einsum("nik,nk,njk->nij", jac, data.theta_var, jac)
    if ebv_var is not None:
        if r_colour is None:
            raise ValueError("ebv_var needs r_colour (B R per star)")
        c += ebv_var[:, None, None] * r_colour[:, :, None] * r_colour[:, None, :]
    return c


def precision(cov: np.ndarray) -> np.ndarray:
    """C^-1 (N, B, B), computed in float64 with a tiny jitter on the diagonal."""
    n_b = cov.shape[-1]
    return np.linalg.inv(cov + JITTER * np.eye(n_b)[None])


def whitening(cov: np.ndarray) -> np.ndarray:
    """``L^T`` with ``L L^T = C^-1`` (N, B, B): ``|L^T r|^2 = r^T C^-1 r`` for any residual r."""
    prec = precision(cov)
    prec = 0.5 * (prec + np.swapaxes(prec, 1, 2))
    return np.swapaxes(np.linalg.cholesky(prec), 1, 2)


def chi2(resid: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """r^T C^-1 r per star."""
    return np.einsum("ni,nij,nj->n", resid, prec, resid)


def update_reddening(
    resid0: np.ndarray,
    r_colour: np.ndarray,
    prec: np.ndarray,
    ebv0: np.ndarray,
    ebv0_var: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian posterior of E(B-V) (seed Eqs. 8-9) given the residual from the dust-free prediction.

    ``resid0 = y_obs - M(theta)`` (dust-free), ``r_colour = B R``, ``prec`` the inverse covariance without
    the reddening term; the prior N(ebv0, ebv0_var) stays the *initial* estimate across iterations
    (otherwise E and the length of R drift together). Returns (mean, variance).
    """
    rt_p = np.einsum("ni,nij->nj", r_colour, prec)
    num = ebv0 / ebv0_var + np.einsum("ni,ni->n", rt_p, resid0)
    den = np.einsum("ni,ni->n", rt_p, r_colour) + 1.0 / ebv0_var
    return num / den, 1.0 / den


def clip_reddening(
    mean: np.ndarray, var: np.ndarray, *, floor: float = 0.02, frac: float = 0.1, ebv_max: float = 10.0
) -> tuple[np.ndarray, np.ndarray]:
    """The seed's clipping: 0 <= E <= ebv_max, variance >= floor^2 + (frac E)^2."""
    mean = np.clip(mean, 0.0, ebv_max)
    var = np.clip(var, floor**2 + (frac * mean) ** 2, ebv_max**2)
    return mean, var


def degrees_of_freedom(data: StellarData) -> np.ndarray:
    """Measured entries of the magnitude/colour vector minus one (the fitted reddening)."""
    return np.maximum(data.n_measured() - 1, 1)


def is_measured(var_diag: np.ndarray) -> np.ndarray:
    return var_diag < 0.5 * UNMEASURED_VAR
