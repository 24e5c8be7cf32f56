"""Physical parameters for every star: Teff, log g, [Fe/H], E(B-V) and distance modulus from photometry.

For each star the posterior over (theta, E, mu) is evaluated at every node of the model's parameter grid
(the cells where it had training stars, :mod:`core.stellar.grid`). At a node, E(B-V) has a closed form:
the colours' chi^2 plus the Gaussian E(B-V) prior is quadratic in E (clipped at 0); the distance modulus
then follows from the reference-band magnitude. The parallax (any S/N, as a Gaussian in parallax) and the
Galactic prior (:mod:`core.stellar.prior`) score each node. The maximum-posterior node gives
``stellar_chi2``-free ranking; the reported values are posterior means over nodes, with posterior
standard deviations (plus the grid's quantisation) as errors. ``stellar_chi2`` is the smallest colour +
E(B-V)-prior + parallax chi^2 over all nodes: how well *any* normal star explains the photometry.

All of it is matrix products and element-wise arithmetic on (stars x nodes) blocks, compiled with XLA.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import CatalogError, ConfigError
from core.stellar import prior as prior_mod
from core.stellar.data import UNMEASURED_VAR, StellarDataConfig, observed_magnitudes
from core.stellar.grid import GridConfig, ParameterGrid
from core.stellar.likelihood import photometric_covariance, precision
from core.stellar.model import StellarModel

log = logging.getLogger(__name__)

PARAMETERS: tuple[str, ...] = ("teff", "logg", "feh", "ebv", "dm")


def stellar_output_columns() -> list[str]:
    """The columns :func:`infer_parameters` adds (``stellar_<p>`` and ``stellar_<p>_err``, then chi^2)."""
    cols = []
    for p in PARAMETERS:
        cols += [f"stellar_{p}", f"stellar_{p}_err"]
    return [*cols, "stellar_dist_pc", "stellar_chi2", "stellar_density", "stellar_ncolours"]


@dataclass(frozen=True)
class InferenceConfig:
    """Settings of the grid posterior.

    ``min_count``: smoothed training stars a grid cell needs to be used (None: the card's value);
    ``galactic_prior``: use the Galactic prior (else flat in theta and mu, which favours no distance);
    ``ebv_max``: upper limit on E(B-V); ``mu_range``/``mu_step``/``sky_cell_deg``: the prior's table.
    """

    chunk_size: int = 2048
    min_count: float | None = None
    galactic_prior: bool = True
    ebv_max: float = 3.0
    mu_range: tuple[float, float] = (-1.0, 23.0)
    mu_step: float = 0.1
    sky_cell_deg: float = 2.0

    def __post_init__(self) -> None:
        if int(self.chunk_size) < 1:
            raise ConfigError(f"InferenceConfig.chunk_size must be >= 1, got {self.chunk_size}")
        if not self.ebv_max > 0:
            raise ConfigError(f"InferenceConfig.ebv_max must be > 0, got {self.ebv_max}")
        if not self.mu_range[0] < self.mu_range[1] or not self.mu_step > 0:
            raise ConfigError(f"InferenceConfig.mu_range/mu_step invalid: {self.mu_range}, {self.mu_step}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Nodes:
    """The grid nodes the posterior is evaluated on, with the model's predictions there."""

    theta: np.ndarray  # (K, 3) Teff, logg, feh
    colours: np.ndarray  # (K, B-1) dust-free colours (model order, relative to the reference band)
    r_colours: np.ndarray  # (K, B-1) B R colour part
    m_ref: np.ndarray  # (K,) absolute magnitude in the reference band
    r_ref: np.ndarray  # (K,) R in the reference band
    ln_weight: np.ndarray  # (K,)
    feh_index: np.ndarray  # (K,) index into the [Fe/H] axis
    steps: np.ndarray  # quantisation of (Teff fraction, logg, feh)

    @property
    def centre(self) -> np.ndarray:
        """Typical colours, subtracted from stars' and nodes' colours to keep float32 sums accurate."""
        return np.median(self.colours, axis=0)

    def __len__(self) -> int:
        return len(self.theta)


def build_nodes(model: StellarModel, grid: ParameterGrid, min_count: float) -> Nodes:
    """Evaluate the model at every grid cell with at least ``min_count`` (smoothed) training stars."""
    theta, counts, flat = grid.nodes(min_count)
    y, r = model.predict(theta, 0.0)
    b = np.eye(model.n_bands)
    b[1:, 0] = -1
    r_col = r[:, model.order] @ b.T
    mags = model.to_magnitudes(y)
    m_r = mags[:, model.bands.index("r")] if "r" in model.bands else y[:, 0]
    _, _, feh_index = np.unravel_index(flat, grid.shape)
    ln_w = prior_mod.node_log_weights(m_r, feh_index, counts)
    step = grid.steps
    return Nodes(
        theta=theta,
        colours=y[:, 1:],
        r_colours=r_col[:, 1:],
        m_ref=y[:, 0],
        r_ref=r_col[:, 0],
        ln_weight=ln_w,
        feh_index=feh_index.astype(np.int32),
        steps=np.array([np.log(10) * step[0], step[1], step[2]]),
    )


def _sym_features(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Features f with x^T P y = P_flat . f for symmetric P (diagonal, then upper triangle)."""
    n = x.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    return np.concatenate([x * y, x[..., iu] * y[..., ju] + x[..., ju] * y[..., iu]], axis=-1)


def _sym_flat(p: np.ndarray) -> np.ndarray:
    n = p.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    return np.concatenate([np.diagonal(p, axis1=-2, axis2=-1), p[..., iu, ju]], axis=-1)


class _Posterior:
    """The (stars x nodes) posterior for one node set and prior table.

    Node arrays are arguments, so each block of stars is evaluated against only the nodes whose colour
    can match theirs (:func:`_node_window`); blocks are padded to a few sizes to limit XLA compilations.
    The compiled function is shared by every call in the process (:func:`_posterior_fn`), so repeated
    inferences (a dashboard, a benchmark) do not compile again.
    """

    def __init__(
        self, nodes: Nodes, table: prior_mod.SkyTable | None, config: InferenceConfig, *, jit: bool = True
    ) -> None:
        import tensorflow as tf

        self.tf = tf
        c, a = nodes.colours - nodes.centre[None, :], nodes.r_colours
        f32 = np.float32
        self.node_arrays = {
            "cn": c.astype(f32),
            "an": a.astype(f32),
            "f_cc": _sym_features(c, c).astype(f32),
            "f_ac": _sym_features(a, c).astype(f32),
            "f_aa": _sym_features(a, a).astype(f32),
            "m0": nodes.m_ref.astype(f32),
            "a0": nodes.r_ref.astype(f32),
            "lnw": nodes.ln_weight.astype(f32),
            "theta": nodes.theta.astype(f32),
            "feh_idx": nodes.feh_index.astype(np.int32),
        }
        if table is not None:
            self.table = tf.constant(table.table.reshape(-1))
            n_mu, n_feh = table.table.shape[1], table.table.shape[2]
            self.scalars = tf.constant([float(table.mu[0]), float(table.mu[1] - table.mu[0]), 1.0], tf.float32)
        else:  # a one-entry table that the flag (third scalar) switches off
            self.table = tf.zeros(1, tf.float32)
            n_mu, n_feh = 2, 1
            self.scalars = tf.constant([0.0, 1.0, 0.0], tf.float32)
        self.shape = tf.constant([n_mu, n_feh], tf.int32)
        self.ebv_max = tf.constant(float(config.ebv_max), tf.float32)
        self.fn = _posterior_fn(bool(jit))

    def node_block(self, idx: np.ndarray, size: int) -> list[np.ndarray]:
        """Node arrays for the nodes ``idx``, padded to ``size`` with nodes of zero prior weight."""
        pad = size - len(idx)
        full = np.concatenate([idx, np.full(pad, idx[0] if len(idx) else 0)])
        out = []
        for key, arr in self.node_arrays.items():
            part = arr[full]
            if key == "lnw" and pad:
                part = part.copy()
                part[len(idx):] = PAD_LN_WEIGHT
            if key in ("cn", "an", "f_cc", "f_ac", "f_aa"):
                part = np.ascontiguousarray(part.T)
            out.append(part)
        out.append(np.concatenate([np.zeros(len(idx), np.float32), np.full(pad, PAD_CHI2, np.float32)]))
        return out

    def __call__(self, *arrays):
        tf = self.tf
        args = [tf.constant(a) for a in arrays]
        out = self.fn(*args, self.table, self.shape, self.scalars, self.ebv_max)
        return [o.numpy() for o in out]


_POSTERIOR_FNS: dict[bool, Any] = {}


def _posterior_fn(jit: bool):
    """The posterior as a ``tf.function`` (XLA-compiled with ``jit``), created once per process."""
    import tensorflow as tf

    if jit not in _POSTERIOR_FNS:
        _POSTERIOR_FNS[jit] = tf.function(_posterior_graph, jit_compile=jit, reduce_retracing=True)
    return _POSTERIOR_FNS[jit]


def _posterior_graph(col, p_flat, pc, e0, s0, y0, meas0, plx, plx_ivar, cell,
                     cn, an, f_cc, f_ac, f_aa, m0, a0, lnw, theta, feh_idx, pad_chi2,
                     table, shape, scalars, ebv_max):
    """Posterior means, variances and the best likelihood chi^2 of a block of stars over a block of nodes."""
    import tensorflow as tf

    cpc = tf.reduce_sum(col * pc, axis=1, keepdims=True)  # c^T P c  (N, 1)
    d_pd = cpc - 2.0 * tf.matmul(pc, cn) + tf.matmul(p_flat, f_cc)
    a_pd = tf.matmul(pc, an) - tf.matmul(p_flat, f_ac)
    a_pa = tf.matmul(p_flat, f_aa)
    iv0 = 1.0 / tf.square(s0)[:, None]
    e_opt = (a_pd + e0[:, None] * iv0) / (a_pa + iv0)
    e_opt = tf.clip_by_value(e_opt, 0.0, ebv_max)
    chi2_c = d_pd - 2.0 * e_opt * a_pd + tf.square(e_opt) * a_pa + tf.square(e_opt - e0[:, None]) * iv0
    mu = y0[:, None] - m0[None, :] - e_opt * a0[None, :]
    plx_pred = tf.exp(LN10 * (2.0 - 0.2 * mu))  # parallax in mas at distance modulus mu
    chi2_p = tf.square(plx[:, None] - plx_pred) * plx_ivar[:, None] * meas0[:, None]
    like = chi2_c + chi2_p + pad_chi2[None, :]
    total = like - 2.0 * lnw[None, :]
    # The Galactic prior, interpolated in mu from the star's sky cell and the node's [Fe/H] column.
    n_mu, n_feh = shape[0], shape[1]
    mu0, dmu, use_table = scalars[0], scalars[1], scalars[2]
    pos = tf.clip_by_value((mu - mu0) / dmu, 0.0, tf.cast(n_mu - 1, tf.float32) - 1e-3)
    i0 = tf.cast(tf.floor(pos), tf.int32)
    frac = pos - tf.cast(i0, tf.float32)
    base = cell[:, None] * (n_mu * n_feh) + feh_idx[None, :]
    size = tf.shape(table)[0] - 1
    t0 = tf.gather(table, tf.minimum(base + i0 * n_feh, size))
    t1 = tf.gather(table, tf.minimum(base + (i0 + 1) * n_feh, size))
    total = total - 2.0 * use_table * ((1.0 - frac) * t0 + frac * t1) * meas0[:, None]
    best_like = tf.reduce_min(like, axis=1)
    t_min = tf.reduce_min(total, axis=1, keepdims=True)
    w = tf.exp(-0.5 * (total - t_min))
    w = w / tf.reduce_sum(w, axis=1, keepdims=True)
    # Node-only quantities average by matrix products; E(B-V) and mu vary per star and node.
    th_mean = tf.matmul(w, theta)
    th_var = tf.maximum(tf.matmul(w, tf.square(theta)) - tf.square(th_mean), 0.0)
    e_mean = tf.reduce_sum(w * e_opt, axis=1)
    e_var = tf.maximum(tf.reduce_sum(w * tf.square(e_opt), axis=1) - tf.square(e_mean), 0.0)
    mu_mean = tf.reduce_sum(w * mu, axis=1)
    mu_var = tf.maximum(tf.reduce_sum(w * tf.square(mu), axis=1) - tf.square(mu_mean), 0.0)
    means = tf.concat([th_mean, tf.stack([e_mean, mu_mean], axis=1)], axis=1)
    variances = tf.concat([th_var, tf.stack([e_var, mu_var], axis=1)], axis=1)
    return means, variances, best_like


PAD_LN_WEIGHT = -1.0e4
XLA_MIN_STARS = 20_000  # compile the posterior with XLA from this many stars on
LN10 = float(np.log(10.0))
PAD_CHI2 = 1.0e12
# Colour margin (mag) beyond the photometric window: the model's own error and the grid's spacing.
WINDOW_MARGIN = 0.15
WINDOW_SIGMAS = 5.0


def _window_colours(model: StellarModel) -> list[tuple[int, int]]:
    """Two colours (index pairs into the model's colour vector, -1 = the reference band) that locate a star
    on the stellar locus: first band - middle band and middle band - last band (g-i and i-y for PS1)."""
    names = [model.bands[k] for k in model.order[1:]]

    def pos(band: str) -> int:
        return names.index(band) if band in names else -1

    first, mid, last = model.bands[0], model.bands[len(model.bands) // 2], model.bands[-1]
    return [(pos(first), pos(mid)), (pos(mid), pos(last))]


def _colour(values: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    i, j = pair
    a = values[:, i] if i >= 0 else 0.0
    b = values[:, j] if j >= 0 else 0.0
    return np.asarray(a - b, np.float64)


def _colour_var(cov: np.ndarray, pair: tuple[int, int]) -> np.ndarray:
    i, j = pair
    v = np.zeros(len(cov))
    if i >= 0:
        v = v + cov[:, 1 + i, 1 + i]
    if j >= 0:
        v = v + cov[:, 1 + j, 1 + j]
    if i >= 0 and j >= 0:
        v = v - 2 * cov[:, 1 + i, 1 + j]
    return np.sqrt(np.maximum(v, 0.0))


def _node_window(inputs: dict, nodes: Nodes, model: StellarModel, config: InferenceConfig):
    """Per star and window colour, the interval its nodes' dust-free colour must lie in (observed colour
    minus any reddening the E(B-V) prior allows, +- WINDOW_SIGMAS sigma + WINDOW_MARGIN), and the nodes'
    colours. Stars with an unmeasured window band get an unbounded interval."""
    col = inputs["col"] + nodes.centre[None, :]
    e_hi = np.minimum(config.ebv_max, inputs["e0"] + 5.0 * inputs["s0"])
    los, his, node_cs = [], [], []
    for k, pair in enumerate(_window_colours(model)):
        star = _colour(col, pair)
        node_c = _colour(nodes.colours, pair)
        node_r = _colour(nodes.r_colours, pair)
        sigma = inputs[f"window_sigma_{k}"]
        pad = WINDOW_SIGMAS * sigma + WINDOW_MARGIN
        lo = star - e_hi * max(float(np.max(node_r)), 0.0) - pad
        hi = star - e_hi * min(float(np.min(node_r)), 0.0) + pad
        unbounded = ~np.isfinite(sigma) | (sigma > 1.0)
        los.append(np.where(unbounded, -np.inf, lo))
        his.append(np.where(unbounded, np.inf, hi))
        node_cs.append(node_c)
    return np.stack(los, 1), np.stack(his, 1), np.stack(node_cs, 1)


def _block_size(k: int, total: int) -> int:
    """Pad a block's node count to 256 x a power of two (at most the total), so XLA compiles few shapes."""
    size = 256
    while size < k:
        size *= 2
    return max(min(size, max(total, k)), k)


def _fill_unmeasured(mags, unmeasured, ref, model, centre):
    """Stand-in values for unmeasured bands (their precision is ~0): a band gets the reference magnitude
    plus the typical colour, an unmeasured reference band the first measured band minus its typical colour,
    so that the colours stay small numbers (float32 arithmetic) and measured colour differences survive."""
    mags = np.array(mags, np.float64)
    others = [int(k) for k in model.order[1:]]
    typical = dict(zip(others, centre, strict=True))
    no_ref = unmeasured[:, ref]
    if no_ref.any():
        fill = np.full(len(mags), 20.0)
        for k in reversed(others):
            ok = no_ref & ~unmeasured[:, k]
            fill[ok] = mags[ok, k] - typical[k]
        mags[no_ref, ref] = fill[no_ref]
    for k in others:
        bad = unmeasured[:, k]
        mags[bad, k] = mags[bad, ref] + typical[k]
    return mags


def _inputs(df: pd.DataFrame, model: StellarModel, data_config: StellarDataConfig, centre: np.ndarray):
    """Per-star arrays: colours, their precision, reference magnitude, E prior, parallax."""
    from core.stellar.data import PARALLAX_ZERO_POINT_MAS, ebv_prior

    mags, err = observed_magnitudes(df, model.bands)
    var = err**2 + data_config.mag_err_floor**2
    unmeasured = ~np.isfinite(mags) | (err > data_config.max_mag_err)
    var = np.where(unmeasured, UNMEASURED_VAR, var)
    ref = model.bands.index(model.config.ref_band)
    mags = _fill_unmeasured(mags, unmeasured, ref, model, centre)
    y = model.to_colour_space(mags)
    cov = photometric_covariance(var, model)
    p = precision(cov[:, 1:, 1:])
    meas0 = (~unmeasured[:, ref]).astype(np.float32)
    n_colours = np.where(meas0 > 0, (~unmeasured).sum(axis=1) - 1, 0)
    e0, e0_var = ebv_prior(df, data_config, required=False)
    if "parallax" in df.columns and "parallax_error" in df.columns:
        zp = data_config.parallax_zero_point if data_config.parallax_zero_point is not None else PARALLAX_ZERO_POINT_MAS
        plx = df["parallax"].to_numpy(np.float64) - zp
        perr = df["parallax_error"].to_numpy(np.float64)
        good = np.isfinite(plx) & np.isfinite(perr) & (perr > 0)
        plx_ivar = np.where(good, 1.0 / np.where(good, perr, 1.0) ** 2, 0.0)
        plx = np.where(good, plx, 0.0)
    else:
        plx = np.zeros(len(df))
        plx_ivar = np.zeros(len(df))
    col = y[:, 1:] - centre[None, :]
    windows = {f"window_sigma_{k}": _colour_var(cov, pair) for k, pair in enumerate(_window_colours(model))}
    return {
        **windows,
        "col": col.astype(np.float32),
        "p_flat": _sym_flat(p).astype(np.float32),
        "pc": np.einsum("nij,nj->ni", p, col).astype(np.float32),
        "e0": e0.astype(np.float32),
        "s0": np.sqrt(e0_var).astype(np.float32),
        "y0": y[:, 0].astype(np.float32),
        "meas0": meas0,
        "plx": plx.astype(np.float32),
        "plx_ivar": plx_ivar.astype(np.float32),
        "n_colours": n_colours,
    }


def infer_parameters(
    df: pd.DataFrame,
    model: StellarModel,
    grid: ParameterGrid,
    *,
    data_config: StellarDataConfig | None = None,
    config: InferenceConfig | None = None,
    grid_config: GridConfig | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """A DataFrame (same index as ``df``) with :func:`stellar_output_columns` for every row (defaults: the configs'
    defaults; pass the model card's with :func:`configs_from_card`)."""
    from tqdm.auto import tqdm

    data_config = data_config or StellarDataConfig()
    config = config or InferenceConfig()
    grid_config = grid_config or GridConfig()
    if not {"l", "b"} <= set(df.columns) and config.galactic_prior:
        raise CatalogError("the Galactic prior needs Galactic coordinates 'l' and 'b' in the catalog")
    min_count = grid_config.min_count if config.min_count is None else config.min_count
    nodes = build_nodes(model, grid, min_count)
    log.info("stellar inference: %d stars x %d grid nodes", len(df), len(nodes))
    inputs = _inputs(df, model, data_config, nodes.centre)
    n = len(df)
    table = None
    cell = np.zeros(n, np.int32)
    t_start = time.perf_counter()
    if config.galactic_prior and n:
        l_deg, b_deg = df["l"].to_numpy(np.float64), df["b"].to_numpy(np.float64)
        table = prior_mod.sky_table(
            l_deg, b_deg, grid.feh, cell_deg=config.sky_cell_deg, mu_range=config.mu_range, mu_step=config.mu_step
        )
        cell = table.cell_of(l_deg, b_deg).astype(np.int32)
    post = _Posterior(nodes, table, config, jit=n >= XLA_MIN_STARS)
    log.info("stellar inference: prior table %s in %.1f s", None if table is None else table.table.shape,
             time.perf_counter() - t_start)
    t_start = time.perf_counter()
    means = np.full((n, len(PARAMETERS)), np.nan)
    variances = np.full((n, len(PARAMETERS)), np.nan)
    best = np.full(n, np.nan)
    keys = ("col", "p_flat", "pc", "e0", "s0", "y0", "meas0", "plx", "plx_ivar")
    size = int(min(config.chunk_size, max(n, 1)))
    lo, hi, node_c = _node_window(inputs, nodes, model, config)
    # Stars of similar colour and similar window width share a block, so a block needs few nodes.
    width = np.clip(np.floor(np.log2(np.maximum(hi[:, 0] - lo[:, 0], 0.05) / 0.05)), 0, 10)
    width = np.where(np.isfinite(hi[:, 0] - lo[:, 0]), width, 11)
    star_order = np.lexsort((np.where(np.isfinite(lo[:, 0]), lo[:, 0], 0.0), width))
    n_nodes = []
    with tqdm(total=n, unit="star", desc="stellar parameters", disable=not progress) as bar:
        for s in range(0, n, size):
            rows = star_order[s : s + size]
            k = len(rows)
            inside = np.all((node_c >= lo[rows].min(axis=0)) & (node_c <= hi[rows].max(axis=0)), axis=1)
            idx = np.flatnonzero(inside) if inside.any() else np.arange(len(nodes))
            block = _block_size(len(idx), len(nodes))
            part = [inputs[key][rows] for key in keys] + [cell[rows]]
            if k < size:
                part = [np.concatenate([arr, np.repeat(arr[-1:], size - k, axis=0)]) for arr in part]
            m, v, bl = post(*part, *post.node_block(idx, block))
            means[rows], variances[rows], best[rows] = m[:k], v[:k], bl[:k]
            n_nodes.append(len(idx))
            bar.update(k)
    log.info("stellar inference: %.0f nodes per block on average (of %d); %.1f s", np.mean(n_nodes) if n_nodes else 0,
             len(nodes), time.perf_counter() - t_start)
    # A uniform distribution over one grid cell: the resolution of the node posterior.
    quant = np.zeros_like(variances)
    quant[:, 0] = (nodes.steps[0] * means[:, 0]) ** 2 / 12.0
    quant[:, 1:3] = nodes.steps[1:3] ** 2 / 12.0
    errs = np.sqrt(variances + quant)
    out = pd.DataFrame(index=df.index)
    for k, p in enumerate(PARAMETERS):
        out[f"stellar_{p}"] = means[:, k].astype(np.float32)
        out[f"stellar_{p}_err"] = errs[:, k].astype(np.float32)
    no_mag = inputs["meas0"] == 0
    out.loc[no_mag, ["stellar_dm", "stellar_dm_err"]] = np.nan
    out["stellar_dist_pc"] = (10 ** (0.2 * out["stellar_dm"].to_numpy(np.float64) + 1)).astype(np.float32)
    out["stellar_chi2"] = best.astype(np.float32)
    out["stellar_density"] = grid.density_at(means[:, :3]).astype(np.float32)
    out["stellar_ncolours"] = inputs["n_colours"].astype(np.int8)
    return out


def load_stellar_model(model_dir: str | Path) -> tuple[StellarModel, ParameterGrid, dict[str, Any]]:
    """Model, training-density grid and card from a directory written by ``sedscape stellar-model train``."""
    from core.stellar.training import read_stellar_card

    card = read_stellar_card(model_dir)
    return StellarModel.load(model_dir), ParameterGrid.load(model_dir), card


def configs_from_card(card: dict[str, Any]) -> tuple[StellarDataConfig, GridConfig]:
    return StellarDataConfig(**card.get("data_config", {})), GridConfig(**card.get("grid_config", {}))


def best_fit_sed(
    model: StellarModel,
    teff: np.ndarray,
    logg: np.ndarray,
    feh: np.ndarray,
    ebv: np.ndarray | float = 0.0,
    dm: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Apparent magnitudes (N, n_bands, catalog band order) the model predicts for these parameters:
    the dust-free SED, reddened by ``ebv`` with the learned R and shifted by the distance modulus ``dm``."""
    theta = np.column_stack([np.atleast_1d(teff), np.atleast_1d(logg), np.atleast_1d(feh)]).astype(np.float64)
    n = len(theta)
    ok = np.isfinite(theta).all(axis=1)
    out = np.full((n, model.n_bands), np.nan)
    if ok.any():
        ebv_arr = np.broadcast_to(np.asarray(ebv, np.float64), (n,))[ok]
        dm_arr = np.broadcast_to(np.asarray(dm, np.float64), (n,))[ok]
        y, _ = model.predict(theta[ok], np.nan_to_num(ebv_arr))
        out[ok] = model.to_magnitudes(y) + dm_arr[:, None]
    return out


def stellar_sed(df: pd.DataFrame, model: StellarModel, *, as_catalog: bool = False) -> np.ndarray:
    """The best-fit SED (apparent magnitudes, N x n_bands, reddened by ``stellar_ebv``) of catalog rows carrying
    ``stellar_*`` columns; rows without a distance modulus (no reference-band magnitude) get absolute
    magnitudes, so compare shapes (e.g. normalised to one band) rather than levels there.

    ``as_catalog``: in the magnitude system of the catalog's ``<band>`` columns, to lie on the observed SED an
    autoencoder saw: a dereddened catalog's own extinction (``<band>_obs - <band>``, per star and band) is
    subtracted, so what remains of the model's reddening is the part the catalog's dust map did not remove."""
    need = ["stellar_teff", "stellar_logg", "stellar_feh", "stellar_ebv", "stellar_dm"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise CatalogError(f"no stellar parameters in the catalog (missing {missing}); run `sedscape stellar-model infer`")
    v = [df[c].to_numpy(np.float64) for c in need]
    sed = best_fit_sed(model, *v[:3], ebv=v[3], dm=np.nan_to_num(v[4]))
    if as_catalog:
        for k, band in enumerate(model.bands):
            if f"{band}_obs" in df.columns and band in df.columns:
                sed[:, k] -= df[f"{band}_obs"].to_numpy(np.float64) - df[band].to_numpy(np.float64)
    return sed
