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
from core.models.dense_ae import DenseAutoencoder  # registers "dense-ae"
from core.models.lstm_ae import LSTMAutoencoder  # registers "lstm-ae"
from core.models.pca import PCA2  # registers "pca"

__all__ = [
    "MODELS",
    "PCA2",
    "Autoencoder",
    "DenseAutoencoder",
    "History",
    "LSTMAutoencoder",
    "TrainConfig",
    "build_model",
    "model_class",
    "register",
    "scale",
    "unscale",
]
