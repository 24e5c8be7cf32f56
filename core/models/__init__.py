"""Models: the paper's LSTM autoencoder, its true-2-D-bottleneck variant, a dense autoencoder baseline and PCA(2).

The model classes import TensorFlow, so they load on first use (``build_model``, ``model_class``
or attribute access such as ``core.models.LSTMAutoencoder``), which keeps ``sedscape --help`` fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.models.base import (
    MODELS,
    Autoencoder,
    History,
    TrainConfig,
    build_model,
    load_builtin_models,
    model_class,
    register,
    scale,
    unscale,
)

_LAZY = {
    "LSTMAutoencoder": "core.models.lstm_ae",
    "BottleneckLSTMAutoencoder": "core.models.lstm_ae_2d",
    "DenseAutoencoder": "core.models.dense_ae",
    "PCA2": "core.models.pca",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'core.models' has no attribute {name!r}")


__all__ = [
    "MODELS",
    "PCA2",
    "Autoencoder",
    "BottleneckLSTMAutoencoder",
    "DenseAutoencoder",
    "History",
    "LSTMAutoencoder",
    "TrainConfig",
    "build_model",
    "load_builtin_models",
    "model_class",
    "register",
    "scale",
    "unscale",
]
