"""Every name core advertises resolves, and importing core does not load TensorFlow."""

import subprocess
import sys

import core


def test_every_public_name_resolves():
    missing = [name for name in core.__all__ if getattr(core, name, None) is None]
    assert missing == []


def test_import_core_is_light():
    code = "import sys, core; print('tensorflow' in sys.modules, 'matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr[-1000:]
