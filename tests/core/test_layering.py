"""core/ is a library: importing all of it must not pull in any UI package."""

import subprocess
import sys

UI_PACKAGES = ("panel", "holoviews", "bokeh", "datashader")


def test_core_imports_no_ui_library():
    code = (
        "import importlib, pkgutil, sys, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [p for p in {UI_PACKAGES!r} if p in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "", f"core imported UI packages: {out.stdout.strip()}"
