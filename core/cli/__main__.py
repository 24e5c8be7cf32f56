"""``python -m core.cli``: the ``sedscape`` command without an installed entry point."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
