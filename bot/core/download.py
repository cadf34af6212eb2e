"""Streamed downloads from a platform's own file hosts only, with a size cap, a timeout and a
per-process budget of bytes in flight.

Both adapters and the avatar audit use this: never follow a URL from message text."""

from __future__ import annotations

import asyncio
import re
import weakref
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager

import aiohttp
import yarl

from bot import messages
from bot.errors import CodedError, too_large_message
from bot.settings import get_settings

# What a DNS name may be made of once yarl has normalised it (IDNA, lower case): anything else
# (percent signs, backslashes, a trailing dot) is refused rather than interpreted.
_HOST_NAME = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")


class DownloadError(CodedError):
    """A photo we could not fetch (worded in config/messages/download.toml)."""

    section = "download"


def allowed_url(url: str | yarl.URL, allowed_hosts: Iterable[str]) -> yarl.URL | None:
    """`url` parsed once, as aiohttp will request it, if it may be downloaded; else None.

    https to an allowed host or a subdomain of one, on the default port, without user info.
    An entry with a port ("127.0.0.1:8080", a local fake) allows that host and port exactly,
    over http too."""
    try:
        parsed = url if isinstance(url, yarl.URL) else yarl.URL(url)
        host = parsed.raw_host
    except (ValueError, UnicodeError):  # yarl refuses backslashes and broken IDNA outright
        return None
    if not parsed.absolute or not host or parsed.raw_user is not None:
        return None
    if parsed.raw_password is not None or not _HOST_NAME.fullmatch(host):
        return None
    if any(_entry_allows(entry.lower(), parsed, host) for entry in allowed_hosts):
        return parsed
    return None


def _entry_allows(entry: str, parsed: yarl.URL, host: str) -> bool:
    if ":" in entry:  # a local fake: that host and port exactly
        explicit = parsed.explicit_port is not None
        return explicit and parsed.scheme in ("http", "https") and f"{host}:{parsed.port}" == entry
    same_host = host == entry or host.endswith("." + entry)
    return same_host and parsed.scheme == "https" and parsed.explicit_port in (None, 443)


def host_allowed(url: str | yarl.URL, allowed_hosts: Iterable[str]) -> bool:
    return allowed_url(url, allowed_hosts) is not None


class ByteBudget:
    """Bytes that downloads may hold at once: each download reserves its size before reading
    its body and waits while the reservations would pass the limit (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, n: int) -> AsyncIterator[None]:
        if self.limit <= 0:
            yield
            return
        n = min(n, self.limit)  # a file larger than the whole budget goes alone
        async with self._changed:
            await self._changed.wait_for(lambda: self.used + n <= self.limit)
            self.used += n
        try:
            yield
        finally:
            async with self._changed:
                self.used -= n
                self._changed.notify_all()


_budgets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ByteBudget] = (
    weakref.WeakKeyDictionary()
)


def bytes_in_flight() -> ByteBudget:
    """This process's budget (`download.max_bytes_in_flight`), one per event loop."""
    loop = asyncio.get_running_loop()
    if loop not in _budgets:
        _budgets[loop] = ByteBudget(get_settings().download.max_bytes_in_flight)
    return _budgets[loop]


async def fetch(
    session: aiohttp.ClientSession,
    url: str | yarl.URL,
    *,
    allowed_hosts: Iterable[str],
    max_bytes: int,
    timeout_s: float = 20.0,
    headers: Mapping[str, str] | None = None,
    chunk_bytes: int = 65536,
    budget: ByteBudget | None = None,
) -> bytes:
    """The body at `url`. Waiting for the byte budget is not counted in the timeout."""
    target = allowed_url(url, allowed_hosts)
    if target is None:
        raise DownloadError("host_not_allowed")
    budget = budget or bytes_in_flight()
    try:
        async with asyncio.timeout(timeout_s):
            # The parsed URL itself, so what is requested is exactly what was checked.
            resp = await session.get(target, headers=headers, allow_redirects=False)
        async with resp:
            size = _expected_size(resp, max_bytes)
            async with budget.hold(size):
                async with asyncio.timeout(timeout_s):
                    return await _read_capped(resp, max_bytes, chunk_bytes)
    except TimeoutError:
        raise DownloadError("download_timeout") from None
    except aiohttp.ClientError:
        raise DownloadError("download_failed") from None


def _too_big(max_bytes: int) -> DownloadError:
    return DownloadError("too_large", too_large_message(max_bytes))


def _expected_size(resp: aiohttp.ClientResponse, max_bytes: int) -> int:
    """The body's size as announced (or the cap when it is not), after the status checks."""
    if resp.status == 404:
        raise DownloadError("file_not_found")
    if resp.status in (401, 403):
        raise DownloadError("file_forbidden")
    if resp.status >= 300:
        raise DownloadError(
            "download_failed", messages.text("download.host_answered", status=resp.status)
        )
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise _too_big(max_bytes)
    return resp.content_length if resp.content_length is not None else max_bytes


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int, chunk_bytes: int) -> bytes:
    """Keep the chunks as aiohttp received them (no copy while the body streams in) and join
    them once at the end: one copy in all, the least a contiguous `bytes` can cost. (A
    preallocated bytearray would need a second copy: intake looks slices up in dicts, so the
    analysis takes bytes; a growing BytesIO copies on every resize.) Between chunks the loop
    gets a turn: once a body is buffered, reading it never suspends, and fifty large photos
    would otherwise be gone through in one go."""
    chunks: list[bytes] = []
    total = pending = 0
    async for chunk in resp.content.iter_any():
        total += len(chunk)
        if total > max_bytes:
            raise _too_big(max_bytes)
        chunks.append(chunk)
        pending += len(chunk)
        if pending >= chunk_bytes:
            pending = 0
            await asyncio.sleep(0)
    return b"".join(chunks)  # no copy at all when the body came in one chunk
