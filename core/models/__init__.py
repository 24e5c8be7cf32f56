"""Models: the paper's LSTM autoencoder, a dense autoencoder baseline and PCA(2).

Importing this package registers every built-in model with :func:`build_model`.
"""

from core.models.base import (
    MODELS,
    Autoencoder,
    History,
    TrainConfig,
    build_model,
    model_class,
    register,
    scale,
    unscale,
)

__all__ = [
    "MODELS",
    "Autoencoder",
    "History",
    "TrainConfig",
    "build_model",
    "model_class",
    "register",
    "scale",
    "unscale",
]
