"""The data-driven stellar model of Green et al. (seed 002): (Teff, log g, [Fe/H]) -> magnitudes, and R.

Two sectors share the standardised spectroscopic features ``x = (theta - median) / scale``:

* stellar: two hidden layers -> ``M(x)`` in *magnitude/colour space*: the absolute magnitude in the
  reference band followed by each other band minus the reference band (the seed's ``B M``);
* extinction: one dense layer with exponential activation -> ``R(x)`` per band (A_band / E(B-V)), with
  strong L1 on its kernel so that R is nearly the same for every star.

A star's predicted magnitude/colour vector is ``y = M(x) + E B R(x)`` (plus the distance modulus in the
first entry). Weights are plain float32 arrays evaluated with TensorFlow, so the same function serves
training (:mod:`core.stellar.training`), Jacobians for the covariance (:mod:`core.stellar.likelihood`) and
inference (:mod:`core.stellar.inference`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, ModelError

FEATURES: tuple[str, ...] = ("teff", "logg", "feh")
WEIGHTS_NAME = "stellar_weights.npz"
MODEL_NAME = "stellar_model.json"
ACTIVATIONS = ("sigmoid", "tanh", "softplus", "elu")


@dataclass(frozen=True)
class StellarModelConfig:
    """Architecture of the stellar model; defaults are the seed's (2 x 32 sigmoid units, L1 1e-2, L2 1e-4)."""

    hidden: tuple[int, ...] = (32, 32)
    activation: str = "sigmoid"
    l2: float = 1e-4
    l1: float = 1e-2
    ref_band: str = "r"

    def __post_init__(self) -> None:
        if not self.hidden or any(int(h) < 1 for h in self.hidden):
            raise ConfigError(f"StellarModelConfig.hidden must be positive layer sizes, got {self.hidden}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"StellarModelConfig.activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.l1 < 0 or self.l2 < 0:
            raise ConfigError(f"StellarModelConfig.l1 and .l2 must be >= 0, got {self.l1}, {self.l2}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StellarModelConfig:
        return cls(**{**d, "hidden": tuple(d.get("hidden", (32, 32)))})


def colour_matrix(n_bands: int) -> np.ndarray:
    """The seed's ``B``: first entry the reference-band magnitude, the others each band minus the reference."""
    b = np.eye(n_bands)
    b[1:, 0] = -1.0
    return b


@dataclass
class StellarModel:
    """Weights, feature scaling and band order of a stellar model.

    ``bands`` are the catalog's band names; ``order`` puts the reference band first (the model's
    internal order). ``theta_median``/``theta_scale`` standardise (Teff, log g, [Fe/H]).
    """

    bands: tuple[str, ...]
    config: StellarModelConfig = field(default_factory=StellarModelConfig)
    theta_median: np.ndarray = field(default_factory=lambda: np.array([5500.0, 4.3, -0.5]))
    theta_scale: np.ndarray = field(default_factory=lambda: np.array([800.0, 0.5, 0.5]))
    weights: list[np.ndarray] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self.bands = tuple(self.bands)
        if len(self.bands) < 2:
            raise ConfigError(f"a stellar model needs at least 2 bands, got {list(self.bands)}")
        if self.config.ref_band not in self.bands:
            raise ConfigError(f"reference band {self.config.ref_band!r} is not among the bands {list(self.bands)}")
        self.theta_median = np.asarray(self.theta_median, np.float64)
        self.theta_scale = np.asarray(self.theta_scale, np.float64)
        if not self.weights:
            self.weights = self.initial_weights(self.seed)
        got = [tuple(w.shape) for w in self.weights]
        if got != self.weight_shapes():
            raise ModelError(f"stellar model weights have shapes {got}, expected {self.weight_shapes()}")
        self.weights = [np.asarray(w, np.float32) for w in self.weights]

    # -- layout -------------------------------------------------------------------------------------
    @property
    def n_bands(self) -> int:
        return len(self.bands)

    @property
    def order(self) -> np.ndarray:
        """Indices of the catalog's bands in the model's order (reference band first)."""
        ref = self.bands.index(self.config.ref_band)
        return np.array([ref, *(k for k in range(self.n_bands) if k != ref)])

    @property
    def output_names(self) -> list[str]:
        ref = self.config.ref_band
        return [f"M_{ref}", *(f"{b}-{ref}" for b in np.array(self.bands)[self.order[1:]])]

    def weight_shapes(self) -> list[tuple[int, ...]]:
        sizes = [len(FEATURES), *map(int, self.config.hidden), self.n_bands]
        shapes: list[tuple[int, ...]] = []
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            shapes += [(a, b), (b,)]
        return [*shapes, (len(FEATURES), self.n_bands), (self.n_bands,)]

    def initial_weights(self, seed: int) -> list[np.ndarray]:
        """Glorot-uniform kernels, zero biases; the extinction sector starts at R = 2 in every band, flat."""
        rng = np.random.default_rng(seed)
        out: list[np.ndarray] = []
        for shape in self.weight_shapes()[:-2]:
            if len(shape) == 2:
                lim = np.sqrt(6.0 / (shape[0] + shape[1]))
                out.append(rng.uniform(-lim, lim, shape).astype(np.float32))
            else:
                out.append(np.zeros(shape, np.float32))
        out.append(np.zeros((len(FEATURES), self.n_bands), np.float32))
        out.append(np.full(self.n_bands, np.log(2.0), np.float32))
        return out

    def count_params(self) -> int:
        return int(sum(np.prod(s) for s in self.weight_shapes()))

    # -- features -----------------------------------------------------------------------------------
    def standardise(self, theta: np.ndarray) -> np.ndarray:
        return ((np.asarray(theta, np.float64) - self.theta_median) / self.theta_scale).astype(np.float32)

    def destandardise(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, np.float64) * self.theta_scale + self.theta_median

    # -- evaluation (numpy in, numpy out) --------------------------------------------------------------
    def predict(self, theta: np.ndarray, ebv: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """``(y, R)`` for features ``theta`` (N, 3) in physical units: y (N, n_bands) in magnitude/colour
        space including ``ebv`` x B R, and R (N, n_bands) per band in the catalog's band order."""
        import tensorflow as tf

        x = tf.constant(self.standardise(np.atleast_2d(theta)))
        m, r = forward(self.tensors(), x, len(self.config.hidden), self.config.activation)
        r = r.numpy().astype(np.float64)
        e = np.broadcast_to(np.asarray(ebv, np.float64), (len(r),))
        bmat = colour_matrix(self.n_bands)
        y = m.numpy().astype(np.float64) + e[:, None] * (r @ bmat.T)
        r_cat = np.empty_like(r)
        r_cat[:, self.order] = r
        return y, r_cat

    def absolute_magnitudes(self, theta: np.ndarray) -> np.ndarray:
        """Dust-free absolute magnitudes (N, n_bands) in the catalog's band order."""
        y, _ = self.predict(theta, 0.0)
        return self.to_magnitudes(y)

    def to_magnitudes(self, y: np.ndarray) -> np.ndarray:
        """Magnitude/colour vectors (model order) -> magnitudes in the catalog's band order."""
        mags_model = np.asarray(y) @ np.linalg.inv(colour_matrix(self.n_bands)).T
        out = np.empty_like(mags_model)
        out[..., self.order] = mags_model
        return out

    def to_colour_space(self, mags: np.ndarray) -> np.ndarray:
        """Magnitudes in the catalog's band order -> magnitude/colour vectors in the model's order."""
        return np.asarray(mags)[..., self.order] @ colour_matrix(self.n_bands).T

    def mean_extinction_vector(self) -> np.ndarray:
        """R (A_band / E(B-V)) at the median features (standardised x = 0), catalog band order."""
        _, r = self.predict(self.theta_median[None, :])
        return r[0]

    def tensors(self) -> list:
        import tensorflow as tf

        return [tf.constant(w) for w in self.weights]

    # -- persistence ----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1,
            "bands": list(self.bands),
            "features": list(FEATURES),
            "config": self.config.to_dict(),
            "theta_median": self.theta_median.tolist(),
            "theta_scale": self.theta_scale.tolist(),
            "seed": self.seed,
            "output_names": self.output_names,
        }

    def save(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / WEIGHTS_NAME, **{f"w{k}": w for k, w in enumerate(self.weights)})
        (directory / MODEL_NAME).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> StellarModel:
        directory = Path(directory)
        meta_path, w_path = directory / MODEL_NAME, directory / WEIGHTS_NAME
        if not meta_path.exists() or not w_path.exists():
            raise ModelError(
                f"{directory}: not a stellar model directory (need {MODEL_NAME} and {WEIGHTS_NAME}); "
                "train one with `sedscape stellar-model train`"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelError(f"{meta_path}: not valid JSON ({exc})") from exc
        with np.load(w_path) as npz:
            weights = [npz[f"w{k}"] for k in range(len(npz.files))]
        return cls(
            bands=tuple(meta["bands"]),
            config=StellarModelConfig.from_dict(meta["config"]),
            theta_median=np.array(meta["theta_median"]),
            theta_scale=np.array(meta["theta_scale"]),
            weights=weights,
            seed=int(meta.get("seed", 0)),
        )


def _activation(name: str):
    import tensorflow as tf

    return {"sigmoid": tf.sigmoid, "tanh": tf.tanh, "softplus": tf.nn.softplus, "elu": tf.nn.elu}[name]


def forward(weights: Sequence, x, n_hidden: int, activation: str = "sigmoid"):
    """The model function on TF tensors: standardised features (N, 3) -> (M in colour space, R in model order).

    ``weights`` = [W1, b1, ..., W_out, b_out, W_R, b_R] as :meth:`StellarModel.weight_shapes`.
    """
    import tensorflow as tf

    act = _activation(activation)
    h = x
    for k in range(n_hidden):
        h = act(tf.matmul(h, weights[2 * k]) + weights[2 * k + 1])
    m = tf.matmul(h, weights[2 * n_hidden]) + weights[2 * n_hidden + 1]
    r = tf.exp(tf.matmul(x, weights[-2]) + weights[-1])
    return m, r


def _jacobian_graph(weights, x, e, bmat_t, n_hidden: int, activation: str):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        m, r = forward(weights, x, n_hidden, activation)
        y = m + e[:, None] * tf.matmul(r, bmat_t)
    return tape.batch_jacobian(y, x)


_JACOBIAN_FN = None


def jacobians(model: StellarModel, theta: np.ndarray, ebv: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """d(M + E B R)/d theta (N, n_bands, 3) in physical feature units, at each star's features and E(B-V)."""
    import tensorflow as tf

    global _JACOBIAN_FN
    if _JACOBIAN_FN is None:
        _JACOBIAN_FN = tf.function(_jacobian_graph, reduce_retracing=True)
    bmat_t = tf.constant(colour_matrix(model.n_bands).T.astype(np.float32))
    w = model.tensors()
    x_all = model.standardise(theta)
    e_all = np.broadcast_to(np.asarray(ebv, np.float32), (len(x_all),))
    n = len(x_all)
    size = min(chunk, max(n, 1))
    out = np.empty((n, model.n_bands, len(FEATURES)), np.float64)
    for s in range(0, n, size):
        xb, eb = x_all[s : s + size], e_all[s : s + size]
        k = len(xb)
        if k < size:  # pad to one shape so the function is traced once
            xb = np.concatenate([xb, np.zeros((size - k, xb.shape[1]), np.float32)])
            eb = np.concatenate([eb, np.zeros(size - k, np.float32)])
        jac = _JACOBIAN_FN(w, tf.constant(xb), tf.constant(eb), bmat_t, len(model.config.hidden), model.config.activation)
        out[s : s + k] = jac.numpy()[:k]
    return out / model.theta_scale[None, None, :]
