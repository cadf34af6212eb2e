"""A real `headshot-bot` process on a pseudo-terminal (stdlib pty), for the terminal tests:
what a person sees and types, Ctrl-C as the terminal delivers it, and the process tree."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

from tests.conftest import ROOT

# A shared test machine under load can take longer than the default 30 s to start the
# workers and check the first photo: these tests are about the terminal, not that timeout.
PATIENT = {"HEADSHOT_LIMITS__ANALYSIS_TIMEOUT_S": "300"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Terminal:
    def __init__(self, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> None:
        environ = {**os.environ, **PATIENT, "TERM": "xterm", "COLUMNS": "100", **(env or {})}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            os.chdir(cwd)
            os.execvpe(sys.executable, [sys.executable, "-m", "bot", *args], environ)
        self.raw = ""
        self.seen = 0  # how far expect() has read
        self.status: int | None = None

    @property
    def text(self) -> str:
        """Everything shown so far, without escape sequences."""
        return ANSI.sub("", self.raw)

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the child closed the terminal
            return False
        self.raw += chunk.decode(errors="replace")
        return bool(chunk)

    def expect(self, pattern: str, timeout: float = 60) -> str:
        """Wait for `pattern` (a regex) in what appears after the last match; return the text
        up to and including it."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.text[self.seen :])
            if match:
                start = self.seen
                self.seen += match.end()
                return self.text[start : self.seen]
            if time.monotonic() > deadline or (not self._read(0.2) and self.exited()):
                raise AssertionError(f"{pattern!r} not seen; screen:\n{self.text[-3000:]}")

    def exited(self) -> bool:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status is not None

    def wait(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"still running after {timeout} s:\n{self.text[-3000:]}")
            self._read(0.1)
        while self._read(0.05):  # what it printed last
            pass
        assert self.status is not None
        return self.status

    def kill(self) -> None:
        for pid in [*descendants(self.pid), self.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.exited()

    def close(self) -> None:
        if not self.exited():
            self.kill()
        os.close(self.fd)


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (children of each of its threads)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *descendants(child)]
    return found


def alive(pids: list[int], grace_s: float = 5.0) -> list[int]:
    """Those of `pids` still running after up to `grace_s` (zombies count as gone)."""
    deadline = time.monotonic() + grace_s
    while True:
        running = [p for p in pids if _running(p)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
