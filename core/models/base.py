"""What every sedscape model is: a 2-D-latent autoencoder over photometry.

By default models see *scaled* inputs, shape ``(N, n_bands)``: the paper's decimal scaling, magnitudes / 10
rounded to 3 decimals (:func:`scale`). Reshaping to Keras' ``(N, 1, n_bands)`` sequence layout is
each model's own business. A model that reads more (errors, which bands are present) says so with
:attr:`Autoencoder.uses_errors` and builds its own input array in :meth:`Autoencoder.features`; the
rest of the protocol (fit / encode / save, training runs, scoring) is unchanged, arrays in and out.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.errors import ConfigError

LATENT_DIM = 2


def scale(mags: np.ndarray) -> np.ndarray:
    """The paper's preprocessing: magnitudes / 10, rounded to 3 decimals, as float32."""
    return np.round(np.asarray(mags, dtype=np.float64) / 10.0, 3).astype(np.float32)


def unscale(x: np.ndarray) -> np.ndarray:
    """Back to magnitudes (float64); the paper also rounds to 3 decimals for its tables."""
    return np.asarray(x, dtype=np.float64) * 10.0


_FLAGS = {"max_epochs": "--max-epochs", "patience": "--patience", "batch_size": "--batch-size", "seed": "--seed"}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; defaults are the paper's (section 4.3)."""

    max_epochs: int = 200
    patience: int = 5
    batch_size: int = 512
    learning_rate: float = 1e-4
    seed: int = 41

    def __post_init__(self) -> None:
        for name, low in (("max_epochs", 1), ("patience", 0), ("batch_size", 1), ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise ConfigError(
                    f"training option {name} ({_FLAGS[name]}) must be an integer >= {low}, got {value!r}"
                )
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)) or not (np.isfinite(lr) and lr > 0):
            raise ConfigError(f"training option learning_rate (--lr) must be a finite number > 0, got {lr!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class History:
    """Per-epoch losses; ``best_epoch`` (0-based) is the epoch whose weights were restored."""

    loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        return len(self.loss)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


EpochCallback = Callable[[int, float, float], None]


class Autoencoder(ABC):
    """A trainable autoencoder with a 2-D latent space over ``n_bands`` scaled magnitudes."""

    name: ClassVar[str]
    # Protocol extensions (defaults: the paper's models). ``uses_errors``: :meth:`features` reads the
    # photometric errors too; ``accepts_missing``: rows may lack bands (NaN), the model sees a mask;
    # ``embedding_dim``: besides the 2-D latent the model has an ``embed`` method returning this many dims.
    uses_errors: ClassVar[bool] = False
    accepts_missing: ClassVar[bool] = False
    embedding_dim: ClassVar[int] = 0
    scaling: ClassVar[str] = "mag/10 rounded to 3 decimals"

    def __init__(self, n_bands: int, seed: int = 41) -> None:
        if n_bands < 2:
            raise ConfigError(f"need at least 2 bands, got {n_bands}")
        self.n_bands = int(n_bands)
        self.seed = int(seed)

    @classmethod
    def features(cls, mags: np.ndarray, errs: np.ndarray | None = None) -> np.ndarray:
        """The model's input array from magnitudes (N, n_bands) and, if it uses them, their errors."""
        return scale(mags)

    @classmethod
    def build_options(cls, bands: Any) -> dict[str, Any]:
        """Extra constructor arguments this model takes from the band set (e.g. survey blocks); none by default."""
        return {}

    @classmethod
    def default_config(cls) -> TrainConfig:
        """Training settings used when the user gives none (the paper's for the paper's models)."""
        return TrainConfig()

    @abstractmethod
    def fit(
        self,
        x_train: np.ndarray,
        x_val: np.ndarray,
        config: TrainConfig = TrainConfig(),
        *,
        progress: bool = True,
        on_epoch: EpochCallback | None = None,
    ) -> History:
        """Train with MSE loss and early stopping on ``x_val``, restoring the best weights."""

    @abstractmethod
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Scaled magnitudes (N, n_bands) -> latent coordinates (N, 2)."""

    @abstractmethod
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latent coordinates (N, 2) -> scaled magnitudes (N, n_bands)."""

    def reconstruct(self, x: np.ndarray) -> np.ndarray:
        return self.decode(self.encode(x))

    def calibrate(self, x_holdout: np.ndarray) -> Any:
        """Fit post-training calibrations on held-out stars (none by default); the runs protocol calls it."""
        return None

    def evaluate(self, x: np.ndarray) -> float:
        """Mean squared error of the reconstruction, in scaled units (the paper's loss)."""
        x = np.asarray(x, dtype=np.float32)
        return float(np.mean((self.reconstruct(x) - x) ** 2))

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the model's weight arrays, in the fixed order :meth:`set_weights` accepts."""
        raise NotImplementedError(f"{type(self).__name__} does not expose its weights")

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Replace the weights with arrays shaped like :meth:`get_weights`' (checked by each model)."""
        raise NotImplementedError(f"{type(self).__name__} does not accept weights")

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write weights (and whatever else is needed to rebuild) into ``directory``."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path) -> Autoencoder:
        """Rebuild a model written by :meth:`save`."""


MODELS: dict[str, type[Autoencoder]] = {}


def register(cls: type[Autoencoder]) -> type[Autoencoder]:
    """Class decorator: make a model available by its ``name`` (``lstm-ae``, ``lstm-ae-2d``, ``dense-ae``, ``pca``)."""
    MODELS[cls.name] = cls
    return cls


BUILTIN_MODEL_MODULES = (
    "core.models.lstm_ae",
    "core.models.lstm_ae_2d",
    "core.models.dense_ae",
    "core.models.pca",
    "core.models.masked_ae",
    "core.models.mm_vae",
)


def load_builtin_models() -> dict[str, type[Autoencoder]]:
    """Import the built-in model modules (they register themselves); returns the registry."""
    import importlib

    for module in BUILTIN_MODEL_MODULES:
        importlib.import_module(module)
    return MODELS


def build_model(name: str, n_bands: int, seed: int = 41, **options: Any) -> Autoencoder:
    """A fresh, untrained model by registry name; unknown names list the known ones.

    ``options`` are extra constructor arguments (see :meth:`Autoencoder.build_options`).
    """
    cls = model_class(name)
    if getattr(cls, "needs_epochs", False):
        raise ConfigError(f"model {name!r} learns from light curves too: train it with "
                          "`sedscape train CATALOG --model mm-vae --detections DET.parquet` (core.multimodal)")
    return cls(n_bands=n_bands, seed=seed, **options)


def model_class(name: str) -> type[Autoencoder]:
    load_builtin_models()

    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known models: {', '.join(sorted(MODELS))}") from None
