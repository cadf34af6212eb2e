"""Shared fixtures. Tests that need ../shared skip cleanly when it is absent."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present on this machine")
    return SHARED


def png_bytes(
    size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (120, 80, 60), **save
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG", **save)
    return buf.getvalue()


def jpeg_bytes(
    size: tuple[int, int] = (64, 64), color: tuple[int, int, int] = (120, 80, 60), **save
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **save)
    return buf.getvalue()


def busy_machine() -> bool:
    """More runnable processes than cores (a shared CI runner or dev box under load)."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def loop_lag_budget_s() -> float:
    """The event-loop lag goal (100 ms), relaxed to 1 s when other processes hold the CPUs:
    scheduling delays are then not ours, yet a check run on the loop (seconds) still fails."""
    return 1.0 if busy_machine() else 0.1
