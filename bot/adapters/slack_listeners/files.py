"""Slack files → ImageInputs: resolve with files.info when needed, download `url_private` with
the bot token (only from Slack's own file hosts, streamed, capped, timed), and turn Slack API
errors into messages people understand."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_listeners.bridge import Bridge
from bot.core.download import DownloadError, fetch
from bot.core.request import ImageInput
from bot.render.slack import IMAGE_FILETYPES, messages

IntakeError = tuple[str, str, str]  # (file, code, message), as Request.intake_errors
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked"})
NOT_FOUND = frozenset({"file_not_found", "file_deleted", "channel_not_found", "access_denied"})
# Slack file IDs in a file link (…/files/U123/F0ABC12345/name or …/files-pri/T123-F0ABC12345/…).
# IDs contain a digit, so words like FACEBOOK are not taken for one.
FILE_ID = re.compile(r"(?<![A-Z0-9])(F(?=[A-Z]*[0-9])[A-Z0-9]{6,})(?![A-Z0-9])")


def api_error_message(exc: SlackApiError) -> tuple[str, str]:
    """(code, message) for a failed Web API call."""
    errors = messages()["errors"]
    code = str(exc.response.get("error") or "slack_error")
    if code == "ratelimited":
        retry = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        seconds = retry if retry and str(retry).isdigit() else "30"
        return code, errors["ratelimited"].format(seconds=seconds)
    if code in AUTH_ERRORS:
        return code, errors["invalid_auth"]
    if code in NOT_FOUND:
        return code, errors["file_not_found"]
    return code, errors["slack_error"].format(error=code)


def file_ids(text: str) -> list[str]:
    """Slack file IDs named in a command's text (a file link, or a bare ID)."""
    return list(dict.fromkeys(FILE_ID.findall(text)))


def is_image(f: dict[str, Any]) -> bool:
    mimetype = str(f.get("mimetype") or "")
    filetype = str(f.get("filetype") or "").lower()
    return mimetype.startswith("image/") or filetype in IMAGE_FILETYPES


def _display_name(f: dict[str, Any]) -> str:
    return str(f.get("name") or f.get("title") or f.get("id") or "file")


def _needs_info(f: dict[str, Any]) -> bool:
    # Events may carry stub file objects ("check_file_info") without URLs or types.
    return f.get("file_access") == "check_file_info" or not (
        f.get("url_private_download") or f.get("url_private")
    )


async def collect(
    bridge: Bridge, client: AsyncWebClient, files: list[dict[str, Any]]
) -> tuple[list[ImageInput], list[IntakeError]]:
    """Download the images among `files` (at the same time); everything that cannot be
    checked becomes an intake error with a clear message."""
    limit = bridge.settings.slack.max_files
    results = await asyncio.gather(*(_one_or_error(bridge, client, f) for f in files[:limit]))
    images = [r for r in results if isinstance(r, ImageInput)]
    errors = [r for r in results if not isinstance(r, ImageInput)]
    if len(files) > limit:
        too_many = messages()["errors"]["too_many"].format(limit=limit)
        errors.append((f"{len(files) - limit} more files", "too_many", too_many))
    return images, errors


async def _one_or_error(
    bridge: Bridge, client: AsyncWebClient, f: dict[str, Any]
) -> ImageInput | IntakeError:
    name = _display_name(f)
    try:
        return await _one(bridge, client, f)
    except SlackApiError as exc:
        return (name, *api_error_message(exc))
    except DownloadError as exc:
        return (name, exc.code, exc.message)
    except _NotImage as exc:
        return (name, "not_an_image", str(exc))


class _NotImage(Exception):
    pass


async def _one(bridge: Bridge, client: AsyncWebClient, f: dict[str, Any]) -> ImageInput:
    if _needs_info(f):
        f = (await client.files_info(file=f["id"]))["file"]
    name = _display_name(f)
    if not is_image(f):
        kind = f.get("pretty_type") or f.get("filetype") or f.get("mimetype") or "unknown"
        raise _NotImage(messages()["errors"]["not_an_image"].format(kind=kind))
    max_bytes = bridge.settings.limits.max_bytes
    if int(f.get("size") or 0) > max_bytes:
        limit = f"The file is larger than the {max_bytes / 1e6:g} MB limit."
        raise DownloadError("too_large", limit)
    url = str(f.get("url_private_download") or f.get("url_private") or "")
    data = await fetch(
        bridge.session(),
        url,
        allowed_hosts=bridge.settings.slack.file_hosts,
        max_bytes=max_bytes,
        timeout_s=bridge.settings.download.timeout_s,
        # fetch() refuses other hosts before sending anything, so the token stays with Slack.
        headers={"Authorization": f"Bearer {client.token}"},
        chunk_bytes=bridge.settings.download.chunk_bytes,
    )
    return ImageInput(name, data)


async def collect_ids(
    bridge: Bridge, client: AsyncWebClient, ids: list[str]
) -> tuple[list[ImageInput], list[IntakeError]]:
    """Like collect(), for file IDs (from a file link): always resolved with files.info."""
    stubs = [{"id": i, "file_access": "check_file_info"} for i in ids]
    return await collect(bridge, client, stubs)
