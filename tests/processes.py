"""Looking at real processes from tests (Linux /proc): is a pid running, what did a process
start (its descendants: a forkserver, its workers, multiprocessing's resource tracker)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path


def _stat(pid: int | str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def parent_of(pid: int) -> int:
    fields = _stat(pid)
    assert fields is not None, f"process {pid} is gone"
    return int(fields[1])


def descendants(pid: int) -> set[int]:
    """Every running process below `pid` (children, their children, …)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


async def still_running(pids: set[int], within_s: float = 5.0) -> set[int]:
    """The pids still running after waiting up to within_s for them to end."""
    deadline = time.monotonic() + within_s
    while (left := {p for p in pids if running(p)}) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return left
