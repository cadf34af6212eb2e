"""Helpers for tests against the real Redis on 127.0.0.1 (skipped when none answers)."""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOT = Path(__file__).resolve().parent.parent


def redis_or_skip():
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"no Redis answers at {REDIS_URL}")
    return client


def queue_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> dict[str, str]:
    """A fresh queue namespace on the test Redis, in this process's environment."""
    env = {
        "QUEUE_URL": REDIS_URL,
        "REDIS_URL": REDIS_URL,
        "QUEUE_SECRET": secrets.token_hex(16),
        "HEADSHOT_QUEUE__BACKEND": "redis",
        "HEADSHOT_QUEUE__NAME": f"test-{secrets.token_hex(4)}",
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def start_worker(processes: int = 1) -> subprocess.Popen:
    """`headshot-bot worker` in its own process group (so a test can kill all of it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--processes", str(processes)],
        cwd=ROOT,
        env=dict(os.environ),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=open(os.environ["WORKER_LOG"], "a") if "WORKER_LOG" in os.environ else None,
    )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(30)


def avatars(n: int, side: int = 128) -> list[bytes]:
    rng = np.random.default_rng(3)
    out = []
    for _ in range(n):
        small = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        im = Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        out.append(buf.getvalue())
    return out
