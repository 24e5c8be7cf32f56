"""Start TensorFlow quietly: its C++ start-up messages are hidden unless the user asked for ``-v``.

TensorFlow's native libraries print CUDA probing (``failed call to cuInit``), oneDNN and CPU-feature
notices straight to file descriptor 2 while they load, through absl before any Python logging exists,
and several of them ignore ``TF_CPP_MIN_LOG_LEVEL``. So the import (and the device probe) run with
descriptor 2 pointed at a temporary file, which is replayed only if the import fails.
"""

from __future__ import annotations

import os
import sys
import tempfile

QUIET_LEVEL = "3"  # TF_CPP_MIN_LOG_LEVEL: hide INFO, WARNING and ERROR from TensorFlow's C++ logging


def quiet_tensorflow_logs() -> None:
    """Ask TensorFlow's C++ logging for fatal messages only; must run before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)


def start_tensorflow(verbose: int = 0) -> None:
    """Import TensorFlow and probe its devices now, silently unless ``verbose``; a no-op once imported."""
    if verbose or "tensorflow" in sys.modules:
        return
    quiet_tensorflow_logs()
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()  # CUDA is probed here, not at import
        except BaseException:
            os.dup2(saved, 2)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
