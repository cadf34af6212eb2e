"""The real invisible-watermark 0.2.0 encoder/decoder, loaded without torch (tests only).

The package's __init__ imports its RivaGAN module, which needs torch. The DWT-DCT code does
not, so we load watermark.py, maxDct.py and dwtDctSvd.py from the installed package under a
private package name, with an empty stand-in for the RivaGAN module that dwtDct never calls.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

_PKG = "imwatermark_reference"


def load() -> types.ModuleType:
    """The reference `watermark` module (WatermarkEncoder, WatermarkDecoder)."""
    if f"{_PKG}.watermark" in sys.modules:
        return sys.modules[f"{_PKG}.watermark"]
    spec = importlib.util.find_spec("imwatermark")  # locates the package without running it
    if spec is None or spec.origin is None:
        pytest.fail(
            "invisible-watermark 0.2.0 is missing: pip install --no-deps invisible-watermark==0.2.0"
        )
    root = Path(spec.origin).parent
    package = types.ModuleType(_PKG)
    package.__path__ = [str(root)]
    sys.modules[_PKG] = package
    riva = types.ModuleType(f"{_PKG}.rivaGan")
    riva.RivaWatermark = None  # needs torch; only the 'rivaGan' method uses it
    sys.modules[f"{_PKG}.rivaGan"] = riva
    for name in ("maxDct", "dwtDctSvd", "watermark"):
        sub = importlib.util.spec_from_file_location(f"{_PKG}.{name}", root / f"{name}.py")
        module = importlib.util.module_from_spec(sub)
        sys.modules[f"{_PKG}.{name}"] = module
        sub.loader.exec_module(module)
    return sys.modules[f"{_PKG}.watermark"]
