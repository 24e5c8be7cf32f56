"""``python -m core.cli``: the same as the ``sedscape`` command."""

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
