"""Streamed downloads from a platform's own file hosts only, with a size cap and a timeout.

Both adapters and the avatar audit use this: never follow a URL from message text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import aiohttp


class DownloadError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def host_allowed(url: str, allowed_hosts: Iterable[str]) -> bool:
    """True if url is http(s) and its host is, or is a subdomain of, an allowed host.
    An entry may carry a port ("127.0.0.1:8080") for local fakes in tests."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    for allowed in allowed_hosts:
        allowed = allowed.lower()
        if ":" in allowed:
            if netloc == allowed:
                return True
        elif host == allowed or host.endswith("." + allowed):
            return True
    return False


async def fetch(
    session: aiohttp.ClientSession,
    url: str,
    *,
    allowed_hosts: Iterable[str],
    max_bytes: int,
    timeout_s: float = 20.0,
    headers: Mapping[str, str] | None = None,
    chunk_bytes: int = 65536,
) -> bytes:
    if not host_allowed(url, allowed_hosts):
        raise DownloadError("host_not_allowed", "I only download files from the platform itself.")
    try:
        async with asyncio.timeout(timeout_s):
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                return await _read_capped(resp, max_bytes, chunk_bytes)
    except TimeoutError:
        raise DownloadError("download_timeout", "Downloading the file took too long.") from None
    except aiohttp.ClientError:
        raise DownloadError("download_failed", "I could not download the file.") from None


async def _read_capped(resp: aiohttp.ClientResponse, max_bytes: int, chunk_bytes: int) -> bytes:
    if resp.status == 404:
        raise DownloadError("file_not_found", "That file is gone (it may have been deleted).")
    if resp.status in (401, 403):
        raise DownloadError("file_forbidden", "I am not allowed to download that file.")
    if resp.status >= 300:
        raise DownloadError("download_failed", f"The file host answered {resp.status}.")
    too_big = DownloadError(
        "too_large", f"The file is larger than the {max_bytes / 1e6:g} MB limit."
    )
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise too_big
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(chunk_bytes):
        buf += chunk
        if len(buf) > max_bytes:
            raise too_big
    return bytes(buf)
