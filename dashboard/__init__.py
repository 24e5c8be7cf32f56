"""sedscape dashboard: ``panel serve dashboard [--args CATALOG [MODEL_DIR]]`` (see main.py)."""
